"""End-to-end harness: the real `skynet` executable driven the way libcni /
cnitool drive a plugin (CNI_* environment + netconf on stdin, result or
error JSON on stdout), against the lab's real Neutron and kube-apiserver,
with real network namespaces.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labsupport import kube, lab, neutron_cleanup, pod_netns  # noqa: E402,F401
from labsupport import neutron_get, PodNetns, wait_until  # noqa: E402,F401

SKYNET = (os.path.join(os.path.dirname(sys.executable), "skynet")
          if os.path.exists(os.path.join(os.path.dirname(sys.executable),
                                         "skynet"))
          else shutil.which("skynet"))
SERVICE_CIDR = "10.254.0.0/16"
ROUTER_IP = "10.30.0.254"


def netconf_for(lab, tmpdir, plugin_type="linuxbridge", version="1.1.0",
                **extra):
    """The seed's netconf shape, pointed at the lab."""
    conf = {
        "cniVersion": version,
        "name": "skynet-e2e",
        "type": "skynet",
        "neutron": {
            "neutron_url": lab["SKYNET_NEUTRON_URL"],
            "default_network_id": lab["SKYNET_NET_VXLAN"],
            "default_security_group_ids": lab["SKYNET_SG_OPEN"],
            "external_router_gateway_ip": ROUTER_IP,
            "service_cluster_ip_cidr": SERVICE_CIDR,
            "timeout": 20,
        },
        "plugin": {"plugin_type": plugin_type,
                   "trunk_nic": lab["SKYNET_TRUNK_NIC"],
                   "tunnel_nic": lab["SKYNET_TUNNEL_NIC"]},
        "kubernetes": {"kubeconfig": lab["SKYNET_KUBECONFIG"]},
        "log_level": "debug",
        "log_file": os.path.join(str(tmpdir), "skynet.log"),
        "node_name": lab["SKYNET_NODE_NAME"],
        "state_dir": os.path.join(str(tmpdir), "state"),
    }
    for key, value in extra.items():
        if isinstance(value, dict):
            conf.setdefault(key, {}).update(value)
        else:
            conf[key] = value
    return conf


class CniResult:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.json = json.loads(proc.stdout) if proc.stdout.strip() else None

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return "CniResult(rc=%s, out=%s, err=%s)" % (
            self.rc, self.stdout[-800:], self.stderr[-1500:])


def cni(command, netconf, netns=None, container_id=None, ifname="eth0",
        pod=None, env=None):
    """Run `skynet` like libcni's ExecPlugin does."""
    call_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "CNI_COMMAND": command, "CNI_PATH": os.path.dirname(SKYNET)}
    if container_id:
        call_env["CNI_CONTAINERID"] = container_id
    if netns:
        call_env["CNI_NETNS"] = netns
    if ifname:
        call_env["CNI_IFNAME"] = ifname
    if pod is not None:
        meta = pod["metadata"]
        call_env["CNI_ARGS"] = (
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
            "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s"
            % (meta["namespace"], meta["name"], container_id, meta["uid"]))
    call_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.run([SKYNET], input=json.dumps(netconf), env=call_env,
                          capture_output=True, text=True, timeout=180)
    return CniResult(proc, time.monotonic() - start)


class Pods:
    """Make annotated Pod objects + netns and ADD them; DEL everything after."""

    def __init__(self, lab, kube, tmpdir):
        self.lab = lab
        self.kube = kube
        self.tmpdir = tmpdir
        self.made = []          # (netconf, netns ctx, cid, pod)

    def netconf(self, **kw):
        return netconf_for(self.lab, self.tmpdir, **kw)

    def create(self, annotations=None, name=None):
        name = name or "e2e-" + uuid.uuid4().hex[:8]
        return self.kube.create_pod(name, self.lab["SKYNET_NODE_NAME"],
                                    annotations=annotations or {})

    def add(self, annotations=None, netconf=None, expect_ok=True,
            ifname="eth0"):
        pod = self.create(annotations)
        ns = PodNetns()
        path = ns.__enter__()
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        netconf = netconf or self.netconf()
        self.made.append((netconf, ns, cid, pod, ifname))
        res = cni("ADD", netconf, path, cid, ifname, pod)
        if expect_ok:
            assert res.ok, res
        return Pod(pod, ns, path, cid, res, netconf, ifname)

    def cleanup(self):
        for netconf, ns, cid, pod, ifname in reversed(self.made):
            res = cni("DEL", netconf, ns.path, cid, ifname, pod)
            if not res.ok:
                print("cleanup DEL failed: %r" % res)
            ns.__exit__(None, None, None)


class Pod:
    def __init__(self, pod, ns, path, cid, res, netconf, ifname):
        self.pod = pod
        self.ns = ns
        self.name = ns.name
        self.path = path
        self.cid = cid
        self.res = res
        self.netconf = netconf
        self.ifname = ifname

    @property
    def result(self):
        return self.res.json

    def ip(self, version=4):
        for ip in self.result["ips"]:
            addr = ip["address"].split("/")[0]
            if (":" in addr) == (version == 6):
                return addr
        return None

    def sh(self, *cmd, check=False, timeout=30):
        return subprocess.run(("ip", "netns", "exec", self.name) + cmd,
                              capture_output=True, text=True, timeout=timeout,
                              check=check)

    def ping(self, addr, count=2):
        flag = "-6" if ":" in addr else "-4"
        return self.sh("ping", flag, "-c", str(count), "-W", "2", addr).returncode == 0

    def serve_http(self, port):
        """An HTTP server on this pod's IPv4 address (kill() it after)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, "-m",
             "http.server", str(port), "--bind", self.ip(4)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def connects(self, addr, port):
        """Does a TCP connection from this pod to addr:port succeed (3 s)?"""
        code = ("import socket,sys; s=socket.socket(); s.settimeout(3); "
                "sys.exit(s.connect_ex((%r, %d)))" % (addr, port))
        return self.sh(sys.executable, "-c", code).returncode == 0

    def cni(self, command, **kw):
        return cni(command, self.netconf, self.path, self.cid, self.ifname,
                   self.pod, **kw)


@pytest.fixture
def pods(lab, kube, tmp_path):
    p = Pods(lab, kube, tmp_path)
    yield p
    p.cleanup()


def skynet_ports(lab, **filters):
    return neutron_get("ports", tags="skynet", **filters)["ports"]


def wait_port_active(port_id, timeout=30):
    def active():
        return neutron_get("ports/%s" % port_id)["port"]["status"] == "ACTIVE"
    wait_until(active, timeout=timeout, what="port %s ACTIVE" % port_id)
