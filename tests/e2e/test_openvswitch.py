"""skynet's openvswitch datapath end to end on the lab: the `skynet` executable
plugs pods into br-int and Neutron's OVS agent (ML2/OVS, host
``<hostname>-ovs``) or ovn-controller (ML2/OVN, second neutron-server on
:9697, integration bridge br-ovn) binds them.

Needs the lab's Open vSwitch part: ``LAB_OVS=1 tox -e lab`` (or
``sudo bash tools/lab/ovs.sh up`` on a running lab; ``LAB_OVN=1`` for OVN),
which writes .lab/ovs.env. Without it every test skips; under CI=true they
fail instead only when SKYNET_REQUIRE_OVS=1.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from tests.labsupport import lab_env, neutron_get, REPO, wait_until

OVS_ENV_FILE = os.path.join(REPO, ".lab", "ovs.env")
HOW = "LAB_OVS=1 tox -e lab (or sudo bash tools/lab/ovs.sh up)"


def _skip_or_fail(msg):
    if os.environ.get("CI", "").lower() == "true" and \
            os.environ.get("SKYNET_REQUIRE_OVS") == "1":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@pytest.fixture
def ovs_env(lab):
    env = lab_env(OVS_ENV_FILE)
    if env is None:
        _skip_or_fail("lab's Open vSwitch part not up (%s missing): start it "
                      "with %s" % (OVS_ENV_FILE, HOW))
    return env


@pytest.fixture
def ovn_env(ovs_env):
    if not ovs_env.get("SKYNET_OVN_NEUTRON_URL"):
        _skip_or_fail("lab's OVN part not up: start it with LAB_OVS=1 "
                      "LAB_OVN=1 tox -e lab (or sudo LAB_OVN=1 bash "
                      "tools/lab/ovs.sh up)")
    return ovs_env


# ------------------------------------------------------------------ helpers

def vsctl(*args, check=True):
    res = subprocess.run(("ovs-vsctl", "--timeout=10") + args,
                         capture_output=True, text=True)
    if check and res.returncode:
        raise AssertionError("ovs-vsctl %s: %s" % (" ".join(args),
                                                   res.stderr))
    return res


def iface_ids(name):
    res = vsctl("--format=json", "--columns=external_ids", "list",
                "Interface", name, check=False)
    if res.returncode:
        return None
    return dict(json.loads(res.stdout)["data"][0][0][1])


def port_bridge(name):
    res = vsctl("port-to-br", name, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def ovs_ports(bridge):
    return set(vsctl("list-ports", bridge).stdout.split())


def host_links():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                         text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


class Neutron:
    """The lab's main server (ML2/OVS) or the OVN one, by base URL."""

    def __init__(self, url):
        self.env = {"SKYNET_NEUTRON_URL": url}

    def get(self, path, **params):
        return neutron_get(path, env=self.env, **params)

    def ports_of(self, pod):
        return self.get("ports", device_id=pod.pod["metadata"]["uid"])["ports"]

    def port_of(self, pod):
        ports = self.ports_of(pod)
        assert len(ports) == 1, ports
        return ports[0]

    def wait_active(self, port_id, timeout=40):
        wait_until(lambda: self.get("ports/" + port_id)["port"]["status"]
                   == "ACTIVE", timeout=timeout,
                   what="port %s ACTIVE" % port_id)


def write_conf(tmp_path, bridge, connection, name="skynet.conf"):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write("[datapath_openvswitch]\novsdb_connection = %s\n"
                "integration_bridge = %s\novsdb_timeout = 5\n"
                % (connection, bridge))
    return path


@pytest.fixture
def ovs_netconf(pods, ovs_env, tmp_path):
    """netconf factory for ML2/OVS pods (node_name = the OVS agent's host)."""
    def make(bridge="br-int", connection=None, node_name=None, **extra):
        conf_file = write_conf(
            tmp_path, bridge, connection or ovs_env["SKYNET_OVSDB_CONNECTION"],
            name="skynet-%s.conf" % uuid.uuid4().hex[:6])
        neutron = {"default_network_id": ovs_env["SKYNET_OVS_NET_VXLAN"]}
        neutron.update(extra.pop("neutron", {}))
        return pods.netconf(plugin_type="openvswitch",
                            node_name=node_name or
                            ovs_env["SKYNET_OVS_NODE_NAME"],
                            config_file=conf_file, neutron=neutron, **extra)
    return make


