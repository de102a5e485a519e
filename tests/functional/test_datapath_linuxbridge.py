"""linuxbridge datapath against the real kernel (root; see datapath_fixtures)."""

import multiprocessing
import os
import random
import subprocess
import time

import pytest

from skynet import exceptions
from skynet.linux import ip_lib
from skynet import model
from skynet_drivers.datapath import linuxbridge as lb
from tests.functional import datapath_fixtures as fx

pytestmark = fx.requires_root


def unplug(drv, vif, pod_path, ifname="eth0"):
    drv.unplug(vif, pod_path, ifname)


def driver_check(drv, vif, pod_path, ifname="eth0"):
    drv.check(vif, pod_path, ifname)
    ip_lib.check_container(pod_path, ifname, vif)


def link(ns, name):
    found = fx.ip_json("-n", ns, "-d", "link", "show", name)
    return found[0] if found else None


def link_names(ns):
    return {lk["ifname"] for lk in fx.ip_json("-n", ns, "link", "show")}


def flat_world(world, mtu=1500):
    """node netns with trunk0, whose peer is eth0 of a 'phys' host."""
    x = random.randint(1, 250)
    node, phys = world.netns(), world.netns()
    world.veth(node, "trunk0", phys, "eth0", mtu=mtu)
    fx.ip("-n", phys, "addr", "add", "10.251.%d.254/24" % x, "dev", "eth0")
    fx.ip("-n", phys, "addr", "add", "fd00:251:%x::254/64" % x, "dev",
          "eth0", "nodad")
    return x, node, phys


def flat_driver():
    return lb.LinuxBridgeDriver(fx.lb_conf(),
                                fx.datapath_conf(trunk_nic="trunk0"))


def routes_for(x):
    return [model.Route("0.0.0.0/0", "10.251.%d.254" % x),
            model.Route("::/0", "fd00:251:%x::254" % x),
            model.Route("198.51.100.7/32", "10.251.%d.254" % x)]


def test_flat_two_pods_and_phys_host(world):
    x, node, phys = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1450,
                            physical_network="physnet1")
    drv = flat_driver()
    pods, vifs = [], []
    for n in (11, 12):
        pod = world.netns()
        vif = fx.make_vif(network, "10.251.%d.%d/24" % (x, n),
                          "fd00:251:%x::%d/64" % (x, n), routes_for(x))
        tap = fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
        assert tap == lb.tap_name(vif.port_id)
        vif.host_ifname = tap
        pods.append(pod)
        vifs.append(vif)

    brq = lb.bridge_name(network.id)
    assert brq == "brq" + network.id[:11]
    br = link(node, brq)
    data = br["linkinfo"]["info_data"]
    assert data["stp_state"] == 0
    assert data["forward_delay"] == 0
    assert "UP" in br["flags"]
    assert link(node, "trunk0")["master"] == brq
    for pod, vif in zip(pods, vifs):
        tap = link(node, vif.host_ifname)
        assert tap["master"] == brq and tap["mtu"] == 1450
        assert "UP" in tap["flags"]
        eth0 = link(pod, "eth0")
        assert eth0["address"] == vif.mac_address
        assert eth0["mtu"] == 1450
        addrs = {(a["local"], a["prefixlen"])
                 for a in fx.ip_json("-n", pod, "addr", "show", "eth0")[0][
                     "addr_info"]}
        assert (vif.ips[0].interface.ip.compressed, 24) in addrs
        assert (vif.ips[1].interface.ip.compressed, 64) in addrs
        r4 = fx.ip_json("-n", pod, "route", "show")
        assert {"dst": "default", "gateway": "10.251.%d.254" % x} in [
            {"dst": r["dst"], "gateway": r.get("gateway")} for r in r4]
        assert any(r["dst"] == "198.51.100.7" and
                   r.get("gateway") == "10.251.%d.254" % x for r in r4)
        r6 = fx.ip_json("-n", pod, "-6", "route", "show")
        assert any(r["dst"] == "default" and
                   r.get("gateway") == "fd00:251:%x::254" % x for r in r6)
        fx.in_node(node, driver_check, drv, vif, fx.netns_path(pod))

    a, b = pods
    assert fx.ping(a, "10.251.%d.12" % x)
    assert fx.ping(a, "10.251.%d.254" % x)
    assert fx.ping(b, "10.251.%d.254" % x)
    assert fx.ping(a, "fd00:251:%x::12" % x)
    assert fx.ping(b, "fd00:251:%x::254" % x)

    # unplug twice: idempotent; the shared bridge stays (agent's)
    for _ in range(2):
        fx.in_node(node, unplug, drv, vifs[0], fx.netns_path(a))
    assert link(node, vifs[0].host_ifname) is None
    assert "eth0" not in link_names(a)
    assert link(node, brq) is not None


