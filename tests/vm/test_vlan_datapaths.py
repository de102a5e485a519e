"""linuxbridge and macvlan on a vlan network, in the VM (8021q present).

Two nodes joined by a trunk wire, one pod on each: the pods reach each
other across the trunk, and the frames on it carry the network's 802.1Q
tag. DEL removes the pod's links and may be repeated.
"""

import pytest

from skynet_drivers.datapath import linuxbridge as lb
from tests.vm import vmfixtures as vmfx

pytestmark = vmfx.in_vm_only


@pytest.fixture
def world(request):
    w = vmfx.World()
    request.addfinalizer(w.cleanup)
    return w


def two_nodes(world):
    node_a, node_b = world.netns("vmn-"), world.netns("vmn-")
    world.veth(node_a, "trunk0", node_b, "trunk0")
    return [node_a, node_b]


def assert_vlan_device(node, nic, vlan_id):
    dev = vmfx.link(node, "%s.%d" % (nic, vlan_id))
    assert dev is not None, "%s.%d missing in %s" % (nic, vlan_id, node)
    info = dev["linkinfo"]
    assert info["info_kind"] == "vlan"
    assert info["info_data"]["protocol"] == "802.1Q"
    assert info["info_data"]["id"] == vlan_id
    assert dev["link"] == nic
    assert "UP" in dev["flags"]
    return dev


def assert_tagged_icmp(cap, vlan_id, src, dst):
    """Echo request and reply crossed the trunk tagged with ``vlan_id``."""
    text = "\n".join(cap.lines)
    for a, b, kind in ((src, dst, "request"), (dst, src, "reply")):
        assert any("ethertype 802.1Q (0x8100)" in ln and
                   "vlan %d," % vlan_id in ln and
                   "%s > %s: ICMP echo %s" % (a, b, kind) in ln
                   for ln in cap.lines), \
            "no 802.1Q vlan %d ICMP echo %s %s > %s on the trunk:\n%s" % (
                vlan_id, kind, a, b, text)


def plug_pods(world, drv, nodes, vifs):
    pods = []
    for node, vif in zip(nodes, vifs):
        pod = world.netns("vmp-")
        host_if = vmfx.in_node(node, vmfx.plug_pod, drv, vif,
                               vmfx.netns_path(pod))
        vif.host_ifname = host_if
        eth0 = vmfx.link(pod, "eth0")
        assert eth0["address"] == vif.mac_address
        assert eth0["mtu"] == vif.network.mtu
        vmfx.in_node(node, drv.check, vif, vmfx.netns_path(pod), "eth0")
        pods.append(pod)
    return pods


def ping_across_trunk(drv_name, nodes, pods, vifs, vlan_id):
    # capture on node B's end of the wire: A's request arrives, B's reply
    # leaves, both tagged
    with vmfx.Capture(nodes[1], "trunk0", "vlan %d and icmp" % vlan_id,
                      count=2) as cap:
        assert vmfx.ping(pods[0], vmfx.v4(vifs[1])), \
            "pod on node A cannot reach the pod on node B over VLAN %d" \
            % vlan_id
    vmfx.save_result("%s.trunk0-tcpdump.txt" % drv_name, cap.lines)
    assert_tagged_icmp(cap, vlan_id, vmfx.v4(vifs[0]), vmfx.v4(vifs[1]))
    # the way back too
    assert vmfx.ping(pods[1], vmfx.v4(vifs[0]))
    return cap


def unplug_twice(drv, nodes, pods, vifs):
    for _ in range(2):
        for node, pod, vif in zip(nodes, pods, vifs):
            vmfx.in_node(node, drv.unplug, vif, vmfx.netns_path(pod), "eth0")


def test_linuxbridge_vlan_trunk_between_two_nodes(world):
    vifs, network = vmfx.recorded_vifs()
    assert network.network_type == "vlan"
    vlan_id = network.segmentation_id
    drv = vmfx.load_datapath("linuxbridge", trunk_nic="trunk0")
    assert type(drv).__module__ == "skynet_drivers.datapath.linuxbridge"

    nodes = two_nodes(world)
    before = {n: vmfx.link_names(n) for n in nodes}
    pods = plug_pods(world, drv, nodes, vifs)

    brq = lb.bridge_name(network.id)
    vlan_dev = "trunk0.%d" % vlan_id
    for node, vif in zip(nodes, vifs):
        assert_vlan_device(node, "trunk0", vlan_id)
        assert vmfx.link(node, vlan_dev)["master"] == brq
        tap = vmfx.link(node, lb.tap_name(vif.port_id))
        assert tap["master"] == brq and "UP" in tap["flags"]
        assert vmfx.link(node, "trunk0").get("master") is None

    ping_across_trunk("linuxbridge", nodes, pods, vifs, vlan_id)

    unplug_twice(drv, nodes, pods, vifs)
    for node, pod, vif in zip(nodes, pods, vifs):
        assert vmfx.link(node, lb.tap_name(vif.port_id)) is None
        assert vmfx.link_names(pod) == {"lo"}
        # only the shared bridge and uplink stay: they belong to the
        # network (and neutron-linuxbridge-agent), never to one pod
        assert vmfx.link_names(node) == before[node] | {brq, vlan_dev}


def test_macvlan_vlan_trunk_between_two_nodes(world):
    vifs, network = vmfx.recorded_vifs()
    vlan_id = network.segmentation_id
    drv = vmfx.load_datapath("macvlan", trunk_nic="trunk0")
    assert type(drv).__module__ == "skynet_drivers.datapath.macvlan"

    nodes = two_nodes(world)
    before = {n: vmfx.link_names(n) for n in nodes}
    pods = plug_pods(world, drv, nodes, vifs)

    vlan_dev = "trunk0.%d" % vlan_id
    for node, pod in zip(nodes, pods):
        assert_vlan_device(node, "trunk0", vlan_id)
        eth0 = vmfx.link(pod, "eth0")
        assert eth0["linkinfo"]["info_kind"] == "macvlan"
        assert eth0["linkinfo"]["info_data"]["mode"] == "bridge"
        # no host-side device per pod: only the shared uplink
        assert vmfx.link_names(node) == before[node] | {vlan_dev}

    ping_across_trunk("macvlan", nodes, pods, vifs, vlan_id)

    unplug_twice(drv, nodes, pods, vifs)
    for node, pod in zip(nodes, pods):
        assert vmfx.link_names(pod) == {"lo"}
        assert vmfx.link_names(node) == before[node] | {vlan_dev}
