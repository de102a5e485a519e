#!/usr/bin/env python3
"""skynet benchmark on the lab (``tox -e bench [-- --n 20]``).

Measures, in one run and printed side by side:

* ADD and DEL latency (p50/p95) and pods/s, sequential and N-wide (default 8), of
  - the real ``skynet`` executable (driven like libcni: CNI_* env + netconf on stdin),
  - the reference ``bridge`` + ``host-local`` plugins (Debian's containernetworking-plugins),
  - a raw Neutron port create / delete (the floor under any Neutron-backed ADD / DEL);
* Neutron and Kubernetes API calls per ADD and DEL (from skynet's "<VERB> API calls" log lines);
* the CNI process's own time: interpreter start-up, ``python -X importtime`` of the entry
  point and of the in-process handler, VERSION latency.

Figures are printed, not asserted; each target from the issue gets a PASS/MISS next to it.
Everything the bench creates (pods, netns, Neutron ports, links, the skbench0 bridge) is
removed at the end, also on failure or Ctrl-C.  Needs root and the lab (``tox -e lab``).
The figures also go to ``.lab/bench-<timestamp>.json``.

Only the standard library is imported at module level (the stats helpers are unit-tested
without the lab); ``requests`` and tests/labsupport.py are imported by main().
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BRIDGE_CNI_DIR = "/usr/lib/cni"
BRIDGE_NAME = "skbench0"
BRIDGE_SUBNET = "10.123.0.0/16"
RAW_DEVICE_OWNER = "compute:skynet-bench"
TAG_BENCH = "skynet-bench"
SERVICE_CIDR = "10.254.0.0/16"      # as tests/e2e
ROUTER_IP = "10.30.0.254"
# modules that must not be loaded to answer VERSION (the heavy part of the plugin)
HEAVY = ("oslo_config", "oslo_log", "oslo_utils", "oslo_i18n", "keystoneauth1", "requests",
         "urllib3", "pyroute2", "stevedore", "yaml", "ovsdbapp", "pbr", "eventlet")
TARGET_API_CALLS_ADD = 4
TARGET_VERSION_P50_MS = 60.0
TARGET_ADD_OVER_RAW_MS = 1000.0


# ====================================================================== stats helpers
def percentile(values, p):
    """The p-th percentile (0..100) of values, linear interpolation between closest ranks
    (numpy's default); None for no values."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError("percentile must be within 0..100, not %r" % (p,))
    data = sorted(values)
    rank = (len(data) - 1) * p / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def summarize(values):
    """{n, p50, p95, mean, min, max} of a list of numbers (all None but n when empty)."""
    values = list(values)
    if not values:
        return {"n": 0, "p50": None, "p95": None, "mean": None, "min": None, "max": None}
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def rate(count, wall_seconds):
    """Operations per second of a batch of count operations that took wall_seconds."""
    if not count or not wall_seconds or wall_seconds <= 0:
        return None
    return count / wall_seconds


_API_RE = re.compile(r"\b(ADD|DEL|CHECK|STATUS|GC) API calls: neutron=(\d+)(.*?); "
                     r"kubernetes=(\d+)(.*)$")


def parse_api_calls(text):
    """skynet's "<VERB> API calls: neutron=N GET:/x ...; kubernetes=M ..." log lines ->
    [{"verb", "neutron", "kubernetes", "total", "calls"}] in file order."""
    found = []
    for line in text.splitlines():
        m = _API_RE.search(line)
        if not m:
            continue
        neutron, kube = int(m.group(2)), int(m.group(4))
        calls = (["neutron " + c for c in m.group(3).split()]
                 + ["kubernetes " + c for c in m.group(5).split()])
        found.append({"verb": m.group(1), "neutron": neutron, "kubernetes": kube,
                      "total": neutron + kube, "calls": calls})
    return found


def api_call_stats(records):
    """Average and max of neutron / kubernetes / total calls over parse_api_calls() records."""
    out = {"n": len(records)}
    for key in ("neutron", "kubernetes", "total"):
        vals = [r[key] for r in records]
        out[key + "_avg"] = statistics.fmean(vals) if vals else None
        out[key + "_max"] = max(vals) if vals else None
    # the distinct call sequences (method:path with IDs folded), most common first
    seqs = {}
    for r in records:
        key = " ".join(_fold_ids(c) for c in r["calls"])
        seqs[key] = seqs.get(key, 0) + 1
    out["sequences"] = sorted(seqs.items(), key=lambda kv: -kv[1])
    return out


_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}")


def _fold_ids(call):
    call = _ID_RE.sub("<id>", call)
    return re.sub(r"(/namespaces/[^/]+/pods/)[^/\s]+", r"\1<pod>", call)


