"""openvswitch datapath driver and skynet.linux.ovs, faked at the boundaries:
the OVSDB (a FakeOvsdb standing in for skynet.linux.ovs.OvsdbClient, and a
FakeApi standing in for ovsdbapp's API), ip_lib and ethtool."""

import subprocess
import sys
import types
from unittest import mock

import pytest

from skynet.drivers import loader
from skynet import exceptions
from skynet.linux import ovs
from skynet import model
from skynet_drivers.datapath import openvswitch as ovsdrv
from skynet_drivers import opts

NET = "ffff2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PORT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
POD = "9c9d3a56-1111-2222-3333-444455556666"
MAC = "fa:16:3e:01:02:03"
TAP = "tap0f1e2d3c-4b"
QBR, QVB, QVO = "qbr0f1e2d3c-4b", "qvb0f1e2d3c-4b", "qvo0f1e2d3c-4b"
OWNED = {"iface-id": PORT, "skynet-owner": "skynet"}


class FakeOvsdb:
    """The OVSDB as OvsdbClient shows it: bridges and interfaces."""

    def __init__(self, bridges=None):
        self.bridges = dict(bridges or {"br-int": "netdev"})
        self.ifaces = {}        # name -> {"bridge":, "external_ids":}
        self.calls = []
        self.fail_add = None

    def require_bridge(self, bridge, hint=None):
        self.calls.append(("require_bridge", bridge))
        if bridge not in self.bridges:
            raise ovs.BridgeNotFound("OVS bridge %s does not exist (%s)"
                                     % (bridge, hint))

    def bridge_datapath_type(self, bridge):
        self.calls.append(("bridge_datapath_type", bridge))
        return self.bridges[bridge]

    def get_interface(self, name):
        i = self.ifaces.get(name)
        return None if i is None else dict(i, name=name)

    def add_port(self, bridge, name, iface_id, mac, vm_uuid=None,
                 external_ids=None):
        self.calls.append(("add_port", bridge, name, iface_id, mac, vm_uuid))
        if self.fail_add:
            raise self.fail_add
        self.ifaces[name] = {"bridge": bridge, "external_ids": {
            "iface-id": iface_id, "attached-mac": mac,
            "iface-status": "active", "vm-uuid": vm_uuid,
            "skynet-owner": "skynet"}}

    def del_port(self, name, owned_only=True):
        self.calls.append(("del_port", name))
        i = self.ifaces.get(name)
        if i is None or (owned_only and not ovs.is_owned(i["external_ids"])):
            return False
        del self.ifaces[name]
        return True


@pytest.fixture
def fake_ovsdb():
    db = FakeOvsdb()
    with mock.patch.object(ovs, "get_client", return_value=db) as gc:
        db.get_client = gc
        yield db


@pytest.fixture
def fake_ip_lib():
    with mock.patch.object(ovsdrv, "ip_lib") as m:
        m.delete_link.return_value = True
        m.get_link.return_value = None
        yield m


@pytest.fixture
def fake_ethtool():
    with mock.patch.object(ovsdrv, "ethtool") as m:
        yield m


def driver(bridge="br-int", connection=ovs.DEFAULT_CONNECTION):
    conf = types.SimpleNamespace(ovsdb_connection=connection,
                                 integration_bridge=bridge, ovsdb_timeout=3)
    return ovsdrv.OpenVSwitchDriver(conf, types.SimpleNamespace(
        driver="openvswitch", trunk_nic=None, tunnel_nic=None))


def net(ntype="vxlan", seg=1056):
    return model.Network(id=NET, network_type=ntype, mtu=1450,
                         segmentation_id=seg)


def vif(vif_type="ovs", **details):
    d = {"connectivity": "l2", "port_filter": True,
         "ovs_hybrid_plug": False, "datapath_type": "netdev",
         "bridge_name": "br-int"}
    d.update(details)
    d = {k: v for k, v in d.items() if v is not None}
    return model.VIF(port_id=PORT, mac_address=MAC, network=net(),
                     device_id=POD, binding_host="node-ovs",
                     vif_type=vif_type, vif_details=d)


# ------------------------------------------------------------------ names

def test_names_follow_os_vif():
    assert ovsdrv.tap_name(PORT) == TAP
    assert ovsdrv.hybrid_names(PORT) == (QBR, QVB, QVO)
    assert all(len(n) <= 15 for n in (TAP, QBR, QVB, QVO))