def vxlan_world(world):
    y, z = random.randint(1, 125), random.randint(126, 250)
    node, remote = world.netns(), world.netns()
    world.veth(node, "tun0", remote, "eth0")
    fx.ip("-n", node, "addr", "add", "10.251.%d.1/24" % y, "dev", "tun0")
    fx.ip("-n", remote, "addr", "add", "10.251.%d.2/24" % y, "dev", "eth0")
    return y, z, node, remote


def vxlan_driver(**kw):
    return lb.LinuxBridgeDriver(fx.lb_conf(**kw),
                                fx.datapath_conf(tunnel_nic="tun0"))


def vni():
    # far above the lab's ml2 vni ranges
    return random.randint(16000000, 16700000)


def test_vxlan_two_pods_and_remote_vtep(world):
    y, z, node, remote = vxlan_world(world)
    network = model.Network(id=fx.net_id(), network_type="vxlan", mtu=1450,
                            segmentation_id=vni())
    drv = vxlan_driver()
    pods = []
    for n in (11, 12):
        pod = world.netns()
        vif = fx.make_vif(network, "10.251.%d.%d/24" % (z, n),
                          "fd00:251:%x::%d/64" % (z, n))
        fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
        pods.append(pod)

    name = "vxlan-%d" % network.segmentation_id
    vx = link(node, name)
    data = vx["linkinfo"]["info_data"]
    assert data["id"] == network.segmentation_id
    assert data["local"] == "10.251.%d.1" % y
    assert data["port"] == 4789
    assert data["link"] == "tun0"
    assert data["learning"] is True
    assert vx["mtu"] == 1450
    assert "UP" in vx["flags"]
    assert vx["master"] == lb.bridge_name(network.id)
    res = fx.netns_exec(node, "cat",
                        "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name)
    assert res.stdout.strip() == "1"
    br = link(node, lb.bridge_name(network.id))
    assert br["linkinfo"]["info_data"]["stp_state"] == 0

    # a remote VTEP with a "pod" address on its vxlan device; the node
    # side floods to it (what l2population/the agent would program)
    fx.ip("-n", remote, "link", "add", "vxr", "mtu", "1450", "type",
          "vxlan", "id", str(network.segmentation_id), "local",
          "10.251.%d.2" % y, "dev", "eth0", "dstport", "4789")
    fx.ip("-n", remote, "addr", "add", "10.251.%d.100/24" % z, "dev", "vxr")
    fx.ip("-n", remote, "link", "set", "vxr", "up")
    for ns, dev, dst in ((remote, "vxr", "10.251.%d.1" % y),
                         (node, name, "10.251.%d.2" % y)):
        subprocess.run(("bridge", "-n", ns, "fdb", "append",
                        "00:00:00:00:00:00", "dev", dev, "dst", dst),
                       check=True)
    a, b = pods
    assert fx.ping(a, "10.251.%d.12" % z)
    assert fx.ping(a, "fd00:251:%x::12" % z)
    assert fx.ping(b, "10.251.%d.100" % z)


def _agent_like_vxlan(node, name, vid, local, dstport, mtu):
    # what neutron-linuxbridge-agent's ensure_vxlan runs (l2_population on)
    fx.ip("-n", node, "link", "add", name, "type", "vxlan", "id", str(vid),
          "dev", "tun0", "local", local, "dstport", str(dstport))
    fx.ip("-n", node, "link", "set", name, "mtu", str(mtu), "up")


def test_vxlan_accepts_agent_created_devices(world):
    y, z, node, _ = vxlan_world(world)
    network = model.Network(id=fx.net_id(), network_type="vxlan", mtu=1450,
                            segmentation_id=vni())
    name = lb.vxlan_name(network.segmentation_id)
    brq = lb.bridge_name(network.id)
    _agent_like_vxlan(node, name, network.segmentation_id,
                      "10.251.%d.1" % y, 4789, 1450)
    fx.ip("-n", node, "link", "add", brq, "type", "bridge")
    fx.ip("-n", node, "link", "set", name, "master", brq)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % z)
    fx.in_node(node, fx.plug_pod, vxlan_driver(), vif, fx.netns_path(pod))
    assert link(node, lb.tap_name(vif.port_id))["master"] == brq
    br = link(node, brq)
    assert br["linkinfo"]["info_data"]["forward_delay"] == 0
    assert "UP" in br["flags"]