_IMPORT_RE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(text):
    """``python -X importtime`` stderr -> [{"module", "self_us", "cumulative_us", "depth"}]
    (depth 0 = imported directly by the top-level code)."""
    entries = []
    for line in text.splitlines():
        m = _IMPORT_RE.match(line)
        if not m:
            continue
        indent = len(m.group(3)) - 1          # one blank always follows the bar
        entries.append({"module": m.group(4), "self_us": int(m.group(1)),
                        "cumulative_us": int(m.group(2)), "depth": max(indent, 0) // 2})
    return entries


def import_cumulative_us(entries, module):
    """Cumulative import time (µs) of ``module`` as listed by -X importtime; None if absent."""
    for e in entries:
        if e["module"] == module:
            return e["cumulative_us"]
    return None


def children(entries, module):
    """Direct children of ``module`` in -X importtime entries (listed before their parent,
    one level deeper), as [(module, cumulative µs)] heaviest first; [] if module is absent."""
    for idx, e in enumerate(entries):
        if e["module"] == module:
            break
    else:
        return []
    depth, found = entries[idx]["depth"], []
    for prev in reversed(entries[:idx]):
        if prev["depth"] <= depth:
            break
        if prev["depth"] == depth + 1:
            found.append((prev["module"], prev["cumulative_us"]))
    return sorted(found, key=lambda kv: -kv[1])


def package_self_times(entries, exclude=()):
    """Self import time summed per top-level package, heaviest first: [(package, µs)]."""
    totals = {}
    for e in entries:
        if e["module"] in exclude:
            continue
        top = e["module"].split(".")[0]
        totals[top] = totals.get(top, 0) + e["self_us"]
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def non_stdlib(modules, own=("skynet", "skynet_drivers")):
    """Top-level packages among module names that are neither standard library nor ours."""
    std = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    tops = {m.split(".")[0] for m in modules}
    return sorted(t for t in tops if t not in std and t not in own and not t.startswith("_"))


def fmt_ms(value, digits=0):
    return "-" if value is None else "%.*f" % (digits, value)


def fmt_pair(stats, digits=0):
    """"p50 / p95" of a summarize() dict."""
    if not stats or stats.get("p50") is None:
        return "-"
    return "%s / %s" % (fmt_ms(stats["p50"], digits), fmt_ms(stats["p95"], digits))


def verdict(ok):
    return "-" if ok is None else ("PASS" if ok else "MISS")


def render_table(headers, rows):
    """Plain-text table: headers and rows are lists of strings (first column left-aligned)."""
    widths = [max(len(str(r[i])) for r in [headers] + rows if r) for i in range(len(headers))]

    def line(cells):
        out = [str(cells[0]).ljust(widths[0])]
        out += [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join(out).rstrip()
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep] + [line(r) if r else "" for r in rows])


# ====================================================================== plumbing
def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def _ip(*args, check=False):
    return subprocess.run(("ip",) + args, check=check, capture_output=True, text=True,
                          timeout=30)


def _load():
    """1-minute load average (other users of the lab skew the figures)."""
    try:
        return "%.1f" % os.getloadavg()[0]
    except OSError:
        return "?"


def clean_env():
    """What a container runtime gives a plugin: PATH only (no PYTHON* from tox)."""
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}


def skynet_executable():
    exe = os.path.join(os.path.dirname(sys.executable), "skynet")
    if os.path.exists(exe):
        return exe
    raise SystemExit("no skynet executable next to %s: install the package "
                     "(pip install -e .) or run `tox -e bench`" % sys.executable)


