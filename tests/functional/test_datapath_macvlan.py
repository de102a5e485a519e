"""macvlan datapath against the real kernel (root; see datapath_fixtures)."""

import random

import pytest

from skynet import exceptions
from skynet.linux import ip_lib
from skynet import model
from skynet_drivers.datapath import macvlan
from tests.functional import datapath_fixtures as fx

pytestmark = fx.requires_root


def names(ns):
    return {lk["ifname"] for lk in fx.ip_json("-n", ns, "link", "show")}


def setup(world):
    x = random.randint(1, 250)
    node, phys = world.netns(), world.netns()
    world.veth(node, "trunk0", phys, "eth0")
    fx.ip("-n", phys, "addr", "add", "10.251.%d.254/24" % x, "dev", "eth0")
    drv = macvlan.MacvlanDriver(fx.macvlan_conf(),
                                fx.datapath_conf(trunk_nic="trunk0"))
    return x, node, phys, drv


def test_flat_two_pods_ping(world):
    x, node, phys, drv = setup(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=1400)
    pods, vifs = [], []
    for n in (11, 12):
        pod = world.netns()
        vif = fx.make_vif(network, "10.251.%d.%d/24" % (x, n),
                          "fd00:251:%x::%d/64" % (x, n),
                          [model.Route("0.0.0.0/0", "10.251.%d.254" % x)])
        assert fx.in_node(node, fx.plug_pod, drv, vif,
                          fx.netns_path(pod)) is None
        eth0 = fx.ip_json("-n", pod, "-d", "link", "show", "eth0")[0]
        assert eth0["address"] == vif.mac_address
        assert eth0["mtu"] == 1400
        assert eth0["linkinfo"]["info_kind"] == "macvlan"
        assert eth0["linkinfo"]["info_data"]["mode"] == "bridge"
        ip_lib.check_container(fx.netns_path(pod), "eth0", vif)
        fx.in_node(node, drv.check, vif, fx.netns_path(pod), "eth0")
        pods.append(pod)
        vifs.append(vif)
    assert names(node) == {"lo", "trunk0"}      # nothing on the host side
    assert fx.ping(pods[0], "10.251.%d.12" % x)
    assert fx.ping(pods[0], "fd00:251:%x::12" % x)
    assert fx.ping(pods[1], "10.251.%d.254" % x)

    for _ in range(2):
        fx.in_node(node, drv.unplug, vifs[0], fx.netns_path(pods[0]), "eth0")
    assert names(pods[0]) == {"lo"}
    fx.ip("netns", "del", pods[1])
    world.namespaces.remove(pods[1])
    fx.in_node(node, drv.unplug, vifs[1], fx.netns_path(pods[1]), "eth0")


def test_bad_mtu_leaves_nothing(world):
    x, node, _, drv = setup(world)
    network = model.Network(id=fx.net_id(), network_type="flat", mtu=9000)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    with pytest.raises(exceptions.DatapathError, match="MTU 9000"):
        fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
    assert names(pod) == {"lo"}
    assert names(node) == {"lo", "trunk0"}


def test_vlan_without_8021q_fails_clearly_and_leaks_nothing(world):
    if fx.kernel_has_8021q():
        pytest.skip("kernel has 8021q: covered by test_vlan_datapath")
    x, node, _, drv = setup(world)
    network = model.Network(id=fx.net_id(), network_type="vlan", mtu=1500,
                            segmentation_id=101)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    with pytest.raises(exceptions.DatapathError, match="802.1Q"):
        fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
    assert names(pod) == {"lo"}
    assert names(node) == {"lo", "trunk0"}


def test_vlan_datapath(world):
    if not fx.kernel_has_8021q():
        pytest.skip("this kernel lacks 8021q (CONFIG_VLAN_8021Q is not "
                    "set): the VLAN datapath is proven in a VM with a stock "
                    "Debian kernel: run `tox -e vm` (tests/vm)")
    x, node, phys, drv = setup(world)
    fx.ip("-n", phys, "link", "add", "link", "eth0", "name", "eth0.101",
          "type", "vlan", "id", "101")
    fx.ip("-n", phys, "addr", "add", "10.251.%d.253/24" % x, "dev",
          "eth0.101")
    fx.ip("-n", phys, "link", "set", "eth0.101", "up")
    network = model.Network(id=fx.net_id(), network_type="vlan", mtu=1500,
                            segmentation_id=101)
    pod = world.netns()
    vif = fx.make_vif(network, "10.251.%d.11/24" % x)
    fx.in_node(node, fx.plug_pod, drv, vif, fx.netns_path(pod))
    assert fx.ping(pod, "10.251.%d.253" % x)