# ------------------------------------------------------------------ validate

@pytest.mark.parametrize("ntype,seg", [("flat", None), ("vlan", 100),
                                       ("vxlan", 1056), ("geneve", 5),
                                       ("GENEVE", 5), ("gre", 9)])
def test_validate_accepts_what_an_agent_can_bind(fake_ovsdb, ntype, seg):
    driver().validate(net(ntype, seg))
    assert ("require_bridge", "br-int") in fake_ovsdb.calls


@pytest.mark.parametrize("ntype,seg", [("vlan", None), ("vlan", 4095),
                                       ("macvtap", None)])
def test_validate_refuses_bad_segments(fake_ovsdb, ntype, seg):
    with pytest.raises(exceptions.UnsupportedNetwork):
        driver().validate(net(ntype, seg))


def test_validate_bridge_missing_names_it_and_the_option(fake_ovsdb):
    with pytest.raises(ovs.BridgeNotFound) as ei:
        driver(bridge="br-gone").validate(net())
    assert "br-gone" in ei.value.msg
    assert "integration_bridge" in ei.value.msg
    assert ei.value.code == exceptions.DATAPATH_FAILURE


def test_validate_ovsdb_unreachable_is_clear_and_quick():
    ovs.reset_clients()
    with pytest.raises(ovs.OvsdbUnavailable) as ei:
        driver(connection="unix:/nonexistent/db.sock").validate(net())
    msg = ei.value.msg
    assert "ovsdb-server is not reachable at unix:/nonexistent/db.sock" in msg
    assert "No such file or directory" in msg
    assert "[datapath_openvswitch] ovsdb_connection" in msg
    assert ei.value.code == exceptions.DATAPATH_FAILURE


def test_probe_tcp_refused():
    with pytest.raises(ovs.OvsdbUnavailable) as ei:
        ovs._probe("tcp:127.0.0.1:9", 1)
    assert "Connection refused" in ei.value.msg


def test_is_alive_false_without_ovsdb():
    ovs.reset_clients()
    assert driver(connection="unix:/nonexistent/db.sock").is_alive() is False


# ------------------------------------------------------------------ plug

@pytest.mark.parametrize("vif_type,needles", [
    ("binding_failed", ["binding_failed", "'node-ovs'", PORT, "node_name"]),
    ("unbound", ["not bound", "unbound"]),
    (None, ["not bound"]),
    ("bridge", ["'bridge'", "needs 'ovs'"]),
])
def test_plug_refuses_unusable_binding_before_touching_anything(
        fake_ovsdb, fake_ip_lib, fake_ethtool, vif_type, needles):
    with pytest.raises(exceptions.DatapathError) as ei:
        driver().plug(vif(vif_type), "/var/run/netns/p", "eth0")
    for needle in needles:
        assert needle in ei.value.msg
    assert fake_ovsdb.calls == []
    assert fake_ip_lib.mock_calls == []


def test_plug_ml2ovs_netdev(fake_ovsdb, fake_ip_lib, fake_ethtool):
    v = vif()
    driver(bridge="ignored").plug(v, "/var/run/netns/p", "eth0")
    assert v.host_ifname == TAP
    fake_ip_lib.create_veth_into_netns.assert_called_once_with(
        TAP, "/var/run/netns/p", "eth0", MAC, 1450)
    fake_ethtool.set_tx_checksum.assert_called_once_with(
        "/var/run/netns/p", "eth0", False)
    # vif_details.bridge_name wins over the configured bridge
    assert ("add_port", "br-int", TAP, PORT, MAC, POD) in fake_ovsdb.calls
    assert fake_ovsdb.ifaces[TAP]["external_ids"]["skynet-owner"] == "skynet"
    # datapath_type given by Neutron: no need to ask the bridge
    assert not any(c[0] == "bridge_datapath_type" for c in fake_ovsdb.calls)
    fake_ip_lib.ensure_bridge.assert_not_called()


def test_plug_ovn_uses_configured_bridge_and_its_datapath_type(
        fake_ovsdb, fake_ip_lib, fake_ethtool):
    fake_ovsdb.bridges["br-ovn"] = "netdev"
    v = vif(bridge_name=None, datapath_type=None, ovs_hybrid_plug=None)
    driver(bridge="br-ovn").plug(v, "/ns", "eth0")
    assert ("bridge_datapath_type", "br-ovn") in fake_ovsdb.calls
    assert fake_ovsdb.ifaces[TAP]["bridge"] == "br-ovn"
    fake_ethtool.set_tx_checksum.assert_called_once_with("/ns", "eth0", False)