def run_plugin(exe, command, netconf, cni_path, netns=None, container_id=None,
               ifname="eth0", cni_args=None, timeout=180):
    """One plugin call like libcni's ExecPlugin: (ok, seconds, stdout, stderr)."""
    env = clean_env()
    env.update({"CNI_COMMAND": command, "CNI_PATH": cni_path})
    if container_id:
        env["CNI_CONTAINERID"] = container_id
    if netns:
        env["CNI_NETNS"] = netns
    if ifname:
        env["CNI_IFNAME"] = ifname
    if cni_args:
        env["CNI_ARGS"] = cni_args
    start = time.perf_counter()
    try:
        proc = subprocess.run([exe], input=json.dumps(netconf), env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return False, time.perf_counter() - start, "", "timeout: %s" % exc
    elapsed = time.perf_counter() - start
    return proc.returncode == 0, elapsed, proc.stdout, proc.stderr


class Batch:
    """Timings of one batch of operations (sequential or N-wide)."""

    def __init__(self, label, width):
        self.label = label
        self.width = width
        self.times = []          # seconds of the successful operations
        self.failures = []       # (item label, message)
        self.wall = None
        self._lock = threading.Lock()

    def record(self, ok, seconds, what, message=""):
        with self._lock:
            if ok:
                self.times.append(seconds)
            else:
                self.failures.append((what, message.strip()[-400:]))

    def as_dict(self):
        ms = summarize([t * 1000.0 for t in self.times])
        count = len(self.times) + len(self.failures)
        return {"label": self.label, "width": self.width, "count": count,
                "ok": len(self.times), "failed": len(self.failures),
                "failures": self.failures[:10], "wall_s": self.wall,
                "per_s": rate(len(self.times), self.wall), "ms": ms}


def run_batch(batch, items, func, stop):
    """Run func(item) -> (ok, seconds, message) over items, batch.width at a time."""
    start = time.perf_counter()

    def one(item):
        if stop.is_set():
            return
        try:
            ok, seconds, message = func(item)
        except Exception as exc:       # counted, not hidden
            ok, seconds, message = False, 0.0, "%s: %s" % (type(exc).__name__, exc)
        batch.record(ok, seconds, str(item), message)

    if batch.width <= 1:
        for item in items:
            one(item)
    else:
        pool = concurrent.futures.ThreadPoolExecutor(batch.width)
        try:
            for fut in [pool.submit(one, i) for i in items]:
                fut.result()
        except BaseException:
            stop.set()                  # Ctrl-C: let running calls finish, start no more
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    batch.wall = time.perf_counter() - start
    return batch


class Janitor:
    """Everything the bench created, removed in reverse order by cleanup()."""

    def __init__(self):
        self._items = []
        self._lock = threading.Lock()

    def add(self, what, func, *args):
        token = object()
        with self._lock:
            self._items.append((token, what, func, args))
        return token

    def done(self, token):
        with self._lock:
            self._items = [i for i in self._items if i[0] is not token]

    def cleanup(self):
        with self._lock:
            items, self._items = list(reversed(self._items)), []
        failed = 0
        for _, what, func, args in items:
            try:
                func(*args)
            except Exception as exc:
                failed += 1
                log("cleanup of %s failed: %s" % (what, exc))
        return failed


class Netns:
    def __init__(self, name):
        self.name = name
        self.path = "/var/run/netns/" + name

    def create(self):
        _ip("netns", "add", self.name, check=True)
        _ip("-n", self.name, "link", "set", "lo", "up", check=True)
        return self

    def delete(self):
        _ip("netns", "del", self.name)

    def __str__(self):
        return self.name


# ====================================================================== the three subjects
class CniPluginBench:
    """ADD/DEL of a CNI plugin executable; subclasses give _call() and
    _del_quiet() (the janitor's DEL after an interruption)."""

    label = None

    def add(self, item):
        item.del_token = self.ctx.janitor.add("%s DEL %s" % (self.label, item.name),
                                              self._del_quiet, item)
        ok, secs, out, err = self._call("ADD", item)
        return ok, secs, (out + err) if not ok else ""

    def delete(self, item):
        ok, secs, out, err = self._call("DEL", item)
        if ok:
            self.ctx.janitor.done(item.del_token)
        return ok, secs, (out + err) if not ok else ""


class SkynetBench(CniPluginBench):
    label = "skynet"

    def __init__(self, ctx):
        self.ctx = ctx
        self.exe = skynet_executable()
        self.name = "skynet-bench-" + ctx.run_id
        self.tmp = ctx.tmp
        self.logdir = os.path.join(self.tmp, "skynet-logs")
        os.makedirs(self.logdir, exist_ok=True)
        self.api = {"ADD": [], "DEL": []}

    def netconf(self, log_file):
        lab = self.ctx.lab
        return {
            "cniVersion": "1.0.0", "name": self.name, "type": "skynet",
            "neutron": {"neutron_url": lab["SKYNET_NEUTRON_URL"],
                        "default_network_id": self.ctx.network_id,
                        "default_security_group_ids": lab["SKYNET_SG_OPEN"],
                        "external_router_gateway_ip": ROUTER_IP,
                        "service_cluster_ip_cidr": SERVICE_CIDR, "timeout": 20},
            "plugin": {"plugin_type": self.ctx.datapath, "trunk_nic": lab["SKYNET_TRUNK_NIC"],
                       "tunnel_nic": lab["SKYNET_TUNNEL_NIC"]},
            "kubernetes": {"kubeconfig": lab["SKYNET_KUBECONFIG"]},
            "log_level": "info", "log_file": log_file,
            "node_name": self.ctx.bind_host,
            "state_dir": os.path.join(self.tmp, "skynet-state"),
        }

    # --- per pod
    def prepare(self, tag, i):
        """Pod object + netns (not timed)."""
        ctx = self.ctx
        name = "skbench-%s-%s-%d" % (ctx.run_id, tag, i)
        pod = ctx.kube.create_pod(name, ctx.lab["SKYNET_NODE_NAME"],
                                  labels={TAG_BENCH: ctx.run_id})
        pod_token = ctx.janitor.add("pod " + name, ctx.kube.delete_pod, name)
        ns = Netns("skbench-%s-s%s%d" % (ctx.run_id, tag, i)).create()
        ns_token = ctx.janitor.add("netns " + ns.name, ns.delete)
        meta = pod["metadata"]
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        item = PodItem(name, ns, cid, pod_token, ns_token)
        item.cni_args = ("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
                         "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s"
                         % (meta["namespace"], meta["name"], cid, meta["uid"]))
        item.log_file = os.path.join(self.logdir, "%s-%d.log" % (tag, i))
        return item

    def _call(self, command, item):
        return run_plugin(self.exe, command, self.netconf(item.log_file),
                          os.path.dirname(self.exe), item.netns.path, item.cid,
                          cni_args=item.cni_args)

    def _del_quiet(self, item):
        ok, _, out, err = self._call("DEL", item)
        if not ok:
            raise RuntimeError("DEL %s: %s" % (item.name, (out + err)[-300:]))

    def release(self, item):
        """After the timed DEL: pod and netns go (not timed)."""
        self.ctx.kube.delete_pod(item.name)
        self.ctx.janitor.done(item.pod_token)
        item.netns.delete()
        self.ctx.janitor.done(item.ns_token)

    def collect_api_calls(self, items):
        for item in items:
            try:
                with open(item.log_file) as f:
                    records = parse_api_calls(f.read())
            except FileNotFoundError:
                continue
            for r in records:
                if r["verb"] in self.api:
                    self.api[r["verb"]].append(r)

    def sweep(self):
        """Safety net: ports tagged with this run's netconf name, pods with its label."""
        neutron_sweep(self.ctx, tags="skynet-net:" + self.name)
        pod_sweep(self.ctx)


class BridgeBench(CniPluginBench):
    label = "bridge+host-local"

    def __init__(self, ctx):
        self.ctx = ctx
        self.exe = os.path.join(BRIDGE_CNI_DIR, "bridge")
        self.data_dir = os.path.join(ctx.tmp, "host-local")
        self.conf = {"cniVersion": "1.0.0", "name": "benchbr", "type": "bridge",
                     "bridge": BRIDGE_NAME, "isGateway": True, "ipMasq": False,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": BRIDGE_SUBNET}]],
                              "dataDir": self.data_dir}}
        ctx.janitor.add("bridge " + BRIDGE_NAME, self.remove_bridge)

    @staticmethod
    def remove_bridge():
        if _ip("link", "show", BRIDGE_NAME).returncode == 0:
            _ip("link", "del", BRIDGE_NAME, check=True)

    def prepare(self, tag, i):
        ctx = self.ctx
        ns = Netns("skbench-%s-b%s%d" % (ctx.run_id, tag, i)).create()
        ns_token = ctx.janitor.add("netns " + ns.name, ns.delete)
        return PodItem("br-%s-%d" % (tag, i), ns, uuid.uuid4().hex, None, ns_token)

    def _call(self, command, item):
        return run_plugin(self.exe, command, self.conf, BRIDGE_CNI_DIR, item.netns.path,
                          item.cid)

    def _del_quiet(self, item):
        self._call("DEL", item)

    def release(self, item):
        item.netns.delete()
        self.ctx.janitor.done(item.ns_token)


