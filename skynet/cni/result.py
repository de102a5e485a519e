"""Shape a CNI 1.x result from a plugged VIF (standard library only)."""

import ipaddress


def build(vif, ifname, netns, host_mac=None, prev=None, dns_search=None):
    """Result dict (spec 1.1 shape); ``prev`` is a chained prevResult."""
    prev = prev or {}
    interfaces = [dict(i) for i in prev.get("interfaces", ())]
    ips = [dict(i) for i in prev.get("ips", ())]
    for ip in ips:
        ip.pop("version", None)
    routes = [dict(r) for r in prev.get("routes", ())]
    if vif.host_ifname:
        host = {"name": vif.host_ifname}
        if host_mac:
            host["mac"] = host_mac
        interfaces.append(host)
    interfaces.append({"name": ifname, "mac": vif.mac_address,
                       "mtu": vif.network.mtu, "sandbox": netns})
    index = len(interfaces) - 1
    for ipc in vif.ips:
        entry = {"address": ipc.address, "interface": index}
        if ipc.gateway:
            entry["gateway"] = ipc.gateway
        ips.append(entry)
    for route in vif.routes:
        entry = {"dst": str(ipaddress.ip_network(route.dst, strict=False))}
        if route.gw:
            entry["gw"] = route.gw
        routes.append(entry)
    result = {"interfaces": interfaces, "ips": ips, "routes": routes}
    dns = dict(prev.get("dns") or {})
    servers = list(dns.get("nameservers", ()))
    for server in vif.dns_nameservers:
        if server not in servers:
            servers.append(server)
    if servers:
        dns["nameservers"] = servers
    if dns:
        result["dns"] = dns
    return result
