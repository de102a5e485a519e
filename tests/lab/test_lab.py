"""Self-tests of the Neutron half of the lab (tools/lab/lab.sh up). Run as root:

    python3 -m pytest tests/lab/test_lab.py -q

They skip when the lab is not up (fail under CI=true). Every object they create is removed.
"""
import os
import subprocess
import uuid

import pytest

from labsupport import PodNetns, neutron_delete, neutron_get, neutron_post, neutron_put, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="lab self-tests need root (netns, veth)")


def ip(*args, check=True):
    return subprocess.run(("ip",) + args, check=check, capture_output=True, text=True)


def test_neutron_answers(lab):
    names = {n["name"] for n in neutron_get("networks")["networks"]}
    assert {"skynet-flat", "skynet-vlan", "skynet-vxlan"} <= names


def test_extensions(lab):
    aliases = {e["alias"] for e in neutron_get("extensions")["extensions"]}
    for a in ("standard-attr-tag", "standard-attr-description", "binding", "port-security",
              "security-group", "provider"):
        assert a in aliases


def test_linuxbridge_agent_alive(lab):
    agents = neutron_get("agents", host=lab["SKYNET_NODE_NAME"])["agents"]
    assert any(a["agent_type"] == "Linux bridge agent" and a["alive"] for a in agents), agents


def test_fixtures(lab):
    flat = neutron_get("networks/" + lab["SKYNET_NET_FLAT"])["network"]
    assert (flat["provider:network_type"], flat["provider:physical_network"]) == ("flat", "physnet1")
    vlan = neutron_get("networks/" + lab["SKYNET_NET_VLAN"])["network"]
    assert vlan["provider:segmentation_id"] == 100
    vx = neutron_get("networks/" + lab["SKYNET_NET_VXLAN"])["network"]
    assert vx["provider:network_type"] == "vxlan" and vx["mtu"] == 1450
    s = neutron_get("subnets/" + lab["SKYNET_SUBNET_VXLAN4"])["subnet"]
    assert s["cidr"] == "10.30.0.0/24" and s["gateway_ip"] == "10.30.0.1"
    assert s["dns_nameservers"] == ["10.30.0.2", "10.30.0.3"]
    assert s["host_routes"] == [{"destination": "10.99.0.0/16", "nexthop": "10.30.0.254"}]
    s6 = neutron_get("subnets/" + lab["SKYNET_SUBNET_VXLAN6"])["subnet"]
    assert s6["cidr"] == "fd00:30::/64" and s6["gateway_ip"] == "fd00:30::1"
    for key, cidr in (("FLAT4", "10.20.0.0/24"), ("FLAT6", "fd00:20::/64"), ("VLAN4", "10.40.0.0/24")):
        assert neutron_get("subnets/" + lab["SKYNET_SUBNET_" + key])["subnet"]["cidr"] == cidr
    rules = neutron_get("security-group-rules", security_group_id=lab["SKYNET_SG_RESTRICTED"])
    ingress = [r for r in rules["security_group_rules"] if r["direction"] == "ingress"]
    assert [(r["protocol"], r["port_range_min"], r["port_range_max"]) for r in ingress] == [("tcp", 80, 80)]
    rules = neutron_get("security-group-rules", security_group_id=lab["SKYNET_SG_OPEN"])
    ingress = [r for r in rules["security_group_rules"] if r["direction"] == "ingress"]
    assert sorted(r["ethertype"] for r in ingress) == ["IPv4", "IPv6"]
    assert all(r["remote_group_id"] == lab["SKYNET_SG_OPEN"] for r in ingress)


def test_tags_and_fixed_ip(lab, neutron_cleanup):
    """skynet tags its ports and lists them with ?tags=; fixed IPs below the pools are free."""
    tag = "skynet-labtest-" + uuid.uuid4().hex[:8]
    port = neutron_post("ports", {"port": {
        "network_id": lab["SKYNET_NET_VXLAN"], "name": "skynet-labtest-tag",
        "fixed_ips": [{"subnet_id": lab["SKYNET_SUBNET_VXLAN4"], "ip_address": "10.30.0.9"}]}})["port"]
    neutron_cleanup.append("ports/" + port["id"])
    neutron_put("ports/%s/tags" % port["id"], {"tags": [tag]})
    found = neutron_get("ports", tags=tag)["ports"]
    assert [p["id"] for p in found] == [port["id"]]
    assert found[0]["fixed_ips"][0]["ip_address"] == "10.30.0.9"


