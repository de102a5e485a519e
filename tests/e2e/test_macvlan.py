"""macvlan datapath end to end: bridge-mode macvlan on the trunk NIC with the
Neutron port's MAC; vxlan refused before any port exists."""

import json
import subprocess

import pytest

from tests.e2e.conftest import skynet_ports


@pytest.fixture
def macvlan_conf(lab, pods):
    def make(**extra):
        conf = pods.netconf(plugin_type="macvlan", **extra)
        conf["plugin"]["trunk_nic"] = lab["SKYNET_MACVLAN_NIC"]
        conf["neutron"]["default_network_id"] = lab["SKYNET_NET_FLAT"]
        return conf
    return make


def test_flat_pods_ping_each_other_and_the_physical_host(lab, pods, macvlan_conf):
    conf = macvlan_conf()
    a, b = pods.add(netconf=conf), pods.add(netconf=conf)
    for p in (a, b):
        port = skynet_ports(lab, device_id=p.pod["metadata"]["uid"])[0]
        link = json.loads(p.sh("ip", "-d", "-j", "link", "show", "eth0").stdout)[0]
        assert link["address"] == port["mac_address"]
        assert link["linkinfo"]["info_kind"] == "macvlan"
        assert link["linkinfo"]["info_data"]["mode"] == "bridge"
        assert p.result["interfaces"] == [
            {"name": "eth0", "mac": port["mac_address"], "mtu": 1500,
             "sandbox": p.path}]
    assert a.ping(b.ip(4)) and b.ping(a.ip(4))
    assert a.ping(lab["SKYNET_MACVLAN_HOST_IP"])
    # DEL removes the macvlan and the port; a second DEL is fine
    assert a.cni("DEL").ok and a.cni("DEL").ok
    assert a.sh("ip", "link", "show", "eth0").returncode != 0
    assert skynet_ports(lab, device_id=a.pod["metadata"]["uid"]) == []


def test_vxlan_network_refused_with_no_port_left(lab, pods, macvlan_conf):
    conf = macvlan_conf()
    conf["neutron"]["default_network_id"] = lab["SKYNET_NET_VXLAN"]
    before = {p["id"] for p in skynet_ports(lab)}
    p = pods.add(netconf=conf, expect_ok=False)
    assert p.res.json["code"] == 7, p.res
    assert "vxlan" in p.res.json["msg"]
    assert {q["id"] for q in skynet_ports(lab)} == before
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "macvlan" not in links or "sk" not in links
