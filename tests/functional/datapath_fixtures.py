"""Helpers for the datapath functional tests (root only).

Every test builds its own little world of network namespaces, all named
``skt-<random>`` and removed by finalizers:

* a *node* netns standing in for the Kubernetes node: the driver's "host"
  side (brq*, vxlan-*, tap*) lives there, so a real
  neutron-linuxbridge-agent on this machine never sees the test devices,
  and every address the tests use is inside a namespace they created;
* a *phys* netns: a host on the physical network, the peer of the node's
  trunk veth;
* a *remote* netns: a remote VTEP behind the node's tunnel veth;
* one netns per pod.

Driver code runs in a forked child that setns()es into the node netns
(``in_node``): tests may switch namespaces, product code never does.
"""

import json
import multiprocessing
import os
import random
import subprocess
import traceback
import types
import uuid

import pytest

from skynet import model

NETNS_DIR = "/var/run/netns"

requires_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="functional datapath tests need root")


def rand_hex(n=6):
    return "%0*x" % (n, random.getrandbits(4 * n))


def ip(*args, check=True):
    """``ip`` in tests only (product code uses pyroute2)."""
    res = subprocess.run(("ip",) + args, capture_output=True, text=True)
    if check and res.returncode:
        raise AssertionError("ip %s: %s" % (" ".join(args), res.stderr))
    return res


def ip_json(*args):
    res = ip("-j", *args, check=False)
    if res.returncode or not res.stdout.strip():
        return []
    return json.loads(res.stdout)


def netns_exec(ns, *cmd, check=False, timeout=20):
    return subprocess.run(("ip", "netns", "exec", ns) + cmd,
                          capture_output=True, text=True, timeout=timeout,
                          check=check)


def ping(ns, addr, count=1, wait=2, tries=3):
    """True if ``addr`` answers from netns ``ns`` (a few tries: ARP/ND)."""
    for _ in range(tries):
        res = netns_exec(ns, "ping", "-c", str(count), "-W", str(wait), addr)
        if res.returncode == 0:
            return True
    return False


def netns_path(name):
    return os.path.join(NETNS_DIR, name)


class World:
    """Namespaces and links of one test; ``cleanup()`` removes them all."""

    def __init__(self):
        self.namespaces = []

    def netns(self, prefix="skt-"):
        name = prefix + rand_hex(8)
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, ns_a, name_a, ns_b, name_b, mtu=1500):
        """veth ``name_a``@ns_a <-> ``name_b``@ns_b, both up."""
        ip("link", "add", name_a, "netns", ns_a, "mtu", str(mtu), "type",
           "veth", "peer", "name", name_b, "mtu", str(mtu), "netns", ns_b)
        ip("-n", ns_a, "link", "set", name_a, "up")
        ip("-n", ns_b, "link", "set", name_b, "up")

    def cleanup(self):
        # deleting a netns deletes its devices (and veth peers elsewhere)
        for name in reversed(self.namespaces):
            ip("netns", "del", name, check=False)
        self.namespaces = []


# ------------------------------------------------------------- node child

def _child(conn, node, func, args, kwargs):
    try:
        from pyroute2 import netns as pr_netns
        pr_netns.setns(netns_path(node), flags=0)
        result = func(*args, **kwargs)
        conn.send(("ok", result))
    except BaseException as e:      # noqa: B902 - report everything
        # skynet exceptions do not all unpickle (InvalidConfig's signature):
        # send class, message and errno, rebuild in the parent
        conn.send(("err", type(e), str(e), getattr(e, "errno", None),
                   traceback.format_exc()))
    finally:
        conn.close()


def start_in_node(node, func, *args, **kwargs):
    """Start ``func`` in a forked child inside netns ``node``."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, node, func, args, kwargs))
    proc.start()
    child.close()
    return proc, parent


def join_in_node(handle, timeout=60):
    proc, conn = handle
    if not conn.poll(timeout):
        proc.kill()
        raise AssertionError("child in node netns timed out")
    msg = conn.recv()
    proc.join(timeout)
    if msg[0] == "ok":
        return msg[1]
    _, cls, text, err, tb = msg
    exc = cls.__new__(cls)
    Exception.__init__(exc, text)
    exc.msg = text
    exc.errno = err
    exc.child_traceback = tb
    raise exc


def in_node(node, func, *args, **kwargs):
    """Run ``func(*args, **kwargs)`` inside netns ``node``; return/raise."""
    return join_in_node(start_in_node(node, func, *args, **kwargs))


def plug_pod(drv, vif, pod_path, ifname="eth0"):
    """What the core does on ADD: the driver's plug, then addresses/routes."""
    from skynet.linux import ip_lib
    drv.plug(vif, pod_path, ifname)
    ip_lib.configure_container(pod_path, ifname, vif)
    return vif.host_ifname


# ------------------------------------------------------------- model

def net_id():
    # "ffff" prefix: recognisable test networks (brqffff...)
    return "ffff" + str(uuid.uuid4())[4:]


def port_id():
    return "ffff" + str(uuid.uuid4())[4:]


def port_mac():
    return "fa:16:3e:%02x:%02x:%02x" % tuple(random.getrandbits(8)
                                             for _ in range(3))


def make_vif(network, v4, v6=None, routes=(), mac=None):
    ips = [model.IPConfig(v4)]
    if v6:
        ips.append(model.IPConfig(v6))
    return model.VIF(port_id=port_id(), mac_address=mac or port_mac(),
                     network=network, ips=ips, routes=list(routes))


def datapath_conf(trunk_nic=None, tunnel_nic=None):
    return types.SimpleNamespace(driver="test", trunk_nic=trunk_nic,
                                 tunnel_nic=tunnel_nic)


def lb_conf(**kw):
    base = dict(vxlan_udp_port=4789, vxlan_local_ip=None, vxlan_ttl=None,
                vxlan_tos=None, vxlan_arp_responder=False)
    base.update(kw)
    return types.SimpleNamespace(**base)


def macvlan_conf(mode="bridge"):
    return types.SimpleNamespace(mode=mode)


def kernel_has_8021q():
    try:
        import gzip
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_VLAN_8021Q="):
                    return True
        return False
    except OSError:
        return os.path.exists("/sys/module/8021q") or os.path.exists(
            "/proc/net/vlan")