def test_vxlan_refuses_mismatching_device(world):
    y, z, node, _ = vxlan_world(world)
    network = model.Network(id=fx.net_id(), network_type="vxlan", mtu=1450,
                            segmentation_id=vni())
    name = lb.vxlan_name(network.segmentation_id)
    _agent_like_vxlan(node, name, network.segmentation_id,
                      "10.251.%d.1" % y, 8472, 1450)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % z)
    with pytest.raises(exceptions.DatapathError) as ei:
        fx.in_node(node, fx.plug_pod, vxlan_driver(), vif, fx.netns_path(pod))
    assert "dstport 8472 != 4789" in str(ei.value)
    assert link(node, lb.tap_name(vif.port_id)) is None
    assert link_names(pod) == {"lo"}


@pytest.mark.parametrize("ntype", ["flat", "vxlan"])
def test_eight_concurrent_plugs_into_new_network(world, ntype):
    if ntype == "flat":
        x, node, _ = flat_world(world)
        network = model.Network(id=fx.net_id(), network_type="flat",
                                mtu=1500)
        drv = flat_driver()
    else:
        _, x, node, _ = vxlan_world(world)
        network = model.Network(id=fx.net_id(), network_type="vxlan",
                                mtu=1450, segmentation_id=vni())
        drv = vxlan_driver()
    barrier = multiprocessing.get_context("fork").Barrier(8)

    def racer(vif, path):
        barrier.wait(30)
        return fx.plug_pod(drv, vif, path)

    jobs = []
    for n in range(8):
        pod = world.netns()
        vif = fx.make_vif(network, "10.251.%d.%d/24" % (x, 20 + n))
        jobs.append((pod, vif, fx.start_in_node(node, racer, vif,
                                                fx.netns_path(pod))))
    errors = []
    for pod, vif, job in jobs:
        try:
            assert fx.join_in_node(job) == lb.tap_name(vif.port_id)
        except Exception as e:      # collect all, then fail
            errors.append("%s: %s %s" % (
                pod, e, getattr(e, "child_traceback", "")))
    assert not errors, "\n".join(errors)
    brq = lb.bridge_name(network.id)
    for pod, vif, _ in jobs:
        assert link(node, lb.tap_name(vif.port_id))["master"] == brq
    assert fx.ping(jobs[0][0], "10.251.%d.27" % x)


def test_unplug_idempotent_and_after_netns_deleted(world):
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1500)
    drv = flat_driver()
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
    fx.ip("netns", "del", pod)
    world.namespaces.remove(pod)
    for _ in range(2):
        fx.in_node(node, unplug, drv, vif, fx.netns_path(pod))
    # the veth dies with its netns (asynchronously) or through unplug
    assert link(node, lb.tap_name(vif.port_id)) is None
    # an empty CNI_NETNS on DEL is fine too
    fx.in_node(node, unplug, drv, vif, "")


def test_failed_plug_bad_mtu_leaves_no_veth(world):
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=70000)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    with pytest.raises(exceptions.DatapathError) as ei:
        fx.in_node(node, fx.plug_pod, flat_driver(), vif, fx.netns_path(pod))
    assert lb.tap_name(vif.port_id) in str(ei.value)
    assert link(node, lb.tap_name(vif.port_id)) is None
    assert link_names(pod) == {"lo"}


def test_failed_plug_bogus_trunk_leaves_nothing(world):
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1500)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    drv = lb.LinuxBridgeDriver(fx.lb_conf(),
                               fx.datapath_conf(trunk_nic="nosuchnic0"))
    with pytest.raises(exceptions.DatapathError) as ei:
        fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
    assert "trunk_nic nosuchnic0 does not exist" in str(ei.value)
    assert link_names(node) == {"lo", "trunk0"}
    assert link_names(pod) == {"lo"}


def test_failed_enslave_rolls_back_veth(world):
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1500)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    drv = flat_driver()

    def plug_with_fault(vif, path):
        real = ip_lib.set_master

        def fail_for_tap(dev, bridge):
            if dev.startswith("tap"):
                raise exceptions.DatapathError("injected fault")
            return real(dev, bridge)
        ip_lib.set_master = fail_for_tap
        drv.plug(vif, path, "eth0")

    with pytest.raises(exceptions.DatapathError):
        fx.in_node(node, plug_with_fault, vif, fx.netns_path(pod))
    assert link(node, lb.tap_name(vif.port_id)) is None
    assert link_names(pod) == {"lo"}