@pytest.mark.parametrize("kind", ["vxlan", "flat"])
def test_port_goes_active(lab, neutron_cleanup, kind):
    """A bound compute:* port goes ACTIVE once its tap exists and is enslaved to brq<net[:11]>.

    The linuxbridge agent creates the bridge but does not plug compute:* taps (that's the CNI's
    job), exactly as tools/lab/../pod.sh in the reference lab does. On flat, the "pod" also
    reaches the host on the physical network (SKYNET_PHYS_HOST_IP in netns nlab-phys).
    """
    net = lab["SKYNET_NET_" + kind.upper()]
    sub = lab["SKYNET_SUBNET_%s4" % kind.upper()]
    port = neutron_post("ports", {"port": {
        "name": "skynet-labtest-" + kind, "network_id": net, "fixed_ips": [{"subnet_id": sub}],
        "security_groups": [lab["SKYNET_SG_OPEN"]], "binding:host_id": lab["SKYNET_NODE_NAME"],
        "device_owner": "compute:skynet-labtest", "device_id": str(uuid.uuid4())}})["port"]
    neutron_cleanup.append("ports/" + port["id"])
    assert port["binding:vif_type"] == "bridge", port
    mtu = neutron_get("networks/" + net)["network"]["mtu"]
    cidr = neutron_get("subnets/" + sub)["subnet"]["cidr"]
    tap, br = "tap" + port["id"][:11], "brq" + net[:11]
    tmp = "skt" + uuid.uuid4().hex[:8]
    with PodNetns() as path:
        ns = os.path.basename(path)
        try:
            ip("link", "add", tap, "mtu", str(mtu), "type", "veth", "peer", "name", tmp, "mtu", str(mtu))
            ip("link", "set", tmp, "netns", ns)
            ip("-n", ns, "link", "set", tmp, "name", "eth0")
            ip("-n", ns, "link", "set", "eth0", "address", port["mac_address"])
            addr = port["fixed_ips"][0]["ip_address"]
            ip("-n", ns, "addr", "add", "%s/%s" % (addr, cidr.split("/")[1]), "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("link", "set", tap, "up")
            wait_until(lambda: os.path.isdir("/sys/class/net/" + br), 20, what="agent creates " + br)
            ip("link", "set", tap, "master", br)
            wait_until(lambda: neutron_get("ports/" + port["id"])["port"]["status"] == "ACTIVE",
                       30, what="port ACTIVE")
            if kind == "flat":
                r = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "2", "-W", "2",
                                    lab["SKYNET_PHYS_HOST_IP"]], capture_output=True, text=True)
                assert r.returncode == 0, r.stdout + r.stderr
        finally:
            ip("link", "del", tap, check=False)
    neutron_delete("ports/" + port["id"])
    assert not os.path.exists("/sys/class/net/" + tap)


def test_labsupport_kube_client(kube, lab):
    """labsupport.KubeClient (admin kubeconfig): a pod with annotations + nodeName round-trips."""
    name = "skynet-labtest-" + uuid.uuid4().hex[:8]
    pod = kube.create_pod(name, lab["SKYNET_NODE_NAME"], annotations={"skynet.test/x": "1"})
    assert pod["metadata"]["uid"]
    got = kube.get_pod(name)
    assert got["spec"]["nodeName"] == lab["SKYNET_NODE_NAME"]
    assert got["metadata"]["annotations"]["skynet.test/x"] == "1"
    kube.delete_pod(name)
    assert kube.get_pod(name) is None


def test_labsupport_pod_netns():
    with PodNetns() as path:
        assert os.path.exists(path)
        assert ip("-n", os.path.basename(path), "link", "show", "lo").returncode == 0
    assert not os.path.exists(path)