def test_plug_kernel_datapath_leaves_tx_checksum(fake_ovsdb, fake_ip_lib,
                                                 fake_ethtool):
    fake_ovsdb.bridges["br-int"] = ""
    driver().plug(vif(datapath_type="system"), "/ns", "eth0")
    fake_ethtool.set_tx_checksum.assert_not_called()


def test_plug_never_sets_a_vlan_tag(fake_ovsdb, fake_ip_lib, fake_ethtool):
    v = vif()
    v.network = net("vlan", 100)
    driver().plug(v, "/ns", "eth0")
    assert all("tag" not in str(c) for c in fake_ovsdb.calls)


def test_plug_hybrid(fake_ovsdb, fake_ip_lib, fake_ethtool):
    v = vif(ovs_hybrid_plug=True)
    driver().plug(v, "/ns", "eth0")
    ipl = fake_ip_lib
    ipl.ensure_bridge.assert_called_once_with(QBR, mtu=1450)
    assert ipl.create_veth_into_netns.call_args_list == [
        mock.call(TAP, "/ns", "eth0", MAC, 1450),
        mock.call(QVB, ovsdrv.HOST_NETNS, QVO, None, 1450)]
    ipl.set_link_up.assert_called_once_with(QVO)
    assert ipl.set_master.call_args_list == [mock.call(QVB, QBR),
                                             mock.call(TAP, QBR)]
    assert list(fake_ovsdb.ifaces) == [QVO]
    assert v.host_ifname == TAP


def test_plug_hybrid_string_flag(fake_ovsdb, fake_ip_lib, fake_ethtool):
    driver().plug(vif(ovs_hybrid_plug="True"), "/ns", "eth0")
    assert list(fake_ovsdb.ifaces) == [QVO]


def test_plug_bridge_from_neutron_missing(fake_ovsdb, fake_ip_lib,
                                          fake_ethtool):
    with pytest.raises(ovs.BridgeNotFound) as ei:
        driver().plug(vif(bridge_name="br-nope"), "/ns", "eth0")
    assert "br-nope" in ei.value.msg
    fake_ip_lib.create_veth_into_netns.assert_not_called()


def test_plug_refuses_foreign_port_of_that_name(fake_ovsdb, fake_ip_lib,
                                                fake_ethtool):
    fake_ovsdb.ifaces[TAP] = {"bridge": "br-int",
                              "external_ids": {"iface-id": "x"}}
    with pytest.raises(ovs.PortNotOwned) as ei:
        driver().plug(vif(), "/ns", "eth0")
    assert TAP in ei.value.msg
    # not even the leftover-link cleanup of create_veth_into_netns ran
    fake_ip_lib.create_veth_into_netns.assert_not_called()
    assert fake_ovsdb.ifaces[TAP]["external_ids"] == {"iface-id": "x"}


@pytest.mark.parametrize("failing", ["ethtool", "add_port"])
def test_plug_rolls_back_link_on_failure(fake_ovsdb, fake_ip_lib,
                                         fake_ethtool, failing):
    err = exceptions.DatapathError("boom")
    if failing == "ethtool":
        fake_ethtool.set_tx_checksum.side_effect = err
    else:
        fake_ovsdb.fail_add = err
    with pytest.raises(exceptions.DatapathError):
        driver().plug(vif(), "/ns", "eth0")
    fake_ip_lib.delete_link.assert_called_once_with(TAP)
    assert fake_ovsdb.ifaces == {}


def test_plug_hybrid_rolls_back_everything(fake_ovsdb, fake_ip_lib,
                                           fake_ethtool):
    fake_ovsdb.fail_add = exceptions.DatapathError("vswitchd says no")
    with pytest.raises(exceptions.DatapathError):
        driver().plug(vif(ovs_hybrid_plug=True), "/ns", "eth0")
    assert fake_ip_lib.delete_link.call_args_list == [
        mock.call(QVB), mock.call(QBR), mock.call(TAP)]


# ------------------------------------------------------------------ unplug