@pytest.fixture
def ml2ovs(lab):
    return Neutron(lab["SKYNET_NEUTRON_URL"])


def _http_ok(client, addr, port):
    code = ("import urllib.request,sys; "
            "r=urllib.request.urlopen('http://%s:%d/', timeout=5); "
            "sys.exit(0 if r.status == 200 and len(r.read()) > 0 else 1)"
            % (addr, port))
    return client.sh(sys.executable, "-c", code).returncode == 0


def assert_sg_80_allowed_81_blocked(server, client):
    procs = [server.serve_http(80), server.serve_http(81)]
    try:
        wait_until(lambda: server.sh("ss", "-ltn").stdout.count("LISTEN") >= 2,
                   timeout=15, what="http servers on 80 and 81")
        # rules land a moment after ACTIVE: poll for the block
        deadline = time.monotonic() + 20
        while client.connects(server.ip(4), 81) and \
                time.monotonic() < deadline:
            time.sleep(1)
        # a whole HTTP exchange: TCP data, not just the handshake (the
        # userspace datapath breaks TCP when TX checksum offload is on)
        assert _http_ok(client, server.ip(4), 80)
        assert not client.connects(server.ip(4), 81)
        assert not client.ping(server.ip(4), count=1)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ ML2/OVS

def test_port_goes_active_and_is_wired_into_br_int(lab, ovs_env, pods,
                                                   ovs_netconf, ml2ovs):
    p = pods.add(netconf=ovs_netconf())
    port = ml2ovs.port_of(p)
    tap = "tap" + port["id"][:11]
    assert port["binding:host_id"] == ovs_env["SKYNET_OVS_NODE_NAME"]
    assert port["binding:vif_type"] == "ovs"
    assert port["binding:vif_details"]["bridge_name"] == "br-int"
    assert port["binding:vif_details"]["datapath_type"] == "netdev"
    host, ctr = p.result["interfaces"]
    assert host["name"] == tap
    assert ctr["mac"] == port["mac_address"] and ctr["mtu"] == 1450
    assert port_bridge(tap) == "br-int"
    assert iface_ids(tap) == {
        "iface-id": port["id"], "attached-mac": port["mac_address"],
        "iface-status": "active", "vm-uuid": p.pod["metadata"]["uid"],
        "skynet-owner": "skynet"}
    # TX checksum offload is off in the pod (userspace datapath)
    k = p.sh("ethtool", "-k", "eth0").stdout
    assert "tx-checksumming: off" in k, k
    ml2ovs.wait_active(port["id"])
    # the tag on the port is the agent's local VLAN, not a segmentation ID
    # skynet would have set
    assert p.cni("CHECK").ok


def test_vxlan_pods_ping_each_other(lab, ovs_env, pods, ovs_netconf, ml2ovs):
    conf = ovs_netconf()
    a, b = pods.add(netconf=conf), pods.add(netconf=conf)
    net = ml2ovs.get("networks/" + ovs_env["SKYNET_OVS_NET_VXLAN"])["network"]
    assert net["provider:network_type"] == "vxlan"
    for p in (a, b):
        ml2ovs.wait_active(ml2ovs.port_of(p)["id"])
    assert a.ping(b.ip(4)) and b.ping(a.ip(4))