class RawNeutronBench:
    label = "raw Neutron"

    def __init__(self, ctx):
        self.ctx = ctx
        self.base = ctx.lab["SKYNET_NEUTRON_URL"].rstrip("/") + "/v2.0"
        self._local = threading.local()

    def session(self):
        s = getattr(self._local, "session", None)
        if s is None:
            import requests
            s = requests.Session()
            s.trust_env = False
            s.headers.update({"Accept": "application/json"})
            self._local.session = s
        return s

    def prepare(self, tag, i):
        return PodItem("raw-%s-%d" % (tag, i), None, uuid.uuid4().hex, None, None)

    def body(self, item):
        lab = self.ctx.lab
        return {"port": {
            "network_id": self.ctx.network_id,
            "name": "skynet-bench-raw-%s-%s" % (self.ctx.run_id, item.name),
            "description": json.dumps({"pod": "default/" + item.name, "uid": item.cid,
                                       "cid": item.cid, "if": "eth0"},
                                      separators=(",", ":")),
            "device_owner": RAW_DEVICE_OWNER,
            "device_id": str(uuid.uuid4()),
            "binding:host_id": self.ctx.bind_host,
            "security_groups": [lab["SKYNET_SG_OPEN"]],
            "tags": [TAG_BENCH, "skynet-bench-run:" + self.ctx.run_id,
                     "skynet-cid:" + item.cid[:49], "skynet-if:eth0"],
        }}

    def add(self, item):
        body = self.body(item)
        start = time.perf_counter()
        r = self.session().post(self.base + "/ports", json=body, timeout=60)
        secs = time.perf_counter() - start
        if r.status_code >= 300:
            return False, secs, "HTTP %s %s" % (r.status_code, r.text[:300])
        item.port_id = r.json()["port"]["id"]
        item.del_token = self.ctx.janitor.add("port " + item.port_id, self._delete_port,
                                              item.port_id)
        return True, secs, ""

    def delete(self, item):
        if not getattr(item, "port_id", None):
            return False, 0.0, "no port (its create failed)"
        start = time.perf_counter()
        r = self.session().delete(self.base + "/ports/" + item.port_id, timeout=60)
        secs = time.perf_counter() - start
        if r.status_code >= 300:
            return False, secs, "HTTP %s %s" % (r.status_code, r.text[:300])
        self.ctx.janitor.done(item.del_token)
        return True, secs, ""

    def _delete_port(self, port_id):
        r = self.session().delete(self.base + "/ports/" + port_id, timeout=60)
        if r.status_code not in (204, 404):
            raise RuntimeError("DELETE port %s -> %s" % (port_id, r.status_code))

    def release(self, item):
        pass


class PodItem:
    def __init__(self, name, netns, cid, pod_token, ns_token):
        self.name = name
        self.netns = netns
        self.cid = cid
        self.pod_token = pod_token
        self.ns_token = ns_token
        self.del_token = None
        self.cni_args = None
        self.log_file = None
        self.port_id = None

    def __str__(self):
        return self.name


# ====================================================================== sweeps
def neutron_sweep(ctx, **filters):
    """Delete every port matching filters (this run's tags only)."""
    import requests
    s = requests.Session()
    s.trust_env = False
    base = ctx.lab["SKYNET_NEUTRON_URL"].rstrip("/") + "/v2.0"
    r = s.get(base + "/ports", params=dict(filters, fields="id"), timeout=60)
    r.raise_for_status()
    ports = [p["id"] for p in r.json()["ports"]]
    for pid in ports:
        s.delete(base + "/ports/" + pid, timeout=60)
    if ports:
        log("sweep: deleted %d leftover port(s) matching %s" % (len(ports), filters))
    return len(ports)


def pod_sweep(ctx):
    r = ctx.kube.request("GET", "/api/v1/namespaces/default/pods",
                         params={"labelSelector": "%s=%s" % (TAG_BENCH, ctx.run_id)})
    r.raise_for_status()
    names = [p["metadata"]["name"] for p in r.json().get("items", [])]
    for name in names:
        ctx.kube.delete_pod(name)
    if names:
        log("sweep: deleted %d leftover pod(s)" % len(names))


def netns_sweep(ctx):
    prefix = "skbench-%s-" % ctx.run_id
    out = _ip("netns", "list").stdout
    names = [line.split()[0] for line in out.splitlines()
             if line.strip() and line.split()[0].startswith(prefix)]
    for name in names:
        _ip("netns", "del", name)
    if names:
        log("sweep: deleted %d leftover netns" % len(names))


# ====================================================================== phases
class Context:
    def __init__(self, lab, kube, args):
        self.lab = lab
        self.kube = kube
        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.tmp = tempfile.mkdtemp(prefix="skynet-bench-")
        # where the ports go: the datapath under test, its network, and the
        # host Neutron binds them to (ML2/OVS: the OVS agent's host)
        self.datapath = args.datapath
        if args.datapath == "openvswitch":
            from labsupport import lab_env      # on sys.path since main()
            ovs = lab_env(os.path.join(REPO, ".lab", "ovs.env"))
            if ovs is None:
                raise SystemExit("--datapath openvswitch needs the OVS lab: LAB_OVS=1 tox -e lab")
            self.network_id = ovs["SKYNET_OVS_NET_VXLAN"]
            self.bind_host = ovs["SKYNET_OVS_NODE_NAME"]
        else:
            self.network_id = lab["SKYNET_NET_VXLAN"]
            self.bind_host = lab["SKYNET_NODE_NAME"]
        self.janitor = Janitor()
        self.stop = threading.Event()