def test_unplug_removes_owned_port_then_link_and_is_idempotent(
        fake_ovsdb, fake_ip_lib):
    fake_ovsdb.ifaces[TAP] = {"bridge": "br-int", "external_ids": OWNED}
    v = vif()
    driver().unplug(v, "/ns", "eth0")
    assert ("del_port", TAP) in fake_ovsdb.calls
    assert TAP not in fake_ovsdb.ifaces
    fake_ip_lib.delete_link.assert_any_call(TAP)
    fake_ip_lib.delete_link.return_value = False
    fake_ovsdb.calls.clear()
    driver().unplug(v, "/ns", "eth0")       # again: nothing there
    assert ("del_port", TAP) not in fake_ovsdb.calls
    fake_ip_lib.delete_link.assert_any_call("eth0", "/ns")


def test_unplug_never_touches_a_foreign_port(fake_ovsdb, fake_ip_lib):
    fake_ovsdb.ifaces[TAP] = {"bridge": "br-int",
                              "external_ids": {"iface-id": PORT}}
    driver().unplug(vif(), "/ns", "eth0")
    assert TAP in fake_ovsdb.ifaces
    assert ("del_port", TAP) not in fake_ovsdb.calls
    assert mock.call(TAP) not in fake_ip_lib.delete_link.call_args_list


def test_unplug_hybrid_without_vif_details(fake_ovsdb, fake_ip_lib):
    """A VIF from Neutron after a restart: vif_details may be empty."""
    fake_ovsdb.ifaces[QVO] = {"bridge": "br-int", "external_ids": OWNED}
    fake_ip_lib.get_link.return_value = {"kind": "bridge"}
    v = vif()
    v.vif_details = {}
    driver().unplug(v, None, "eth0")
    assert QVO not in fake_ovsdb.ifaces
    for dev in (TAP, QVO, QBR):
        fake_ip_lib.delete_link.assert_any_call(dev)


def test_unplug_without_ovsdb_still_removes_links(fake_ip_lib):
    ovs.reset_clients()
    drv = driver(connection="unix:/nonexistent/db.sock")
    drv.unplug(vif(), "/ns", "eth0")
    fake_ip_lib.delete_link.assert_any_call(TAP)


# ------------------------------------------------------------------ check

def test_check(fake_ovsdb, fake_ip_lib):
    fake_ip_lib.get_link.return_value = {"up": True}
    fake_ovsdb.ifaces[TAP] = {"bridge": "br-int", "external_ids": {
        "iface-id": PORT, "attached-mac": MAC}}
    v = vif()
    driver().check(v, "/ns", "eth0")
    fake_ovsdb.ifaces[TAP]["bridge"] = "br-other"
    with pytest.raises(exceptions.CheckFailed, match="br-other"):
        driver().check(v, "/ns", "eth0")
    fake_ovsdb.ifaces[TAP]["bridge"] = "br-int"
    fake_ovsdb.ifaces[TAP]["external_ids"]["iface-id"] = "other"
    with pytest.raises(exceptions.CheckFailed, match="iface-id"):
        driver().check(v, "/ns", "eth0")
    del fake_ovsdb.ifaces[TAP]
    with pytest.raises(exceptions.CheckFailed, match="missing"):
        driver().check(v, "/ns", "eth0")
    fake_ip_lib.get_link.return_value = None
    with pytest.raises(exceptions.CheckFailed, match="host interface"):
        driver().check(v, "/ns", "eth0")


# ------------------------------------------------------------------ ovs.py

class FakeCommand:
    def __init__(self, api, name, *args, **kwargs):
        self.api, self.name, self.args, self.kwargs = api, name, args, kwargs

    def execute(self, check_error=False, log_errors=True):
        return self.api.results.get(self.name)


class FakeTxn:
    def __init__(self, api):
        self.api = api
        self.commands = []

    def add(self, command):
        self.commands.append(command)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.api.transactions.append(
                [(c.name, c.args, c.kwargs) for c in self.commands])
            if self.api.commit_error:
                raise self.api.commit_error


class FakeApi:
    """The slice of ovsdbapp's Open_vSwitch API that skynet.linux.ovs uses."""

    def __init__(self):
        self.transactions = []
        self.results = {}
        self.commit_error = None

    def transaction(self, check_error=False):
        assert check_error
        return FakeTxn(self)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **kw: FakeCommand(self, name, *a, **kw)


def client_with(api):
    c = ovs.OvsdbClient("unix:/x", 3)
    c.api = api
    return c