def test_vlan_without_8021q_fails_clearly_and_leaks_nothing(world):
    if fx.kernel_has_8021q():
        pytest.skip("kernel has 8021q: covered by test_vlan_datapath")
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="vlan", mtu=1500,
                            segmentation_id=100)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    with pytest.raises(exceptions.DatapathError) as ei:
        fx.in_node(node, fx.plug_pod, flat_driver(), vif, fx.netns_path(pod))
    assert "802.1Q" in str(ei.value) and "trunk0.100" in str(ei.value)
    assert link_names(node) == {"lo", "trunk0"}
    assert link_names(pod) == {"lo"}


def test_vlan_datapath(world):
    if not fx.kernel_has_8021q():
        pytest.skip("this kernel lacks 8021q (CONFIG_VLAN_8021Q is not "
                    "set): the VLAN datapath is proven in a VM with a stock "
                    "Debian kernel: run `tox -e vm` (tests/vm)")
    x, node, phys = flat_world(world)
    fx.ip("-n", phys, "link", "add", "link", "eth0", "name", "eth0.100",
          "type", "vlan", "id", "100")
    fx.ip("-n", phys, "addr", "add", "10.251.%d.253/24" % x, "dev",
          "eth0.100")
    fx.ip("-n", phys, "link", "set", "eth0.100", "up")
    network = model.Network(id=fx.net_id(), network_type="vlan", mtu=1500,
                            segmentation_id=100)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    fx.in_node(node, fx.plug_pod, flat_driver(), vif, fx.netns_path(pod))
    assert link(node, "trunk0.100")["master"] == lb.bridge_name(network.id)
    assert fx.ping(pod, "10.251.%d.253" % x)


def test_check_detects_broken_wiring(world):
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1500)
    drv = flat_driver()
    pod = world.netns()
    path = fx.netns_path(pod)
    vif = fx.make_vif(network, "10.251.%d.11/24" % x,
                      "fd00:251:%x::11/64" % x, routes_for(x))
    fx.in_node(node, fx.plug_pod, drv, vif, path)
    fx.in_node(node, driver_check, drv, vif, path)

    fx.ip("-n", pod, "route", "del", "198.51.100.7/32")
    with pytest.raises(exceptions.CheckFailed, match="route 198.51.100.7"):
        ip_lib.check_container(path, "eth0", vif)
    fx.ip("-n", pod, "addr", "del", "fd00:251:%x::11/64" % x, "dev", "eth0")
    with pytest.raises(exceptions.CheckFailed,
                       match="address fd00:251:%x::11/64 missing" % x):
        ip_lib.check_container(path, "eth0", vif)
    fx.ip("-n", pod, "link", "set", "eth0", "address", "fa:16:3e:00:00:99")
    with pytest.raises(exceptions.CheckFailed, match="MAC of eth0"):
        ip_lib.check_container(path, "eth0", vif)

    fx.ip("-n", node, "link", "set", lb.tap_name(vif.port_id), "nomaster")
    with pytest.raises(exceptions.CheckFailed, match="enslaved to None"):
        fx.in_node(node, drv.check, vif, path, "eth0")
    fx.ip("-n", pod, "link", "del", "eth0")
    with pytest.raises(exceptions.CheckFailed, match="eth0 is missing"):
        ip_lib.check_container(path, "eth0", vif)
    with pytest.raises(exceptions.CheckFailed, match="is missing"):
        fx.in_node(node, drv.check, vif, path, "eth0")


def test_proc_pid_netns_path(world):
    """CNI_NETNS may be /proc/PID/ns/net (no bind mount)."""
    x, node, _ = flat_world(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1500)
    pod = world.netns()
    holder = subprocess.Popen(("ip", "netns", "exec", pod, "sleep", "60"))
    try:
        path = "/proc/%d/ns/net" % holder.pid
        for _ in range(50):     # wait for the exec into the netns
            if os.readlink(path) == os.readlink(
                    "/proc/self/ns/net") or not os.path.exists(path):
                time.sleep(0.05)
                continue
            break
        vif = fx.make_vif(network, "10.251.%d.11/24" % x)
        fx.in_node(node, fx.plug_pod, flat_driver(), vif, path)
        assert link(pod, "eth0")["address"] == vif.mac_address
        assert ip_lib.container_link_info(path, "eth0")["mac"] == \
            vif.mac_address
    finally:
        holder.kill()
        holder.wait()