def bench_subject(ctx, subject, n, width, results):
    """Sequential then width-wide: prepare N items, time ADD of all, time DEL of all."""
    out = results[subject.label] = {}       # filled as it goes: partial on Ctrl-C
    for mode, w in (("seq", 1), ("wide", width)):
        if ctx.stop.is_set():
            break
        tag = "s" if w == 1 else "w"
        log("%s: %s x%d (width %d): preparing" % (subject.label, mode, n, w))
        items = [subject.prepare(tag, i) for i in range(n)]
        add, dele = Batch("ADD", w), Batch("DEL", w)
        out[mode] = {"ADD": add, "DEL": dele}
        run_batch(add, items, subject.add, ctx.stop)
        log("%s: %s ADD: %d ok, %d failed, %.2fs" % (subject.label, mode, len(add.times),
                                                     len(add.failures), add.wall))
        run_batch(dele, items, subject.delete, ctx.stop)
        log("%s: %s DEL: %d ok, %d failed, %.2fs" % (subject.label, mode, len(dele.times),
                                                     len(dele.failures), dele.wall))
        if isinstance(subject, SkynetBench):
            subject.collect_api_calls(items)
        for item in items:
            subject.release(item)
    return out


def warm_up(ctx, subject):
    """One untimed ADD+DEL: shared bridges/uplinks exist, page cache is warm."""
    item = subject.prepare("x", 0)
    ok, _, msg = subject.add(item)
    if not ok:
        log("%s warm-up ADD failed: %s" % (subject.label, msg[-300:]))
    subject.delete(item)
    subject.release(item)
    if isinstance(subject, SkynetBench):
        try:
            os.unlink(item.log_file)
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------- process time
def _run_timed(argv, env, stdin_text="", timeout=60):
    start = time.perf_counter()
    proc = subprocess.run(argv, input=stdin_text, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return time.perf_counter() - start, proc


def process_time(runs):
    py = sys.executable
    exe = skynet_executable()
    env = clean_env()
    out = {}
    # (4) bare interpreter
    venv = dict(env, CNI_COMMAND="VERSION")
    stdin = '{"cniVersion":"1.0.0"}'
    # interleaved, so that load from other lab users hits every variant alike
    variants = {
        "python_pass_ms": ([py, "-c", "pass"], env),                 # (4) bare interpreter
        "python_S_pass_ms": ([py, "-S", "-c", "pass"], env),         # ... without site/.pth
        "version_ms": ([exe], venv),                                 # (2) the real executable
        # the same VERSION without the console-script wrapper (what the wrapper costs)
        "version_direct_ms": ([py, "-c", "from skynet.cmd.cni import main; main()"], venv),
    }
    times = {k: [] for k in variants}
    ver_fail = 0
    for _ in range(runs):
        for key, (argv, e) in variants.items():
            secs, proc = _run_timed(argv, e, stdin)
            if proc.returncode == 0 and (key.startswith("python")
                                         or "supportedVersions" in proc.stdout):
                times[key].append(secs * 1000)
            else:
                ver_fail += 1
    for key, vals in times.items():
        out[key] = summarize(vals)
    out["version_failures"] = ver_fail
    out["entry_script"] = entry_script_kind(exe)

    # (1) + VERSION's import set: the console script under -X importtime, minus bare python's
    def importtime(argv, extra_env=None, stdin_text=""):
        # median of 5 runs of the cumulative figure, the entries of the median run
        runs_ = []
        for _ in range(5):
            _, proc = _run_timed([py, "-X", "importtime"] + argv, dict(env, **(extra_env or {})),
                                 stdin_text)
            runs_.append(parse_importtime(proc.stderr))
        return runs_

    base_runs = importtime(["-c", "pass"])
    base_mods = {e["module"] for r in base_runs for e in r}
    site = sorted(base_runs, key=lambda r: import_cumulative_us(r, "site") or 0)[len(base_runs) // 2]
    out["site_ms"] = (import_cumulative_us(site, "site") or 0) / 1000
    out["site_top"] = [(m, us / 1000) for m, us in children(site, "site")[:4]]
    ver_runs = importtime([exe], {"CNI_COMMAND": "VERSION"}, '{"cniVersion":"1.0.0"}')
    ver_mods = sorted({e["module"] for e in ver_runs[0]} - base_mods)
    out["version_extra_modules"] = ver_mods
    out["version_non_stdlib"] = non_stdlib(ver_mods)
    out["version_heavy_loaded"] = sorted({m.split(".")[0] for m in ver_mods} & set(HEAVY))

    def cumulative(module):
        runs_ = importtime(["-c", "import " + module])
        vals = [import_cumulative_us(r, module) for r in runs_]
        vals = [v for v in vals if v is not None]
        med = statistics.median(vals) if vals else None
        best = min(runs_, key=lambda r: abs((import_cumulative_us(r, module) or 0)
                                            - (med or 0)))
        return med, best

    cni_us, cni_entries = cumulative("skynet.cmd.cni")
    out["import_cmd_cni_ms"] = cni_us / 1000 if cni_us is not None else None
    out["import_cmd_cni_heavy"] = sorted({e["module"].split(".")[0] for e in cni_entries}
                                         & set(HEAVY))
    h_us, h_entries = cumulative("skynet.cni.handler")
    out["import_handler_ms"] = h_us / 1000 if h_us is not None else None
    h_entries = [e for e in h_entries if e["module"] not in base_mods]
    out["import_handler_top"] = [(pkg, us / 1000) for pkg, us in package_self_times(h_entries)[:8]]
    out["import_handler_modules"] = len(h_entries)
    out["import_handler_direct"] = [(m, us / 1000)
                                    for m, us in children(h_entries, "skynet.cni.handler")[:8]]
    return out


def entry_script_kind(exe):
    """How the installed executable reaches skynet.cmd.cni:main."""
    try:
        with open(exe, errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return "unknown"
    if "EASY-INSTALL" in head or "load_entry_point" in head:
        return "easy_install wrapper (importlib.metadata entry-point lookup)"
    if "from skynet.cmd.cni import main" in head:
        return "pip wrapper (direct import)"
    return "other"


# ---------------------------------------------------------------- profile
# (file suffix, function) -> label: where one in-process ADD spends its time
PROFILE_PARTS = [
    (("skynet/cmd/cni.py", "<module>"), "import skynet.cmd.cni"),
    (("skynet/cni/handler.py", "<module>"), "import skynet.cni.handler"),
    (("skynet/cni/handler.py", "configure"), "oslo.config + logging setup"),
    (("skynet/drivers/loader.py", "_load_one"), "driver loading (stevedore)"),
    (("skynet/clients/kube.py", "__init__"), "Kubernetes client setup"),
    (("skynet/clients/kube.py", "get"), "Kubernetes API calls"),
    (("skynet/clients/neutron.py", "__init__"), "Neutron client setup"),
    (("skynet/clients/neutron.py", "_request"), "Neutron API calls"),
    (("skynet_drivers/datapath/linuxbridge.py", "plug"), "datapath plug (bridge, veth)"),
    (("skynet/linux/ip_lib.py", "configure_container"), "pod netns addresses/routes"),
    (("skynet/state.py", "save"), "state files"),
]

_PROFILE_SNIPPET = r"""
import cProfile, io, json, os, pstats, sys, time
parts = json.loads(sys.argv[1])
prof = cProfile.Profile()
t0 = time.perf_counter()
prof.enable()
from skynet.cmd import cni
out = io.StringIO()
rc = cni._run(os.environ, sys.stdin, out)
prof.disable()
total = time.perf_counter() - t0
sys.stdout.write(out.getvalue())
st = pstats.Stats(prof)
found = {}
for (fname, line, func), (cc, nc, tt, ct, callers) in st.stats.items():
    for (suffix, want), label in parts:
        if fname.endswith(suffix) and func == want:
            found[label] = found.get(label, 0.0) + ct
s = io.StringIO()
st.stream = s
st.sort_stats("cumulative").print_stats(25)
sys.stderr.write("BREAKDOWN " + json.dumps({"total": total, "parts": found}) + "\n")
sys.stderr.write(s.getvalue())
sys.exit(rc)
"""


def profile_add(ctx, subject):
    """cProfile of one in-process ADD (imports included); its DEL is not timed.
    Returns (breakdown dict, text)."""
    item = subject.prepare("p", 0)
    env = clean_env()
    env.update({"CNI_COMMAND": "ADD", "CNI_PATH": os.path.dirname(subject.exe),
                "CNI_CONTAINERID": item.cid, "CNI_NETNS": item.netns.path,
                "CNI_IFNAME": "eth0", "CNI_ARGS": item.cni_args})
    item.del_token = ctx.janitor.add("skynet DEL " + item.name, subject._del_quiet, item)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROFILE_SNIPPET, json.dumps(PROFILE_PARTS)],
                          input=json.dumps(subject.netconf(item.log_file)), env=env,
                          capture_output=True, text=True, timeout=180)
    wall = time.perf_counter() - start
    subject.delete(item)
    subject.release(item)
    breakdown, lines = {}, []
    for line in proc.stderr.splitlines():
        if line.startswith("BREAKDOWN "):
            breakdown = json.loads(line[len("BREAKDOWN "):])
        elif line.strip():
            lines.append(line)
    breakdown.update(rc=proc.returncode, wall=wall)
    return breakdown, "\n".join(lines)


def format_breakdown(b):
    """"where one ADD's time goes" lines from profile_add()'s breakdown."""
    if not b.get("parts"):
        return "profiled ADD: no breakdown (rc=%s)" % b.get("rc")
    wall, total = b["wall"] * 1000, b["total"] * 1000
    out = ["Where one ADD's time goes (cProfile, in-process, rc=%d; the profiler inflates "
           "Python-heavy parts):" % b["rc"],
           "  %-36s %7.0f ms" % ("process wall time", wall),
           "  %-36s %7.0f ms" % ("interpreter + site start-up (outside)", wall - total)]
    accounted = 0.0
    for _, label in PROFILE_PARTS:
        ms = b["parts"].get(label)
        if ms is None:
            continue
        ms *= 1000
        accounted += ms
        out.append("  %-36s %7.0f ms" % (label, ms))
    out.append("  %-36s %7.0f ms" % ("other", total - accounted))
    return "\n".join(out)


# ====================================================================== report
def build_rows(res, width):
    sk = res.get("subjects", {}).get(SkynetBench.label, {})
    br = res.get("subjects", {}).get(BridgeBench.label, {})
    raw = res.get("subjects", {}).get(RawNeutronBench.label, {})
    rows = []

    def get(sub, mode, verb, key=None):
        d = sub.get(mode, {}).get(verb)
        if d is None:
            return None
        return d if key is None else d.get(key)

    wide = "%d-wide" % width
    raw_seq_p50 = (get(raw, "seq", "ADD", "ms") or {}).get("p50")
    sk_seq_p50 = (get(sk, "seq", "ADD", "ms") or {}).get("p50")
    target_ok = (None if raw_seq_p50 is None or sk_seq_p50 is None
                 else sk_seq_p50 <= raw_seq_p50 + TARGET_ADD_OVER_RAW_MS)
    for verb, raw_name in (("ADD", "create"), ("DEL", "delete")):
        for mode, mlabel in (("seq", "seq"), ("wide", wide)):
            tgt, ok = "", None
            if verb == "ADD" and mode == "seq":
                tgt = "p50 <= raw + %d" % TARGET_ADD_OVER_RAW_MS
                ok = target_ok
            rows.append(["%s %s p50 / p95 (ms)" % (verb, mlabel),
                         fmt_pair(get(sk, mode, verb, "ms")),
                         fmt_pair(get(br, mode, verb, "ms")),
                         fmt_pair(get(raw, mode, verb, "ms")) + " (%s)" % raw_name,
                         tgt, verdict(ok)])
        for mode, mlabel in (("seq", "seq"), ("wide", wide)):
            rows.append(["%s %s pods/s" % (verb, mlabel),
                         fmt_ms(get(sk, mode, verb, "per_s"), 1),
                         fmt_ms(get(br, mode, verb, "per_s"), 1),
                         fmt_ms(get(raw, mode, verb, "per_s"), 1), "", ""])
        fails = []
        for sub in (sk, br, raw):
            f = [get(sub, m, verb, "failed") for m in ("seq", "wide")]
            c = [get(sub, m, verb, "count") for m in ("seq", "wide")]
            fails.append("-" if c[0] is None else
                         "%d/%d" % (sum(x or 0 for x in f), sum(x or 0 for x in c)))
        rows.append(["%s failures" % verb] + fails + ["", ""])
        rows.append([])
    api = res.get("api_calls", {})
    for verb, raw_calls in (("ADD", "1 (POST)"), ("DEL", "1 (DELETE)")):
        a = api.get(verb) or {}
        if a.get("n"):
            cell = "%.1f / %d (N %.1f + K %.1f)" % (
                a["total_avg"], a["total_max"], a["neutron_avg"], a["kubernetes_avg"])
        else:
            cell = "-"
        tgt, ok = "", None
        if verb == "ADD":
            tgt = "max <= %d" % TARGET_API_CALLS_ADD
            ok = None if not a.get("n") else a["total_max"] <= TARGET_API_CALLS_ADD
        rows.append(["API calls per %s avg / max" % verb, cell, "0", raw_calls, tgt, verdict(ok)])
    rows.append([])
    p = res.get("process") or {}
    if p:
        ver = p.get("version_ms") or {}
        rows.append(["python -c pass p50 / p95 (ms)", fmt_pair(p.get("python_pass_ms")),
                     "", "", "(reference)", ""])
        ok = None if ver.get("p50") is None else ver["p50"] <= TARGET_VERSION_P50_MS
        rows.append(["python -S -c pass p50 / p95 (ms)", fmt_pair(p.get("python_S_pass_ms")),
                     "", "", "(no site: .pth files)", ""])
        rows.append(["import site (.pth files) (ms)", fmt_ms(p.get("site_ms"), 1),
                     "", "", "(in every start-up)", ""])
        rows.append(["VERSION p50 / p95 (ms)", fmt_pair(ver), "", "",
                     "p50 <= %d" % TARGET_VERSION_P50_MS, verdict(ok)])
        rows.append(["VERSION w/o wrapper p50 / p95 (ms)", fmt_pair(p.get("version_direct_ms")),
                     "", "", "python -c 'import; main()'", ""])
        site_cost = None
        if (p.get("python_pass_ms") or {}).get("p50") is not None and \
                (p.get("python_S_pass_ms") or {}).get("p50") is not None and \
                ver.get("p50") is not None:
            site_cost = p["python_pass_ms"]["p50"] - p["python_S_pass_ms"]["p50"]
            rows.append(["VERSION p50 net of site (est., ms)",
                         fmt_ms(ver["p50"] - site_cost), "", "",
                         "- (pass - pass -S)", ""])
        extra = p.get("version_non_stdlib") or []
        rows.append(["VERSION non-stdlib imports", ", ".join(extra) or "none", "", "",
                     "stdlib only", verdict(not extra and not p.get("version_heavy_loaded"))])
        rows.append(["import skynet.cmd.cni (ms)", fmt_ms(p.get("import_cmd_cni_ms"), 1),
                     "", "", "heavy: " + (", ".join(p.get("import_cmd_cni_heavy") or [])
                                          or "none"), ""])
        rows.append(["import skynet.cni.handler (ms)", fmt_ms(p.get("import_handler_ms"), 1),
                     "", "", "%d modules" % p.get("import_handler_modules", 0), ""])
    return rows


def print_report(res, width):
    headers = ["", "skynet", "bridge+host-local", "raw Neutron", "target", ""]
    print()
    print("skynet bench  run %s  datapath %s  N=%d  width=%d  %s  %d CPUs  load %s -> %s  (wall %.0fs)" % (
        res["run_id"], res.get("datapath", "linuxbridge"), res["n"], width, res["started"],
        res["cpus"], res.get("load_start", "?"),
        res.get("load_end", "?"), res.get("wall_s") or 0))
    if res.get("interrupted"):
        print("INTERRUPTED: partial figures")
    print(render_table(headers, build_rows(res, width)))
    p = res.get("process") or {}
    if p.get("entry_script"):
        print()
        print("skynet executable: %s" % p["entry_script"])
    if p.get("site_top"):
        print("site start-up, heaviest .pth imports (ms): "
              + ", ".join("%s %.0f" % tuple(kv) for kv in p["site_top"]))
    if p.get("import_handler_top"):
        print("skynet.cni.handler import, self time by top-level package (ms): "
              + ", ".join("%s %.0f" % tuple(kv) for kv in p["import_handler_top"]))
    if p.get("import_handler_direct"):
        print("skynet.cni.handler import, its direct imports by cumulative time (ms): "
              + ", ".join("%s %.0f" % tuple(kv) for kv in p["import_handler_direct"]))
    for verb in ("ADD", "DEL"):
        a = (res.get("api_calls") or {}).get(verb) or {}
        for seq, count in (a.get("sequences") or [])[:3]:
            print("%s calls (%dx): %s" % (verb, count, seq))
    for label, sub in (res.get("subjects") or {}).items():
        for mode, verbs in sub.items():
            for verb, d in verbs.items():
                for what, msg in d.get("failures") or []:
                    print("FAILED %s %s %s %s: %s" % (label, mode, verb, what,
                                                      msg.replace("\n", " ")[-300:]))
    if res.get("json_path"):
        print("\nJSON: %s" % res["json_path"])


# ====================================================================== main
def ensure_bridge_plugins():
    if os.path.exists(os.path.join(BRIDGE_CNI_DIR, "bridge")):
        return True
    log("installing containernetworking-plugins")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "containernetworking-plugins"], env=env,
                   check=False)
    return os.path.exists(os.path.join(BRIDGE_CNI_DIR, "bridge"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="pods per batch (default 20)")
    p.add_argument("--width", type=int, default=8, help="concurrency of the wide batch")
    p.add_argument("--version-runs", type=int, default=30, help="VERSION / python runs")
    p.add_argument("--only", action="append", choices=("skynet", "bridge", "raw", "process"),
                   help="run only these parts (repeatable); default: all")
    p.add_argument("--datapath", choices=("linuxbridge", "openvswitch"), default="linuxbridge",
                   help="skynet's datapath driver (openvswitch needs LAB_OVS=1)")
    p.add_argument("--profile", action="store_true",
                   help="also cProfile one in-process ADD (imports included) and print it")
    p.add_argument("--json", help="where to write the figures (default .lab/bench-<ts>.json)")
    p.add_argument("--report", metavar="JSON",
                   help="only print the table of an earlier run's JSON file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        with open(args.report) as f:
            res = json.load(f)
        res["json_path"] = args.report
        print_report(res, res.get("width", args.width))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("bench.py needs root (network namespaces, links)")
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from labsupport import KubeClient, lab_env
    lab = lab_env()
    if lab is None:
        raise SystemExit("lab not up: run `tox -e lab` (or bash tools/lab/lab.sh up)")
    only = set(args.only or ("skynet", "bridge", "raw", "process"))
    if "bridge" in only and not ensure_bridge_plugins():
        log("no %s/bridge: skipping bridge+host-local" % BRIDGE_CNI_DIR)
        only.discard("bridge")

    kube = KubeClient(env=lab)
    ctx = Context(lab, kube, args)
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {"run_id": ctx.run_id, "datapath": args.datapath, "n": args.n, "width": args.width,
           "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "cpus": os.cpu_count(),
           "python": sys.version.split()[0], "skynet": None, "subjects": {},
           "api_calls": {}, "process": None, "load_start": _load()}
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    json_path = args.json or os.path.join(REPO, ".lab", "bench-%s.json" % stamp)
    t0 = time.perf_counter()

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    interrupted = False
    profile_text = None
    sk = None
    try:
        subjects = []
        if "raw" in only:
            subjects.append(RawNeutronBench(ctx))
        if "bridge" in only:
            subjects.append(BridgeBench(ctx))
        if "skynet" in only:
            sk = SkynetBench(ctx)
            res["skynet"] = sk.exe
            subjects.append(sk)
        for subject in subjects:
            warm_up(ctx, subject)
            bench_subject(ctx, subject, args.n, args.width, res["subjects"])
        if sk is not None and not ctx.stop.is_set():
            if args.profile:
                log("profiling one ADD")
                breakdown, text = profile_add(ctx, sk)
                res["profile"] = breakdown
                profile_text = text + "\n\n" + format_breakdown(breakdown)
        if "process" in only:
            log("process time: %d runs each" % args.version_runs)
            res["process"] = process_time(args.version_runs)
    except KeyboardInterrupt:
        interrupted = True
        ctx.stop.set()
        log("interrupted: cleaning up")
    finally:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)   # let the cleanup finish
        try:
            failed = ctx.janitor.cleanup()
            for sweep in (lambda: neutron_sweep(ctx, tags="skynet-bench-run:" + ctx.run_id),
                          (sk.sweep if sk else (lambda: pod_sweep(ctx))),
                          lambda: netns_sweep(ctx), BridgeBench.remove_bridge):
                try:
                    sweep()
                except Exception as exc:
                    failed += 1
                    log("sweep failed: %s" % exc)
            kube.close()
            res["cleanup_failures"] = failed
            if failed:
                log("%d cleanup step(s) failed: see above" % failed)
            shutil.rmtree(ctx.tmp, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, old)
    for sub in res["subjects"].values():
        for mode in sub.values():
            for verb, batch in list(mode.items()):
                if isinstance(batch, Batch):
                    mode[verb] = batch.as_dict()
    if sk is not None:
        res["api_calls"] = {v: api_call_stats(r) for v, r in sk.api.items()}
    res["wall_s"] = time.perf_counter() - t0
    res["load_end"] = _load()
    res["interrupted"] = interrupted
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=2, sort_keys=True)
    res["json_path"] = json_path
    if profile_text:
        print(profile_text)
    print_report(res, args.width)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
