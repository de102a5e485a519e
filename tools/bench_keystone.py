#!/usr/bin/env python3
"""Keystone benchmark of skynet on the lab (needs `LAB_KEYSTONE=1 tox -e lab`).

    python tools/bench_keystone.py [--n 20] [--modes noauth,password,appcred,password-nocache]

In ONE run, interleaved round-robin (so load drifts hit every mode alike),
it ADDs --n pods per mode with the real ``skynet`` executable and then DELs
them, and prints per mode:

* ADD and DEL latency p50 / p95 (ms);
* Keystone token requests (``POST /v3/auth/tokens`` in haproxy's log) per
  --n ADDs, and per --n ADD+DEL, attributed call by call;
* Neutron's token validations (``GET /v3/auth/tokens``, keystonemiddleware's
  per-worker cache misses) in the same windows.

Modes: ``noauth`` (the main lab's Neutron, no Keystone), ``password`` and
``appcred`` (the keystone neutron-server through TLS, endpoint from the
catalog, token cache on), ``password-nocache`` (token_cache = false: what
every ADD would cost without the cache). Each mode has a fresh state dir,
so its first ADD authenticates. Pods, netns and ports are removed at the
end, also on failure. Results also go to .lab/bench-keystone-<ts>.json.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def haproxy_counts(path):
    post = get = 0
    with open(path) as f:
        for line in f:
            if '"POST /v3/auth/tokens' in line:
                post += 1
            elif '"GET /v3/auth/tokens' in line:
                get += 1
    return post, get


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--modes",
                    default="noauth,password,appcred,password-nocache")
    args = ap.parse_args(argv)
    modes = args.modes.split(",")

    from e2e.conftest import cni, netconf_for            # noqa: E402
    from e2e.test_keystone import _read_env, KS_ENV_FILE  # noqa: E402
    from e2e.test_keystone import appcred_conf, password_conf, _write_conf
    import labsupport                                     # noqa: E402
    import pathlib

    lab = labsupport.lab_env()
    if lab is None or not os.path.exists(KS_ENV_FILE):
        sys.exit("needs the lab with Keystone: LAB_KEYSTONE=1 tox -e lab")
    ks = _read_env(KS_ENV_FILE)
    hlog = ks["SKYNET_KS_HAPROXY_LOG"]
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="skynet-bench-ks-"))
    kube = labsupport.KubeClient(env=lab)

    def netconf(mode):
        d = tmp / mode
        d.mkdir(exist_ok=True)
        nc = netconf_for(lab, d, version="1.0.0")
        nc["log_level"] = "info"
        if mode == "noauth":
            return nc
        nc["neutron"].pop("neutron_url")
        nc["neutron"]["default_network_id"] = ks["SKYNET_KS_NET"]
        nc["neutron"]["default_security_group_ids"] = ""
        nc["neutron"].pop("external_router_gateway_ip")
        nc["neutron"].pop("service_cluster_ip_cidr")
        sections = (appcred_conf(ks) if mode == "appcred"
                    else password_conf(ks))
        if mode.endswith("-nocache"):
            sections["neutron"]["token_cache"] = "false"
        nc["config_file"] = _write_conf(d, sections)
        return nc

    ncs = {m: netconf(m) for m in modes}
    made = []     # (mode, pod, netns ctx, path, cid)
    res = {m: {"add_ms": [], "del_ms": [], "add_post": 0, "add_get": 0,
               "del_post": 0, "del_get": 0, "errors": []} for m in modes}

    def timed(mode, verb, pod, path, cid):
        before = haproxy_counts(hlog)
        r = cni(verb, ncs[mode], path, cid, "eth0", pod)
        time.sleep(0.05)         # haproxy logs when the stream closes
        after = haproxy_counts(hlog)
        key = verb.lower()
        if r.ok:
            res[mode][key + "_ms"].append(r.elapsed * 1000)
        else:
            res[mode]["errors"].append("%s: %s" % (verb, r.stdout[-300:]))
        res[mode][key + "_post"] += after[0] - before[0]
        res[mode][key + "_get"] += after[1] - before[1]

    t0 = time.monotonic()
    try:
        for i in range(args.n):
            for mode in modes:
                pod = kube.create_pod("bench-ks-" + uuid.uuid4().hex[:8],
                                      lab["SKYNET_NODE_NAME"])
                ns = labsupport.PodNetns()
                path = ns.__enter__()
                cid = uuid.uuid4().hex
                made.append((mode, pod, ns, path, cid))
                timed(mode, "ADD", pod, path, cid)
            print("round %d/%d done (%.0fs)" % (i + 1, args.n,
                                                time.monotonic() - t0),
                  file=sys.stderr)
        for mode, pod, ns, path, cid in list(made):
            timed(mode, "DEL", pod, path, cid)
    finally:
        for mode, pod, ns, path, cid in made:
            ns.__exit__(None, None, None)
            kube.delete_pod(pod["metadata"]["name"])
        kube.close()

    print()
    print("skynet ADD/DEL, %d pods per mode, interleaved; token requests "
          "counted in %s" % (args.n, hlog))
    head = ("mode", "ADD p50", "ADD p95", "DEL p50", "DEL p95",
            "token POSTs /%d ADD" % args.n, "/%d ADD+DEL" % args.n,
            "validations (GET)", "errors")
    rows = []
    out = {"n": args.n, "when": datetime.datetime.now().isoformat(),
           "modes": {}}
    for m in modes:
        r = res[m]
        row = (m, percentile(r["add_ms"], 50), percentile(r["add_ms"], 95),
               percentile(r["del_ms"], 50), percentile(r["del_ms"], 95),
               r["add_post"], r["add_post"] + r["del_post"],
               r["add_get"] + r["del_get"], len(r["errors"]))
        rows.append(row)
        out["modes"][m] = dict(r, add_p50=row[1], add_p95=row[2],
                               del_p50=row[3], del_p95=row[4],
                               add_mean=(statistics.mean(r["add_ms"])
                                         if r["add_ms"] else None))
    fmt = "%-18s %8s %8s %8s %8s %18s %12s %18s %7s"
    print(fmt % head)
    for row in rows:
        print(fmt % tuple(("%.0f" % v) if isinstance(v, float) else v
                          for v in row))
    for m in modes:
        for e in res[m]["errors"][:3]:
            print("  %s error: %s" % (m, e))
    path = os.path.join(REPO, ".lab", "bench-keystone-%s.json"
                        % time.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("\nfigures: %s" % path)
    return 0 if not any(res[m]["errors"] for m in modes) else 1


if __name__ == "__main__":
    sys.exit(main())