def test_add_port_one_transaction_may_exist_and_external_ids():
    api = FakeApi()
    state = {"n": 0}

    def db_list_result():
        state["n"] += 1
        return [] if state["n"] == 1 else [
            {"name": TAP, "external_ids": {}, "ofport": 3, "error": []}]
    api.results = {"port_to_br": "br-int"}
    with mock.patch.object(FakeCommand, "execute", autospec=True) as ex:
        ex.side_effect = lambda cmd, **kw: (
            db_list_result() if cmd.name == "db_list"
            else api.results.get(cmd.name))
        client_with(api).add_port("br-int", TAP, PORT, MAC, vm_uuid=POD)
    assert len(api.transactions) == 1
    (add, add_args, add_kw), (dbset, set_args, _) = api.transactions[0]
    assert (add, add_args, add_kw) == ("add_port", ("br-int", TAP),
                                       {"may_exist": True})
    assert dbset == "db_set" and set_args[:2] == ("Interface", TAP)
    assert set_args[2] == ("external_ids", {
        "iface-id": PORT, "iface-status": "active", "attached-mac": MAC,
        "vm-uuid": POD, "skynet-owner": "skynet"})


def test_add_port_ofport_minus_one_is_an_error():
    api = FakeApi()
    rows = iter([[], [{"name": TAP, "external_ids": {}, "ofport": -1,
                       "error": "could not open network device tapX"}]])
    with mock.patch.object(FakeCommand, "execute", autospec=True) as ex:
        ex.side_effect = lambda cmd, **kw: (
            next(rows) if cmd.name == "db_list" else "br-int")
        with pytest.raises(exceptions.DatapathError,
                           match="could not open network device"):
            client_with(api).add_port("br-int", TAP, PORT, MAC)


def test_add_port_refuses_foreign_and_commit_errors_are_datapath_errors():
    api = FakeApi()
    api.results = {"db_list": [{"name": TAP, "external_ids": {"a": "b"}}],
                   "port_to_br": "br-x"}
    with pytest.raises(ovs.PortNotOwned, match="br-x"):
        client_with(api).add_port("br-int", TAP, PORT, MAC)
    assert api.transactions == []
    api.results = {"db_list": []}
    api.commit_error = RuntimeError("Cannot find Bridge with name=br-int")
    with pytest.raises(exceptions.DatapathError, match="add port"):
        client_with(api).add_port("br-int", TAP, PORT, MAC)


def test_del_port_owned_only():
    api = FakeApi()
    api.results = {"db_list": [{"name": TAP, "external_ids": {"x": "y"}}],
                   "port_to_br": "br-int"}
    c = client_with(api)
    assert c.del_port(TAP) is False
    assert api.transactions == []
    api.results["db_list"][0]["external_ids"] = dict(OWNED)
    assert c.del_port(TAP) is True
    assert api.transactions == [[("del_port", (TAP,), {"if_exists": True})]]
    api.results = {"db_list": []}
    assert c.del_port(TAP) is False


def test_execute_maps_timeouts():
    class TimeoutException(Exception):
        pass

    api = FakeApi()
    with mock.patch.object(FakeCommand, "execute",
                           side_effect=TimeoutException()):
        with pytest.raises(exceptions.DatapathError, match="no answer"):
            client_with(api).bridge_exists("br-int")


# ------------------------------------------------------------------ wiring

def test_entry_point_loads_with_its_option_group():
    from oslo_config import cfg
    from oslo_config import fixture as cfg_fixture
    conf = cfg.ConfigOpts()
    fix = cfg_fixture.Config(conf)
    fix.setUp()
    try:
        from skynet import conf as skynet_conf
        skynet_conf.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override("driver", "openvswitch", group="datapath")
        loader.reset_cache()
        drv = loader.get_datapath_driver(conf)
        assert isinstance(drv, ovsdrv.OpenVSwitchDriver)
        assert drv.conf.integration_bridge == "br-int"
        assert drv.conf.ovsdb_connection == \
            "unix:/var/run/openvswitch/db.sock"
    finally:
        loader.reset_cache()
        fix.cleanUp()


def test_list_opts_has_openvswitch_group():
    groups = dict(opts.list_opts())
    names = {o.name for o in groups["datapath_openvswitch"]}
    assert names == {"ovsdb_connection", "integration_bridge",
                     "ovsdb_timeout"}


def test_ovsdbapp_imported_lazily():
    """Loading the driver (every verb does) must not import ovsdbapp."""
    code = ("import sys; import skynet_drivers.datapath.openvswitch; "
            "print('ovsdbapp' in sys.modules, 'ovs' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "False"]