def test_vlan_pod_sends_8021q_frames_out_of_br_phys(lab, ovs_env, pods,
                                                    ovs_netconf, ml2ovs):
    net = ml2ovs.get("networks/" + lab["SKYNET_NET_VLAN"])["network"]
    assert (net["provider:network_type"], net["provider:segmentation_id"]) \
        == ("vlan", 100)
    p = pods.add({"skynet/network_id": lab["SKYNET_NET_VLAN"]},
                 netconf=ovs_netconf())
    port = ml2ovs.port_of(p)
    ml2ovs.wait_active(port["id"])
    assert vsctl("get", "Port", "tap" + port["id"][:11],
                 "tag").stdout.strip() != "100"   # local VLAN, agent's
    dump = subprocess.Popen(
        ["ip", "netns", "exec", ovs_env["SKYNET_OVS_PHYS_NETNS"], "timeout",
         "15", "tcpdump", "-nn", "-e", "-l", "-c", "2", "-i",
         ovs_env["SKYNET_OVS_PHYS_NIC"], "ether src %s and vlan 100"
         % port["mac_address"]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)     # tcpdump attached
        p.ping("10.40.0.200", count=3)       # nobody: ARP broadcasts
        out, err = dump.communicate(timeout=20)
    finally:
        if dump.poll() is None:
            dump.kill()
    assert "802.1Q" in out and "vlan 100" in out, (out, err)
    assert port["mac_address"] in out


def test_flat_pod_reaches_host_on_the_physical_network(lab, ovs_env, pods,
                                                       ovs_netconf, ml2ovs):
    p = pods.add({"skynet/network_id": lab["SKYNET_NET_FLAT"]},
                 netconf=ovs_netconf())
    ml2ovs.wait_active(ml2ovs.port_of(p)["id"])
    # 10.20.0.253 on nlab-ophys1 in netns nlab-phys, behind br-phys
    assert p.ping(ovs_env["SKYNET_OVS_PHYS_HOST_IP"], count=3)


def test_security_group_allows_80_blocks_81(lab, ovs_env, pods, ovs_netconf,
                                            ml2ovs):
    conf = ovs_netconf()
    server = pods.add({"skynet/security_group_ids":
                       lab["SKYNET_SG_RESTRICTED"]}, netconf=conf)
    client = pods.add(netconf=conf)
    for p in (server, client):
        ml2ovs.wait_active(ml2ovs.port_of(p)["id"])
    assert_sg_80_allowed_81_blocked(server, client)


def test_del_removes_ovs_port_and_neutron_port_twice(lab, ovs_env, pods,
                                                     ovs_netconf, ml2ovs):
    p = pods.add(netconf=ovs_netconf())
    port = ml2ovs.port_of(p)
    tap = "tap" + port["id"][:11]
    assert tap in ovs_ports("br-int")
    assert p.cni("DEL").ok
    assert tap not in ovs_ports("br-int") and iface_ids(tap) is None
    assert tap not in host_links()
    assert ml2ovs.ports_of(p) == []
    again = p.cni("DEL")
    assert again.ok and again.stdout == ""


def test_ovs_ports_not_made_by_skynet_are_never_touched(lab, ovs_env, pods,
                                                        ovs_netconf, ml2ovs):
    # 1. a foreign port on br-int survives ADD and DEL of skynet pods
    foreign = "sktf" + uuid.uuid4().hex[:8]
    vsctl("add-port", "br-int", foreign, "--", "set", "Interface", foreign,
          "type=internal", "external_ids:owner=someone-else")
    try:
        p = pods.add(netconf=ovs_netconf())
        port = ml2ovs.port_of(p)
        tap = "tap" + port["id"][:11]
        # 2. skynet's own port with its owner mark removed (as if someone
        # else had made it): DEL deletes the Neutron port, not the OVS port
        vsctl("remove", "Interface", tap, "external_ids", "skynet-owner")
        assert p.cni("DEL").ok
        assert ml2ovs.ports_of(p) == []
        assert port_bridge(tap) == "br-int"
        assert iface_ids(tap)["iface-id"] == port["id"]
        assert tap in host_links()
        assert port_bridge(foreign) == "br-int"
        assert iface_ids(foreign) == {"owner": "someone-else"}
    finally:
        vsctl("--if-exists", "del-port", foreign)
        if "tap" in locals():
            vsctl("--if-exists", "del-port", tap)
            subprocess.run(["ip", "link", "del", tap], capture_output=True)


def _nothing_left(ml2ovs, pod, ovs_before):
    """No Neutron port for the pod, and neither a link nor an OVS port of any
    port this ADD created (IDs from skynet's log: the lab is shared, so the
    host's whole tap list changes under other tests)."""
    assert ml2ovs.ports_of(pod) == []
    with open(pod.netconf["log_file"]) as f:
        made = set(re.findall(r"ADD \S+: port ([0-9a-f-]{36})", f.read()))
    links = host_links()
    for port_id in made:
        assert "tap" + port_id[:11] not in links
        assert iface_ids("tap" + port_id[:11]) is None
    assert ovs_ports("br-int") == ovs_before
    return made


@pytest.mark.parametrize("case", ["ovsdb-unreachable", "bridge-missing",
                                  "binding-failed"])
def test_bad_input_clear_error_nothing_left(lab, ovs_env, pods, ovs_netconf,
                                            ml2ovs, case):
    conf, needles = {
        "ovsdb-unreachable": (
            ovs_netconf(connection="unix:/nonexistent/ovs/db.sock"),
            ["ovsdb-server is not reachable", "/nonexistent/ovs/db.sock"]),
        "bridge-missing": (
            ovs_netconf(bridge="br-missing"),
            ["br-missing", "does not exist"]),
        "binding-failed": (
            ovs_netconf(node_name="no-such-ovs-host"),
            ["binding_failed", "no-such-ovs-host"]),
    }[case]
    before = ovs_ports("br-int")
    p = pods.add(netconf=conf, expect_ok=False)
    assert not p.res.ok
    for needle in needles:
        assert needle in p.res.json["msg"], p.res
    assert p.res.json["code"] in (7, 103), p.res
    made = _nothing_left(ml2ovs, p, before)
    # validate() refuses before a port exists; binding_failed is only known
    # once Neutron made (and could not bind) the port, which is rolled back
    assert len(made) == (1 if case == "binding-failed" else 0), made
    assert p.sh("ip", "link", "show", "eth0").returncode != 0


# ------------------------------------------------------------------ ML2/OVN

@pytest.fixture
def ovn(ovn_env):
    return Neutron(ovn_env["SKYNET_OVN_NEUTRON_URL"])


@pytest.fixture
def ovn_netconf(pods, ovn_env, tmp_path):
    conf_file = write_conf(tmp_path, ovn_env["SKYNET_OVN_BRIDGE"],
                           ovn_env["SKYNET_OVSDB_CONNECTION"], "ovn.conf")

    def make(**extra):
        return pods.netconf(
            plugin_type="openvswitch", node_name=ovn_env["SKYNET_OVN_NODE_NAME"],
            config_file=conf_file,
            neutron={"neutron_url": ovn_env["SKYNET_OVN_NEUTRON_URL"],
                     "default_network_id": ovn_env["SKYNET_OVN_NET_GENEVE"],
                     "default_security_group_ids":
                         ovn_env["SKYNET_OVN_SG_OPEN"]}, **extra)
    return make


def test_ovn_geneve_pods_active_and_ping(ovn_env, pods, ovn_netconf, ovn):
    conf = ovn_netconf()
    a, b = pods.add(netconf=conf), pods.add(netconf=conf)
    net = ovn.get("networks/" + ovn_env["SKYNET_OVN_NET_GENEVE"])["network"]
    assert net["provider:network_type"] == "geneve"
    for p in (a, b):
        port = ovn.port_of(p)
        assert port["binding:vif_type"] == "ovs"
        assert "bridge_name" not in port["binding:vif_details"]
        tap = "tap" + port["id"][:11]
        assert port_bridge(tap) == ovn_env["SKYNET_OVN_BRIDGE"]
        assert iface_ids(tap)["iface-id"] == port["id"]
        # datapath_type came from br-ovn itself (OVN does not report it)
        assert "tx-checksumming: off" in p.sh("ethtool", "-k", "eth0").stdout
        ovn.wait_active(port["id"])
    assert a.ping(b.ip(4)) and b.ping(a.ip(4))
    assert a.cni("CHECK").ok


def test_ovn_security_group_allows_80_blocks_81(ovn_env, pods, ovn_netconf,
                                                ovn):
    conf = ovn_netconf()
    server = pods.add({"skynet/security_group_ids":
                       ovn_env["SKYNET_OVN_SG_RESTRICTED"]}, netconf=conf)
    client = pods.add(netconf=conf)
    for p in (server, client):
        ovn.wait_active(ovn.port_of(p)["id"])
    assert_sg_80_allowed_81_blocked(server, client)


def test_ovn_del_removes_ovs_port_and_neutron_port_twice(ovn_env, pods,
                                                         ovn_netconf, ovn):
    p = pods.add(netconf=ovn_netconf())
    port = ovn.port_of(p)
    tap = "tap" + port["id"][:11]
    assert tap in ovs_ports(ovn_env["SKYNET_OVN_BRIDGE"])
    assert p.cni("DEL").ok
    assert tap not in ovs_ports(ovn_env["SKYNET_OVN_BRIDGE"])
    assert ovn.ports_of(p) == []
    assert p.cni("DEL").ok


@pytest.fixture
def ovn_provider_net(ovn_env, ovn):
    """A flat or vlan network on physnet1 of the OVN server (its own
    database: VLAN 100 is free there), deleted after the test."""
    from tests.labsupport import neutron_delete, neutron_post
    made = []

    def make(network_type, cidr, segmentation_id=None):
        body = {"name": "skynet-e2e-ovn-" + network_type,
                "provider:network_type": network_type,
                "provider:physical_network": "physnet1"}
        if segmentation_id:
            body["provider:segmentation_id"] = segmentation_id
        net = neutron_post("networks", {"network": body}, env=ovn.env)["network"]
        made.append(net["id"])
        prefix = cidr.rsplit(".", 1)[0]
        subnet = {"network_id": net["id"], "ip_version": 4, "cidr": cidr,
                  "allocation_pools": [{"start": prefix + ".10",
                                        "end": prefix + ".200"}]}
        neutron_post("subnets", {"subnet": subnet}, env=ovn.env)
        return net
    yield make
    for net_id in made:
        for port in ovn.get("ports", network_id=net_id)["ports"]:
            neutron_delete("ports/" + port["id"], env=ovn.env)
        neutron_delete("networks/" + net_id, env=ovn.env)


OVN_PHYS_NIC = "nlab-ovphys1"       # br-ovnphys' uplink, its peer in nlab-phys


def test_ovn_vlan_pod_sends_8021q_frames_out_of_the_physical_bridge(
        ovn_env, pods, ovn_netconf, ovn, ovn_provider_net):
    net = ovn_provider_net("vlan", "10.41.0.0/24", segmentation_id=100)
    conf = ovn_netconf()
    conf["neutron"]["default_network_id"] = net["id"]
    p = pods.add(netconf=conf)
    port = ovn.port_of(p)
    ovn.wait_active(port["id"])
    dump = subprocess.Popen(
        ["ip", "netns", "exec", ovn_env["SKYNET_OVS_PHYS_NETNS"], "timeout",
         "15", "tcpdump", "-nn", "-e", "-l", "-c", "2", "-i", OVN_PHYS_NIC,
         "ether src %s and vlan 100" % port["mac_address"]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)     # tcpdump attached
        p.ping("10.41.0.250", count=3)       # nobody there: ARP broadcasts
        out, err = dump.communicate(timeout=20)
    finally:
        if dump.poll() is None:
            dump.kill()
    assert "802.1Q" in out and "vlan 100" in out, (out, err)


def test_ovn_flat_pod_reaches_host_on_the_physical_network(
        ovn_env, pods, ovn_netconf, ovn, ovn_provider_net):
    net = ovn_provider_net("flat", "10.42.0.0/24")
    ns = ovn_env["SKYNET_OVS_PHYS_NETNS"]
    subprocess.run(["ip", "-n", ns, "addr", "add", "10.42.0.254/24", "dev",
                    OVN_PHYS_NIC], check=True)
    try:
        conf = ovn_netconf()
        conf["neutron"]["default_network_id"] = net["id"]
        p = pods.add(netconf=conf)
        ovn.wait_active(ovn.port_of(p)["id"])
        assert p.ping("10.42.0.254", count=3)
    finally:
        subprocess.run(["ip", "-n", ns, "addr", "del", "10.42.0.254/24",
                        "dev", OVN_PHYS_NIC])
