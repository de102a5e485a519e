"""openvswitch with the kernel datapath (datapath_type=system), in the VM.

ovs-vswitchd runs in the VM's own netns (the "node"); br-int is created
as the Neutron OVS agent creates it, with datapath_type=system, so
forwarding happens in the openvswitch kernel module (system@ovs-system).
The driver plugs two pods with Neutron's external_ids; the test then does
the agent's part (the local VLAN tag of each port) and the pods reach
each other through the kernel datapath, while a pod on another local VLAN
does not. DEL removes the OVS ports and links, and may be repeated.
"""

import json
import re
from importlib import metadata

import pytest

from skynet.drivers import base
from tests.vm import vmfixtures as vmfx

pytestmark = vmfx.in_vm_only

BRIDGE = "br-int"
LOCAL_VLAN = 1          # what the OVS agent would pick for the network
OTHER_LOCAL_VLAN = 2
# what ML2/OVS puts in binding:vif_details for a kernel-datapath node (the
# lab's Neutron runs linuxbridge, so the recorded ports carry no OVS
# binding: it is added here)
OVS_BINDING = {
    "binding:vif_type": "ovs",
    "binding:vif_details": {"bridge_name": BRIDGE, "datapath_type": "system",
                            "ovs_hybrid_plug": False, "port_filter": True,
                            "connectivity": "l2"},
    "binding:host_id": "vm",
}


def require_driver():
    names = {ep.name for ep in
             metadata.entry_points(group=base.NAMESPACE_DATAPATH)}
    if "openvswitch" not in names:
        pytest.skip(
            "%s: no entry point skynet.datapath:openvswitch (expected "
            "skynet_drivers/datapath/openvswitch.py registered in setup.py; "
            "installed: %s)" % (vmfx.OVS_MISSING, ", ".join(sorted(names))))


def vsctl(*args):
    return vmfx.run("ovs-vsctl", "--timeout=30", *args).stdout.strip()


def interface(name):
    out = vsctl("--format=json", "--data=json", "--columns=name,external_ids",
                "find", "Interface", "name=%s" % name)
    rows = json.loads(out)["data"]
    if not rows:
        return None
    _, ids = rows[0]
    assert ids[0] == "map"
    return dict(ids[1])


def datapath_ports():
    out = vmfx.run("ovs-dpctl", "show").stdout
    assert "system@ovs-system" in out, out
    return out


def in_datapath(dpctl_show, name):
    return re.search(r"port \d+: %s\b" % re.escape(name), dpctl_show)


@pytest.fixture(scope="module")
def ovs():
    require_driver()
    vmfx.run("ovs-start", timeout=60)
    try:
        # as the Neutron OVS agent does for a kernel-datapath node
        vsctl("--may-exist", "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE,
              "datapath_type=system")
        assert vsctl("get", "Bridge", BRIDGE, "datapath_type") == "system"
        datapath_ports()
        yield
    finally:
        vmfx.run("ovs-vsctl", "--timeout=10", "--if-exists", "del-br",
                 BRIDGE, check=False)
        vmfx.run("ovs-stop", check=False)


@pytest.fixture
def world(request):
    w = vmfx.World()
    request.addfinalizer(w.cleanup)
    return w


def test_ovs_system_datapath_two_pods_one_vlan(ovs, world):
    vifs, network = vmfx.recorded_vifs(OVS_BINDING)
    vifs.append(vmfx.another_port(vifs[0], 250))     # a pod on another VLAN
    drv = vmfx.load_datapath("openvswitch",
                             ovsdb_connection="unix:/run/openvswitch/db.sock")
    assert type(drv).__module__ == "skynet_drivers.datapath.openvswitch"
    drv.validate(network)
    links_before = vmfx.link_names(None)

    pods = []
    for vif in vifs:
        pod = world.netns("vmp-")
        tap = vmfx.plug_pod(drv, vif, vmfx.netns_path(pod))
        assert tap and vmfx.link(None, tap) is not None
        pods.append(pod)
        eth0 = vmfx.link(pod, "eth0")
        assert eth0["address"] == vif.mac_address
        assert eth0["mtu"] == network.mtu
        # Neutron's external_ids, on br-int
        assert vsctl("port-to-br", tap) == BRIDGE
        ids = interface(tap)
        assert ids["iface-id"] == vif.port_id
        assert ids["attached-mac"] == vif.mac_address
        assert ids["iface-status"] == "active"
        assert ids["vm-uuid"] == vif.device_id
        assert ids["skynet-owner"] == "skynet"
        drv.check(vif, vmfx.netns_path(pod), "eth0")
    taps = [vif.host_ifname for vif in vifs]

    # the agent's part: local VLAN tags (skynet never sets one)
    for tap, tag in zip(taps, (LOCAL_VLAN, LOCAL_VLAN, OTHER_LOCAL_VLAN)):
        vsctl("set", "Port", tap, "tag=%d" % tag)

    dp = datapath_ports()
    for tap in taps:
        assert in_datapath(dp, tap), \
            "%s not in the kernel datapath:\n%s" % (tap, dp)
    assert vmfx.ping(pods[0], vmfx.v4(vifs[1])), \
        "pods on local VLAN %d do not reach each other" % LOCAL_VLAN
    assert vmfx.ping(pods[1], vmfx.v4(vifs[0]))
    flows = vmfx.run("ovs-dpctl", "dump-flows").stdout
    vmfx.save_result("openvswitch.dpctl.txt", [dp, flows])
    for vif in vifs[:2]:
        assert "src=%s" % vif.mac_address in flows, \
            "no kernel datapath flow from %s:\n%s" % (vif.mac_address, flows)
    # another local VLAN is another segment: not reachable
    assert not vmfx.ping(pods[2], vmfx.v4(vifs[0]), wait=1, tries=1)

    # DEL, twice
    for _ in range(2):
        for pod, vif in zip(pods, vifs):
            drv.unplug(vif, vmfx.netns_path(pod), "eth0")
    ports = vsctl("list-ports", BRIDGE).split()
    dp = datapath_ports()
    for pod, tap in zip(pods, taps):
        assert tap not in ports
        assert interface(tap) is None
        assert not in_datapath(dp, tap)
        assert vmfx.link(None, tap) is None
        assert vmfx.link_names(pod) == {"lo"}
    assert vmfx.link_names(None) == links_before
