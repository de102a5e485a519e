"""Neutron IPAM: one Neutron port per CNI attachment.

The port carries ``binding:host_id`` = node, ``device_owner`` =
``compute:skynet``, ``device_id`` = pod UID, and tags naming skynet, the
attachment (container ID + ifname), the container and the CNI network, so
DEL, CHECK and GC find it by attachment, never by pod name or IP.
"""

import ipaddress
import json

from oslo_log import log as logging

from skynet.clients import neutron as neutron_client
from skynet.drivers import base
from skynet import exceptions
from skynet import model

LOG = logging.getLogger(__name__)
DEVICE_OWNER = "compute:skynet"
_DESCRIPTION_MAX = 255


class NeutronIpamDriver(base.IpamDriver):

    def __init__(self, conf, client=None):
        super().__init__(conf)
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from oslo_config import cfg
            self._client = neutron_client.get_client(cfg.CONF)
        return self._client

    # -- targets ---------------------------------------------------------

    def _get(self, kind, path, resource_id):
        try:
            return self.client.get(path)
        except neutron_client.NotFound:
            raise exceptions.ResourceNotFound(kind, resource_id)

    def get_target(self, network_id=None, subnet_id=None):
        if subnet_id:
            sub = self._get("subnet", "/subnets/%s" % subnet_id,
                            subnet_id)["subnet"]
            network_id = sub["network_id"]
            subnets = [sub]
        net = self._get("network", "/networks/%s" % network_id,
                        network_id)["network"]
        if not subnet_id:
            subnets = self.client.get("/subnets",
                                      network_id=network_id)["subnets"]
            if not subnets:
                raise exceptions.InvalidConfig(
                    "network", network_id, "has no subnet: Neutron cannot "
                    "give the pod an address")
        return model.NetworkTarget(
            network=_network(net), subnets=[_subnet(s) for s in subnets])

    # -- allocation ------------------------------------------------------

    def allocate(self, request, target):
        att = request.attachment
        body = {
            "network_id": target.network.id,
            "name": _port_name(att),
            "description": _description(att),
            "device_owner": DEVICE_OWNER,
            "device_id": att.pod_uid or att.container_id,
            "binding:host_id": request.node,
            "security_groups": list(request.security_groups),
            "tags": att.tags(request.netconf_name),
        }
        fixed_ips = _fixed_ips(request, target)
        if fixed_ips:
            body["fixed_ips"] = fixed_ips
        try:
            port = self._create(body)
        except neutron_client.Conflict as exc:
            if (request.ip_address and exc.neutron_type
                    == "IpAddressAlreadyAllocated"):
                self._reclaim(request, target)
                port = self._create(body)
            else:
                raise
        return _vif(port, target)

    def _create(self, body):
        port = self._post(body)
        if not set(body["tags"]) <= set(port.get("tags") or ()):
            # the ML2 extension driver tag_ports_during_bulk_creation is off:
            # tag now (one more call), or give the port back
            try:
                port["tags"] = self.client.put(
                    "/ports/%s/tags" % port["id"],
                    {"tags": body["tags"]})["tags"]
            except BaseException:
                self.client.delete("/ports/%s" % port["id"])
                raise
        return port

    def _post(self, body):
        try:
            return self.client.post("/ports", {"port": body})["port"]
        except neutron_client.NotFound as exc:
            if exc.neutron_type == "SecurityGroupNotFound":
                missing = [sg for sg in body["security_groups"]
                           if sg in exc.msg] or body["security_groups"]
                raise exceptions.ResourceNotFound("security group",
                                                  ",".join(missing))
            raise
        except neutron_client.Conflict as exc:
            if exc.neutron_type == "IpAddressAlreadyAllocated":
                raise
            if exc.neutron_type in ("IpAddressGenerationFailure",
                                    "IpAddressGenerationFailureAllSubnets"):
                raise exceptions.NeutronError(
                    "no free IP address left in network %s: %s"
                    % (body["network_id"], exc.msg))
            raise

    def _reclaim(self, request, target):
        """The requested IP is taken: reclaim it only from a stale skynet
        port (its pod is gone); never touch anybody else's port."""
        ip = request.ip_address
        holders = self.client.get(
            "/ports", network_id=target.network.id,
            fixed_ips="ip_address=%s" % ip)["ports"]
        for holder in holders:
            ours = (holder.get("device_owner") == DEVICE_OWNER
                    and model.TAG_SKYNET in holder.get("tags", ()))
            stale = (ours and request.holder_is_stale is not None
                     and request.holder_is_stale(*_pod_of(holder)))
            if not stale:
                raise exceptions.IpInUse(
                    "IP %s is already held by port %s (device_owner %r, "
                    "device_id %r)%s" % (
                        ip, holder["id"], holder.get("device_owner"),
                        holder.get("device_id"),
                        "" if not ours else ": its pod still exists"))
            LOG.warning("reclaiming IP %s from stale skynet port %s "
                        "(device_id %s: pod gone)", ip, holder["id"],
                        holder.get("device_id"))
            self.client.delete("/ports/%s" % holder["id"])

    # -- lookup and release ---------------------------------------------

    def find(self, attachment):
        ports = self.client.get(
            "/ports", tags="%s,%s%s" % (model.TAG_SKYNET,
                                        model.TAG_ATTACHMENT,
                                        attachment.key))["ports"]
        return [_vif(p, None) for p in ports
                if p.get("device_owner") == DEVICE_OWNER]

    def describe(self, vif):
        net = self._get("network", "/networks/%s" % vif.network.id,
                        vif.network.id)["network"]
        subnets = self.client.get("/subnets",
                                  network_id=vif.network.id)["subnets"]
        port = self._get("port", "/ports/%s" % vif.port_id,
                         vif.port_id)["port"]
        full = _vif(port, model.NetworkTarget(
            _network(net), [_subnet(s) for s in subnets]))
        vif.__dict__.update(full.__dict__)
        return vif

    def release(self, vifs):
        for vif in vifs:
            if self.client.delete("/ports/%s" % vif.port_id):
                LOG.info("deleted port %s", vif.port_id)

    def list_attachments(self, node, netconf_name):
        ports = self.client.get(
            "/ports", tags="%s,%s" % (model.TAG_SKYNET,
                                      model.netconf_tag(netconf_name)),
            **{"binding:host_id": node})["ports"]
        found = {}
        for port in ports:
            if port.get("device_owner") != DEVICE_OWNER:
                continue
            for tag in port.get("tags", ()):
                if tag.startswith(model.TAG_ATTACHMENT):
                    key = tag[len(model.TAG_ATTACHMENT):]
                    found.setdefault(key, []).append(_vif(port, None))
        return found

    def ping(self):
        self.client.get("/networks", limit=1, fields="id")


