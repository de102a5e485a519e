"""Helpers of the tests that run INSIDE the throw-away VM (tox -e vm).

The VM (tools/vm/) boots a stock Debian kernel with 8021q, bridge,
macvlan, veth and openvswitch modules; this project, its virtualenv and
the Python interpreter are shared into it over 9p at the same paths, and
the tests run there as root. On the host these modules skip.

Topology of the VLAN tests: two *node* netns standing in for two
Kubernetes nodes, joined by a veth "trunk wire" (``trunk0`` in each), one
pod netns per pod. The driver runs in a forked child that setns()es into
its node (``in_node``), so pod-to-pod traffic between the nodes crosses
the trunk, where it is captured with tcpdump. The OVS test uses the VM's
own netns as the node (ovs-vswitchd runs there).

Neutron's answers are replayed from ``neutron_recorded.json`` (recorded
from the lab by tools/vm/record-neutron.py) through the IPAM driver's own
Neutron-dict -> skynet.model conversion; the datapath work is real.
"""

import copy
import json
import os
import random
import select
import subprocess
import time
import uuid

import pytest

from skynet import model
from tests.functional import datapath_fixtures as fx
from tests.functional.datapath_fixtures import (  # noqa: F401 (re-exported)
    ip_json, netns_path, ping, plug_pod, rand_hex, World)

IN_VM = os.environ.get("VMRUN_IN_VM") == "1"
NETNS_DIR = "/var/run/netns"
HERE = os.path.dirname(os.path.abspath(__file__))
RECORDING = os.path.join(HERE, "neutron_recorded.json")
#: the only skip allowed inside the VM (conftest fails the run on others)
OVS_MISSING = "openvswitch datapath driver not installed"

in_vm_only = pytest.mark.skipif(
    not IN_VM,
    reason="runs inside the throw-away VM with a stock Debian kernel "
           "(8021q, openvswitch): tox -e vm (tools/vm/run-tests.sh)")


def run(*cmd, check=True, timeout=30):
    res = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode:
        raise AssertionError("%s: rc=%d %s%s" % (
            " ".join(cmd), res.returncode, res.stdout, res.stderr))
    return res


def ip(*args, check=True):
    return run("ip", *args, check=check)


def _ns(ns):
    return ("-n", ns) if ns else ()


def link(ns, name):
    """``ip -d link show`` of ``name`` in netns ``ns`` (None: this one)."""
    found = ip_json(*_ns(ns), "-d", "link", "show", "dev", name)
    return found[0] if found else None


def link_names(ns):
    return {lk["ifname"] for lk in ip_json(*_ns(ns), "link", "show")}


# ------------------------------------------------------------- node child

def in_node(node, func, *args, **kwargs):
    """Run ``func`` in a forked child inside netns ``node``; return/raise
    (a longer wait than on the host: the VM is emulated)."""
    return fx.join_in_node(fx.start_in_node(node, func, *args, **kwargs),
                           timeout=120)


# ------------------------------------------------------------- capture

class Capture:
    """``tcpdump -e`` on ``iface`` in netns ``ns`` while the block runs.

    ``lines`` holds the link-level lines afterwards (802.1Q tags shown as
    ``ethertype 802.1Q (0x8100) ... vlan N``).
    """

    def __init__(self, ns, iface, bpf, count):
        self.cmd = ("ip", "netns", "exec", ns, "tcpdump", "-Z", "root", "-i",
                    iface, "-e", "-nn", "-l", "-U", "-c", str(count), bpf)
        self.lines = []
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on ..." once the socket is attached.
        # Read the raw fd: a buffered readline() could swallow that line
        # together with the one before it, and select() would not wake up.
        deadline = time.monotonic() + 60
        fd = self.proc.stderr.fileno()
        seen = b""
        while b"listening on" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.proc.kill()
                raise AssertionError("tcpdump did not start: %s: %s"
                                     % (" ".join(self.cmd),
                                        seen.decode(errors="replace")))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                seen += os.read(fd, 4096)
        return self

    def __exit__(self, *exc):
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            out, err = self.proc.communicate(timeout=10)
        self.lines = [ln for ln in out.splitlines() if ln.strip()]
        self.stderr = err
        return False


# ------------------------------------------------------------- Neutron

def recording():
    with open(RECORDING) as f:
        return json.load(f)


def recorded_vifs(port_overrides=None):
    """VIFs of the recorded ports, made by the IPAM driver's own code."""
    from skynet_drivers.ipam import neutron as neutron_ipam
    rec = recording()
    target = model.NetworkTarget(
        network=neutron_ipam._network(rec["network"]),
        subnets=[neutron_ipam._subnet(s) for s in rec["subnets"]])
    ports = [dict(p, **(port_overrides or {})) for p in rec["ports"]]
    return [neutron_ipam._vif(p, target) for p in ports], target.network


def another_port(vif, host_octet):
    """A third port on the recorded network (new id, MAC and address)."""
    new = copy.deepcopy(vif)
    new.port_id = str(uuid.uuid4())
    new.mac_address = "fa:16:3e:%02x:%02x:%02x" % tuple(
        random.getrandbits(8) for _ in range(3))
    iface = new.ips[0].interface
    new.ips[0].address = "%s/%d" % (
        iface.network.network_address + host_octet, iface.network.prefixlen)
    new.device_id = "vm-pod-%s" % rand_hex(6)
    new.host_ifname = None
    return new


def v4(vif):
    return str(vif.ips[0].interface.ip)


# ------------------------------------------------------------- drivers

def load_datapath(name, trunk_nic=None, **driver_opts):
    """The ``name`` datapath driver through its skynet.datapath entry point
    (skynet.drivers.loader with a fresh oslo ConfigOpts)."""
    from oslo_config import cfg

    from skynet import conf as skynet_conf
    from skynet.drivers import loader
    conf = cfg.ConfigOpts()
    skynet_conf.register_opts(conf)
    conf([], project="skynet", default_config_files=[])
    conf.set_override("driver", name, group="datapath")
    if trunk_nic:
        conf.set_override("trunk_nic", trunk_nic, group="datapath")
    loader.reset_cache()
    drv = loader.get_datapath_driver(conf)
    for key, value in driver_opts.items():
        conf.set_override(key, value, group="datapath_%s" % name)
    return drv


def save_result(name, lines):
    """Keep evidence (captures, flow dumps) in the run's results dir."""
    res = os.environ.get("SKYNET_VM_RESULTS")
    if res and os.path.isdir(res):
        with open(os.path.join(res, name), "w") as f:
            f.write("\n".join(lines) + "\n")


def kernel_release():
    return os.uname().release
