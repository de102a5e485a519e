"""openvswitch datapath + skynet.linux.ovs against a real ovsdb-server (root).

Uses the node's Open vSwitch when ovsdb-server answers at
unix:/var/run/openvswitch/db.sock (e.g. the lab's, ``tools/lab/ovs.sh up``);
otherwise, when the openvswitch-switch binaries are installed, starts a
private ovsdb-server + ovs-vswitchd (userspace datapath) for this module.
Every test makes its own bridge ``skt-<hex>`` with datapath_type=netdev and
no controller (a learning switch), and its own pod netns; all removed after.

``ovs-vsctl`` is used here to set up and inspect (test code); skynet's own
code talks OVSDB only through ovsdbapp.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
import uuid

import pytest

from skynet import exceptions
from skynet.linux import ethtool
from skynet.linux import ip_lib
from skynet.linux import ovs
from skynet import model
from skynet_drivers.datapath import openvswitch as ovsdrv
from tests.functional import datapath_fixtures as fx

pytestmark = fx.requires_root

SYSTEM_DB = ovs.DEFAULT_CONNECTION


def _answers(connection):
    path = connection.split(":", 1)[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def ovsdb():
    """The OVSDB connection string of a running ovsdb-server + vswitchd."""
    if _answers(SYSTEM_DB):
        yield SYSTEM_DB
        ovs.reset_clients()
        return
    if not (shutil.which("ovsdb-server") and shutil.which("ovs-vswitchd")):
        msg = ("Open vSwitch is not installed (apt-get install "
               "openvswitch-switch, or LAB_OVS=1 tox -e lab)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    tmp = tempfile.mkdtemp(prefix="skt-ovs-")
    db, sock = os.path.join(tmp, "conf.db"), os.path.join(tmp, "db.sock")
    subprocess.run(["ovsdb-tool", "create", db,
                    "/usr/share/openvswitch/vswitch.ovsschema"], check=True)
    procs = [subprocess.Popen(
        ["ovsdb-server", db, "--remote=punix:" + sock,
         "--unixctl=" + os.path.join(tmp, "ovsdb.ctl"),
         "--log-file=" + os.path.join(tmp, "ovsdb.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)]
    fx_wait(lambda: os.path.exists(sock), "ovsdb-server socket")
    subprocess.run(["ovs-vsctl", "--db=unix:" + sock, "--no-wait", "init"],
                   check=True)
    procs.append(subprocess.Popen(
        ["ovs-vswitchd", "unix:" + sock,
         "--unixctl=" + os.path.join(tmp, "vswitchd.ctl"),
         "--log-file=" + os.path.join(tmp, "vswitchd.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL))
    try:
        yield "unix:" + sock
    finally:
        ovs.reset_clients()
        for p in reversed(procs):
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def fx_wait(pred, what, timeout=20):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def vsctl(db, *args, check=True):
    res = subprocess.run(("ovs-vsctl", "--timeout=10", "--db=" + db) + args,
                         capture_output=True, text=True)
    if check and res.returncode:
        raise AssertionError("ovs-vsctl %s: %s" % (" ".join(args),
                                                   res.stderr))
    return res


def iface_ids(db, name):
    res = vsctl(db, "--format=json", "--columns=external_ids", "list",
                "Interface", name, check=False)
    if res.returncode:
        return None
    data = json.loads(res.stdout)["data"]
    return dict(data[0][0][1]) if data else None


def port_bridge(db, name):
    res = vsctl(db, "port-to-br", name, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


@pytest.fixture
def bridge(ovsdb):
    name = "skt-" + fx.rand_hex(8)
    vsctl(ovsdb, "add-br", name, "--", "set", "Bridge", name,
          "datapath_type=netdev")
    yield name
    vsctl(ovsdb, "--if-exists", "del-br", name)


@pytest.fixture
def world(request):
    w = fx.World()
    request.addfinalizer(w.cleanup)
    return w


def driver(ovsdb, bridge="br-int"):
    conf = types.SimpleNamespace(ovsdb_connection=ovsdb,
                                 integration_bridge=bridge, ovsdb_timeout=10)
    return ovsdrv.OpenVSwitchDriver(conf, fx.datapath_conf())


def make_vif(bridge, v4, datapath_type="netdev", hybrid=False,
             with_bridge_name=True):
    details = {"connectivity": "l2", "port_filter": True,
               "ovs_hybrid_plug": hybrid}
    if with_bridge_name:
        details["bridge_name"] = bridge
    if datapath_type:
        details["datapath_type"] = datapath_type
    network = model.Network(id=fx.net_id(), network_type="vxlan", mtu=1450,
                            segmentation_id=1234)
    vif = fx.make_vif(network, v4)
    vif.vif_type = "ovs"
    vif.vif_details = details
    vif.device_id = str(uuid.uuid4())
    vif.binding_host = "node-ovs"
    return vif


@pytest.fixture
def cleanup_vifs(request, ovsdb):
    made = []

    def fin():
        for vif in made:
            for name in ("tap", "qvo", "qvb", "qbr"):
                dev = name + vif.port_id[:11]
                vsctl(ovsdb, "--if-exists", "del-port", dev, check=False)
                fx.ip("link", "del", dev, check=False)
    request.addfinalizer(fin)
    return made


def links(*names):
    return {n for n in names if ip_lib.get_link(n) is not None}


def test_plug_sets_external_ids_and_unplug_twice(ovsdb, bridge, world,
                                                 cleanup_vifs):
    drv = driver(ovsdb, bridge)
    pod = world.netns()
    vif = make_vif(bridge, "10.252.0.10/24")
    cleanup_vifs.append(vif)
    drv.plug(vif, fx.netns_path(pod), "eth0")
    tap = "tap" + vif.port_id[:11]
    assert vif.host_ifname == tap
    assert port_bridge(ovsdb, tap) == bridge
    assert iface_ids(ovsdb, tap) == {
        "iface-id": vif.port_id, "attached-mac": vif.mac_address,
        "iface-status": "active", "vm-uuid": vif.device_id,
        "skynet-owner": "skynet"}
    # never a hand-set VLAN tag
    assert vsctl(ovsdb, "get", "Port", tap, "tag").stdout.strip() == "[]"
    # the pod end: MAC, MTU, TX checksum offload off (netdev)
    info = ip_lib.container_link_info(fx.netns_path(pod), "eth0")
    assert info["mac"] == vif.mac_address and info["mtu"] == 1450
    assert ethtool.get_tx_checksum(fx.netns_path(pod), "eth0") is False
    drv.check(vif, fx.netns_path(pod), "eth0")

    drv.unplug(vif, fx.netns_path(pod), "eth0")
    assert port_bridge(ovsdb, tap) is None and iface_ids(ovsdb, tap) is None
    assert not links(tap)
    assert "eth0" not in {lk["ifname"] for lk in
                          fx.ip_json("-n", pod, "link", "show")}
    drv.unplug(vif, fx.netns_path(pod), "eth0")         # second: no-op
    with pytest.raises(exceptions.CheckFailed):
        drv.check(vif, fx.netns_path(pod), "eth0")


def test_datapath_type_read_from_bridge_when_neutron_gives_none(
        ovsdb, bridge, world, cleanup_vifs):
    """OVN's vif_details have no bridge_name/datapath_type: the configured
    integration bridge is used and its own datapath_type decides."""
    drv = driver(ovsdb, bridge)
    pod = world.netns()
    vif = make_vif(bridge, "10.252.0.11/24", datapath_type=None,
                   with_bridge_name=False)
    cleanup_vifs.append(vif)
    drv.plug(vif, fx.netns_path(pod), "eth0")
    assert port_bridge(ovsdb, vif.host_ifname) == bridge
    assert ethtool.get_tx_checksum(fx.netns_path(pod), "eth0") is False
    drv.unplug(vif, fx.netns_path(pod), "eth0")


def test_system_datapath_keeps_tx_checksum(ovsdb, bridge, world,
                                           cleanup_vifs):
    drv = driver(ovsdb, bridge)
    pod = world.netns()
    vif = make_vif(bridge, "10.252.0.12/24", datapath_type="system")
    cleanup_vifs.append(vif)
    drv.plug(vif, fx.netns_path(pod), "eth0")
    assert ethtool.get_tx_checksum(fx.netns_path(pod), "eth0") is True
    drv.unplug(vif, fx.netns_path(pod), "eth0")


def _tcp_ok(client_ns, server_ns, addr, port=8080):
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, sys.executable, "-c",
         "import socket; s=socket.socket(); "
         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
         "s.bind((%r, %d)); s.listen(1); c,_=s.accept(); "
         "c.sendall(c.recv(100000)[:10]); c.close()" % (addr, port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = ("import socket,sys,time\n"
                "for i in range(50):\n"
                "    try:\n"
                "        s=socket.create_connection((%r,%d),timeout=3); break\n"
                "    except OSError: time.sleep(0.1)\n"
                "s.sendall(b'x'*20000); sys.exit(0 if s.recv(10)==b'x'*10 "
                "else 1)" % (addr, port))
        res = fx.netns_exec(client_ns, sys.executable, "-c", code,
                            timeout=30)
        return res.returncode == 0
    finally:
        server.kill()
        server.wait()


def test_two_pods_ping_and_tcp_through_netdev_bridge(ovsdb, bridge, world,
                                                     cleanup_vifs):
    """Through a real userspace-datapath bridge (learning switch): ARP,
    ICMP and TCP (the latter needs TX checksum offload off)."""
    drv = driver(ovsdb, bridge)
    vsctl(ovsdb, "set-fail-mode", bridge, "standalone")
    x = random.randint(1, 250)
    a, b = world.netns(), world.netns()
    va = make_vif(bridge, "10.253.%d.10/24" % x)
    vb = make_vif(bridge, "10.253.%d.11/24" % x)
    vb.network = va.network
    cleanup_vifs.extend([va, vb])
    for ns, vif in ((a, va), (b, vb)):
        drv.plug(vif, fx.netns_path(ns), "eth0")
        ip_lib.configure_container(fx.netns_path(ns), "eth0", vif)
    assert fx.ping(a, "10.253.%d.11" % x, tries=5)
    assert _tcp_ok(a, b, "10.253.%d.11" % x)
    for ns, vif in ((a, va), (b, vb)):
        drv.unplug(vif, fx.netns_path(ns), "eth0")


def test_hybrid_plug_qbr_qvb_qvo(ovsdb, bridge, world, cleanup_vifs):
    drv = driver(ovsdb, bridge)
    pod = world.netns()
    vif = make_vif(bridge, "10.252.0.13/24", hybrid=True)
    cleanup_vifs.append(vif)
    drv.plug(vif, fx.netns_path(pod), "eth0")
    qbr, qvb, qvo = ovsdrv.hybrid_names(vif.port_id)
    tap = "tap" + vif.port_id[:11]
    assert ip_lib.get_link(qbr)["kind"] == "bridge"
    assert ip_lib.get_link(tap)["master_name"] == qbr
    assert ip_lib.get_link(qvb)["master_name"] == qbr
    assert ip_lib.get_link(qvo)["up"]
    assert port_bridge(ovsdb, qvo) == bridge
    assert port_bridge(ovsdb, tap) is None
    assert iface_ids(ovsdb, qvo)["iface-id"] == vif.port_id
    drv.check(vif, fx.netns_path(pod), "eth0")
    drv.unplug(vif, fx.netns_path(pod), "eth0")
    assert not links(qbr, qvb, qvo, tap)
    assert port_bridge(ovsdb, qvo) is None
    drv.unplug(vif, fx.netns_path(pod), "eth0")


def test_port_not_made_by_skynet_is_never_touched(ovsdb, bridge, world,
                                                  cleanup_vifs):
    drv = driver(ovsdb, bridge)
    pod = world.netns()
    vif = make_vif(bridge, "10.252.0.14/24")
    cleanup_vifs.append(vif)
    tap = "tap" + vif.port_id[:11]
    # someone else's port with the name skynet would use (an internal port:
    # a device that exists without skynet)
    vsctl(ovsdb, "add-port", bridge, tap, "--", "set", "Interface", tap,
          "type=internal", "external_ids:iface-id=someone-else")
    fx_wait(lambda: ip_lib.get_link(tap) is not None, "internal port " + tap)
    with pytest.raises(ovs.PortNotOwned) as ei:
        drv.plug(vif, fx.netns_path(pod), "eth0")
    assert tap in str(ei.value) and "not made by skynet" in str(ei.value)
    drv.unplug(vif, fx.netns_path(pod), "eth0")
    assert port_bridge(ovsdb, tap) == bridge
    assert iface_ids(ovsdb, tap) == {"iface-id": "someone-else"}
    assert links(tap)                              # its device too
    assert "eth0" not in {lk["ifname"] for lk in
                          fx.ip_json("-n", pod, "link", "show")}
    client = ovs.get_client(ovsdb)
    assert client.del_port(tap) is False
    assert port_bridge(ovsdb, tap) == bridge


def test_validate_bridge_missing_and_ovsdb_unreachable(ovsdb):
    net = model.Network(id=fx.net_id(), network_type="vxlan", mtu=1450,
                        segmentation_id=7)
    with pytest.raises(ovs.BridgeNotFound) as ei:
        driver(ovsdb, "skt-nobridge").validate(net)
    assert "skt-nobridge" in str(ei.value)
    start = time.monotonic()
    with pytest.raises(ovs.OvsdbUnavailable) as ei:
        driver("unix:/nonexistent/db.sock").validate(net)
    assert time.monotonic() - start < 5
    assert "not reachable at unix:/nonexistent/db.sock" in str(ei.value)
    with pytest.raises(ovs.OvsdbUnavailable):
        driver("tcp:127.0.0.1:9").validate(net)


def test_plug_to_missing_bridge_leaves_nothing(ovsdb, world, cleanup_vifs):
    drv = driver(ovsdb, "br-int")
    pod = world.netns()
    vif = make_vif("skt-gone", "10.252.0.15/24")
    cleanup_vifs.append(vif)
    with pytest.raises(ovs.BridgeNotFound):
        drv.plug(vif, fx.netns_path(pod), "eth0")
    assert not links("tap" + vif.port_id[:11])
    assert fx.ip_json("-n", pod, "link", "show", "eth0") == []
