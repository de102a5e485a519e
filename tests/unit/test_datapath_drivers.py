"""Datapath drivers with ip_lib faked (no root, no netlink)."""

import errno
import types
from unittest import mock

import pytest
from oslo_config import cfg

from skynet import exceptions
from skynet.linux import ip_lib
from skynet import model
from skynet_drivers.datapath import linuxbridge as lb
from skynet_drivers.datapath import macvlan
from skynet_drivers import opts

NET = "ffff2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PORT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def dp_conf(trunk="trunk0", tunnel="tun0"):
    return types.SimpleNamespace(driver="x", trunk_nic=trunk,
                                 tunnel_nic=tunnel)


def lb_driver(**kw):
    conf = types.SimpleNamespace(vxlan_udp_port=4789, vxlan_local_ip=None,
                                 vxlan_ttl=None, vxlan_tos=None,
                                 vxlan_arp_responder=False)
    return lb.LinuxBridgeDriver(conf, dp_conf(**kw))


def mv_driver(**kw):
    return macvlan.MacvlanDriver(types.SimpleNamespace(mode="bridge"),
                                 dp_conf(**kw))


def net(ntype, seg=None, mtu=1450):
    return model.Network(id=NET, network_type=ntype, mtu=mtu,
                         segmentation_id=seg)


def vif(network):
    return model.VIF(port_id=PORT, mac_address="fa:16:3e:01:02:03",
                     network=network)


OK, UNSUPPORTED, INVALID = None, exceptions.UnsupportedNetwork, \
    exceptions.InvalidConfig


@pytest.mark.parametrize("make,ntype,seg,nics,expected", [
    (lb_driver, "flat", None, {}, OK),
    (lb_driver, "vlan", 100, {}, OK),
    (lb_driver, "vxlan", 1056, {}, OK),
    (lb_driver, "VXLAN", 1056, {}, OK),
    (lb_driver, "geneve", 5, {}, UNSUPPORTED),
    (lb_driver, "local", None, {}, UNSUPPORTED),
    (lb_driver, "vlan", None, {}, UNSUPPORTED),
    (lb_driver, "vlan", 4095, {}, UNSUPPORTED),
    (lb_driver, "vxlan", 2 ** 24, {}, UNSUPPORTED),
    (lb_driver, "flat", None, {"trunk": None}, INVALID),
    (lb_driver, "vlan", 100, {"trunk": None}, INVALID),
    (lb_driver, "vxlan", 1056, {"tunnel": None}, INVALID),
    (lb_driver, "vxlan", 1056, {"trunk": None}, OK),
    (lb_driver, "flat", None, {"tunnel": None}, OK),
    (lb_driver, "flat", None, {"trunk": "x" * 16}, INVALID),
    (mv_driver, "flat", None, {}, OK),
    (mv_driver, "vlan", 100, {}, OK),
    (mv_driver, "vxlan", 1056, {}, UNSUPPORTED),
    (mv_driver, "flat", None, {"trunk": None}, INVALID),
    (mv_driver, "vlan", 100, {"trunk": None}, INVALID),
])
def test_validate_table(make, ntype, seg, nics, expected):
    drv = make(**nics)
    if expected is None:
        drv.validate(net(ntype, seg))
        return
    with pytest.raises(expected) as ei:
        drv.validate(net(ntype, seg))
    if expected is UNSUPPORTED:
        assert NET in str(ei.value)
    if expected is INVALID:
        assert "[datapath] t" in str(ei.value)      # names the option


def test_macvlan_refuses_vxlan_naming_type():
    with pytest.raises(exceptions.UnsupportedNetwork, match="'vxlan'"):
        mv_driver().validate(net("vxlan", 1056))


def test_list_opts_groups_and_registration():
    groups = dict(opts.list_opts())
    assert set(groups) == {"datapath_linuxbridge", "datapath_macvlan",
                           "datapath_openvswitch"}
    conf = cfg.ConfigOpts()
    for group, group_opts in groups.items():
        conf.register_opts(group_opts, group=group)
    conf([])
    assert conf.datapath_linuxbridge.vxlan_udp_port == 4789
    assert conf.datapath_linuxbridge.vxlan_local_ip is None
    assert conf.datapath_macvlan.mode == "bridge"