# -- Neutron dicts -> skynet.model --------------------------------------

def _network(net):
    return model.Network(
        id=net["id"],
        network_type=net.get("provider:network_type"),
        mtu=net.get("mtu") or 1500,
        physical_network=net.get("provider:physical_network"),
        segmentation_id=net.get("provider:segmentation_id"))


def _subnet(sub):
    return model.Subnet(
        id=sub["id"], cidr=sub["cidr"], ip_version=sub["ip_version"],
        gateway_ip=sub.get("gateway_ip"),
        host_routes=sub.get("host_routes") or [],
        dns_nameservers=sub.get("dns_nameservers") or [])


def _fixed_ips(request, target):
    if request.subnet_id:
        entry = {"subnet_id": request.subnet_id}
        if request.ip_address:
            entry["ip_address"] = request.ip_address
        return [entry]
    if not request.ip_address:
        return None     # Neutron picks one address per IP version
    ip = ipaddress.ip_address(request.ip_address)
    fixed = []
    for sub in target.subnets:
        if ip in ipaddress.ip_network(sub.cidr):
            fixed.append({"subnet_id": sub.id, "ip_address": str(ip)})
            break
    # keep the other IP version's address, as without skynet/ip
    other = [s for s in target.subnets if s.ip_version != ip.version]
    if other:
        fixed.append({"subnet_id": other[0].id})
    return fixed


def _port_name(att):
    if att.pod_namespace and att.pod_name:
        return ("skynet-%s-%s-%s" % (att.pod_namespace, att.pod_name,
                                     att.ifname))[:255]
    return ("skynet-%s-%s" % (att.container_id[:12], att.ifname))


def _description(att):
    """Who the port is for, so a stale holder of an IP can be recognised."""
    info = {"pod": "%s/%s" % (att.pod_namespace, att.pod_name)
            if att.pod_name else None,
            "uid": att.pod_uid, "cid": att.container_id,
            "if": att.ifname}
    text = json.dumps(info, separators=(",", ":"))
    if len(text) > _DESCRIPTION_MAX:
        info["cid"] = info["cid"][:12]
        text = json.dumps(info, separators=(",", ":"))[:_DESCRIPTION_MAX]
    return text


def _pod_of(port):
    """(namespace, name, uid) recorded in a skynet port's description."""
    try:
        info = json.loads(port.get("description") or "")
        namespace, _, name = info["pod"].partition("/")
        return namespace, name, port.get("device_id")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None, None


def _vif(port, target):
    vif = model.VIF(
        port_id=port["id"], mac_address=port["mac_address"],
        network=(target.network if target else
                 model.Network(id=port["network_id"], network_type=None,
                               mtu=None)),
        device_id=port.get("device_id"),
        binding_host=port.get("binding:host_id"),
        vif_type=port.get("binding:vif_type"),
        vif_details=port.get("binding:vif_details") or {},
        status=port.get("status"))
    if target is None:
        return vif
    subnets = {s.id: s for s in target.subnets}
    gateways = set()
    for fixed in port.get("fixed_ips", ()):
        sub = subnets.get(fixed["subnet_id"])
        if sub is None:
            continue
        prefix = ipaddress.ip_network(sub.cidr).prefixlen
        vif.ips.append(model.IPConfig(
            address="%s/%d" % (fixed["ip_address"], prefix),
            gateway=sub.gateway_ip, subnet_id=sub.id))
        if sub.gateway_ip and sub.ip_version not in gateways:
            gateways.add(sub.ip_version)
            vif.routes.append(model.Route(
                dst="0.0.0.0/0" if sub.ip_version == 4 else "::/0",
                gw=sub.gateway_ip))
        for route in sub.host_routes:
            vif.routes.append(model.Route(dst=route["destination"],
                                          gw=route["nexthop"]))
        for dns in sub.dns_nameservers:
            if dns not in vif.dns_nameservers:
                vif.dns_nameservers.append(dns)
    return vif