@pytest.fixture
def fake_ip_lib():
    with mock.patch.object(lb, "ip_lib") as m, \
            mock.patch("skynet_drivers.datapath._common.ip_lib", m):
        m.IFNAMSIZ_MAX = 15
        m.vlan_device_name.side_effect = ip_lib.vlan_device_name
        m.get_link.return_value = {"master_name": None, "up": True}
        m.get_ipv4_address.return_value = None
        yield m


def test_lb_plug_flat_order(fake_ip_lib):
    v = vif(net("flat"))
    lb_driver().plug(v, "/var/run/netns/p", "eth0")
    calls = [c[0] for c in fake_ip_lib.method_calls]
    assert calls.index("ensure_bridge") < calls.index("set_master")
    fake_ip_lib.create_veth_into_netns.assert_called_once_with(
        lb.tap_name(PORT), "/var/run/netns/p", "eth0", "fa:16:3e:01:02:03",
        1450)
    fake_ip_lib.set_master.assert_any_call("trunk0", lb.bridge_name(NET))
    fake_ip_lib.set_master.assert_any_call(lb.tap_name(PORT),
                                           lb.bridge_name(NET))
    assert v.host_ifname == lb.tap_name(PORT)


def test_lb_plug_vlan_fails_before_bridge(fake_ip_lib):
    err = exceptions.DatapathError("no 8021q")
    err.errno = errno.EOPNOTSUPP
    fake_ip_lib.ensure_vlan.side_effect = err
    with pytest.raises(exceptions.DatapathError):
        lb_driver().plug(vif(net("vlan", 100)), "/ns", "eth0")
    fake_ip_lib.ensure_bridge.assert_not_called()
    fake_ip_lib.create_veth_into_netns.assert_not_called()


def test_lb_plug_rolls_back_tap(fake_ip_lib):
    def set_master(dev, br):
        if dev.startswith("tap"):
            raise exceptions.DatapathError("boom")
    fake_ip_lib.set_master.side_effect = set_master
    v = vif(net("flat"))
    with pytest.raises(exceptions.DatapathError, match="boom"):
        lb_driver().plug(v, "/ns", "eth0")
    fake_ip_lib.delete_link.assert_called_once_with(lb.tap_name(PORT))
    assert v.host_ifname is None


def test_lb_refuses_trunk_with_address(fake_ip_lib):
    fake_ip_lib.get_ipv4_address.return_value = "192.0.2.1"
    with pytest.raises(exceptions.DatapathError, match="carries an IPv4"):
        lb_driver().plug(vif(net("flat")), "/ns", "eth0")
    fake_ip_lib.create_veth_into_netns.assert_not_called()


def test_lb_vxlan_local_ip_from_tunnel_nic(fake_ip_lib):
    fake_ip_lib.get_ipv4_address.return_value = "10.251.3.1"
    lb_driver().plug(vif(net("vxlan", 1056)), "/ns", "eth0")
    fake_ip_lib.ensure_vxlan.assert_called_once_with(
        "vxlan-1056", 1056, "10.251.3.1", "tun0", dstport=4789, ttl=None,
        tos=None, proxy=False, mtu=1450)


def test_lb_vxlan_without_local_ip(fake_ip_lib):
    with pytest.raises(exceptions.InvalidConfig, match="vxlan_local_ip"):
        lb_driver().plug(vif(net("vxlan", 1056)), "/ns", "eth0")
    fake_ip_lib.ensure_bridge.assert_not_called()


@pytest.mark.parametrize("tap_deleted,netns,expect_pod_delete", [
    (True, "/ns", False), (False, "/ns", True), (False, "", False)])
def test_lb_unplug(fake_ip_lib, tap_deleted, netns, expect_pod_delete):
    fake_ip_lib.delete_link.side_effect = [tap_deleted, False]
    lb_driver().unplug(vif(net("flat")), netns, "eth0")
    fake_ip_lib.delete_link.assert_any_call(lb.tap_name(PORT))
    assert (mock.call("eth0", netns) in
            fake_ip_lib.delete_link.call_args_list) == expect_pod_delete


def test_iproute_missing_netns_is_container_unknown():
    with mock.patch.object(ip_lib, "IPRoute",
                           side_effect=FileNotFoundError(2, "nope")):
        with pytest.raises(exceptions.ContainerUnknown) as ei:
            ip_lib.link_exists("eth0", "/var/run/netns/gone")
        assert ei.value.code == exceptions.CONTAINER_UNKNOWN
        assert ip_lib.delete_link("eth0", "/var/run/netns/gone") is False
