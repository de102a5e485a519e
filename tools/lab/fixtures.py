#!/usr/bin/env python3
"""Neutron fixtures for the skynet lab (stdlib only: runs with any python3).

Idempotent: every object is looked up by name and created only if missing; subnets that exist get
their mutable attributes (gateway, pools, DNS, host routes) re-applied, missing security-group rules
are added.  Writes shell ``export K=V`` lines (SKYNET_NET_*, SKYNET_SUBNET_*, SKYNET_SG_*) to --out.

Noauth Neutron: requests carry no project header, so they run as admin in project "fake_project_id"
(see /work/shared/NEUTRON-LAB.md, "noauth semantics").

    python3 tools/lab/fixtures.py --url http://127.0.0.1:9696 --out .lab/run/fixtures.env
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

# Allocation pools start at .10 so that tests can ask for fixed IPs in .2-.9 (e.g. 10.30.0.5).
NETWORKS = [
    # env suffix, name, provider attributes
    ("FLAT", "skynet-flat", {"provider:network_type": "flat",
                             "provider:physical_network": "physnet1"}),
    ("VLAN", "skynet-vlan", {"provider:network_type": "vlan",
                             "provider:physical_network": "physnet1",
                             "provider:segmentation_id": 100}),
    ("VXLAN", "skynet-vxlan", {}),   # tenant network type vxlan, VNI picked by Neutron
]
V6_MODES = {"ipv6_address_mode": "dhcpv6-stateful", "ipv6_ra_mode": "dhcpv6-stateful"}
SUBNETS = [
    # env suffix, name, network env suffix, create-only attrs, mutable attrs
    ("FLAT4", "skynet-flat-v4", "FLAT", {"ip_version": 4, "cidr": "10.20.0.0/24"},
     {"gateway_ip": "10.20.0.1",
      "allocation_pools": [{"start": "10.20.0.10", "end": "10.20.0.250"}]}),
    # dhcpv6-stateful (not slaac): Neutron accepts a requested fixed IPv6 address on it
    ("FLAT6", "skynet-flat-v6", "FLAT", dict(ip_version=6, cidr="fd00:20::/64", **V6_MODES),
     {"gateway_ip": "fd00:20::1",
      "allocation_pools": [{"start": "fd00:20::100", "end": "fd00:20::ffff"}]}),
    ("VXLAN4", "skynet-vxlan-v4", "VXLAN", {"ip_version": 4, "cidr": "10.30.0.0/24"},
     {"gateway_ip": "10.30.0.1",
      "allocation_pools": [{"start": "10.30.0.10", "end": "10.30.0.250"}],
      "dns_nameservers": ["10.30.0.2", "10.30.0.3"],
      "host_routes": [{"destination": "10.99.0.0/16", "nexthop": "10.30.0.254"}]}),
    ("VXLAN6", "skynet-vxlan-v6", "VXLAN", dict(ip_version=6, cidr="fd00:30::/64", **V6_MODES),
     {"gateway_ip": "fd00:30::1",
      "allocation_pools": [{"start": "fd00:30::100", "end": "fd00:30::ffff"}]}),
    ("VLAN4", "skynet-vlan-v4", "VLAN", {"ip_version": 4, "cidr": "10.40.0.0/24"},
     {"gateway_ip": "10.40.0.1",
      "allocation_pools": [{"start": "10.40.0.10", "end": "10.40.0.250"}]}),
]
SELF = object()   # placeholder for remote_group_id = the group itself
SECURITY_GROUPS = [
    ("OPEN", "skynet-open", "lab: all traffic between members (v4+v6)", [
        {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": SELF},
        {"direction": "ingress", "ethertype": "IPv6", "remote_group_id": SELF},
    ]),
    ("RESTRICTED", "skynet-restricted", "lab: ingress only tcp/80 from anywhere (no icmp)", [
        {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
         "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"},
    ]),
]
RULE_KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
             "remote_ip_prefix", "remote_group_id")


class Neutron:
    def __init__(self, url):
        self.base = url.rstrip("/") + "/v2.0/"
        # no proxies for the loopback API, whatever the environment says
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
        try:
            with self.opener.open(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s -> HTTP %s: %s" % (method, path, e.code,
                                                         e.read().decode(errors="replace")))
        return json.loads(raw) if raw else None

    def find(self, collection, **filters):
        q = urllib.parse.urlencode(filters)
        return self.call("GET", "%s?%s" % (collection, q))[collection.replace("-", "_")]


def log(msg):
    print(msg, file=sys.stderr)


def ensure_network(n, name, provider):
    """The network called ``name`` (created with ``provider`` attributes if
    missing; an existing one must have them)."""
    found = n.find("networks", name=name)
    if found:
        net = found[0]
        for k, v in provider.items():
            if net.get(k) != v:
                raise RuntimeError("network %s exists with %s=%r, want %r (run lab.sh down)"
                                   % (name, k, net.get(k), v))
        log("network %s: exists %s" % (name, net["id"]))
        return net
    net = n.call("POST", "networks", {"network": dict(name=name, **provider)})["network"]
    log("network %s: created %s (%s %s)" % (
        name, net["id"], net.get("provider:network_type"), net.get("provider:segmentation_id")))
    return net


def ensure_networks(n, env):
    for key, name, provider in NETWORKS:
        env["SKYNET_NET_" + key] = ensure_network(n, name, provider)["id"]


def ensure_subnets(n, env):
    for key, name, netkey, create, mutable in SUBNETS:
        net_id = env["SKYNET_NET_" + netkey]
        found = n.find("subnets", name=name, network_id=net_id)
        if found:
            sub = found[0]
            if sub["cidr"] != create["cidr"]:
                raise RuntimeError("subnet %s has cidr %s, want %s" % (name, sub["cidr"], create["cidr"]))
            if any(sub.get(k) != v for k, v in mutable.items()):
                sub = n.call("PUT", "subnets/" + sub["id"], {"subnet": mutable})["subnet"]
                log("subnet %s: updated %s" % (name, sub["id"]))
            else:
                log("subnet %s: exists %s" % (name, sub["id"]))
        else:
            body = dict(name=name, network_id=net_id, **create)
            body.update(mutable)
            sub = n.call("POST", "subnets", {"subnet": body})["subnet"]
            log("subnet %s: created %s" % (name, sub["id"]))
        env["SKYNET_SUBNET_" + key] = sub["id"]


def ensure_security_groups(n, env):
    for key, name, desc, rules in SECURITY_GROUPS:
        found = n.find("security-groups", name=name)
        if found:
            sg = found[0]
            log("security group %s: exists %s" % (name, sg["id"]))
        else:
            # Neutron adds its default egress rules (IPv4 + IPv6, any) on creation
            sg = n.call("POST", "security-groups",
                        {"security_group": {"name": name, "description": desc}})["security_group"]
            log("security group %s: created %s" % (name, sg["id"]))
        have = {tuple(r.get(k) for k in RULE_KEYS)
                for r in n.find("security-group-rules", security_group_id=sg["id"])}
        for rule in rules:
            rule = {k: (sg["id"] if v is SELF else v) for k, v in rule.items()}
            want = tuple(rule.get(k) for k in RULE_KEYS)
            if want in have:
                continue
            n.call("POST", "security-group-rules",
                   {"security_group_rule": dict(security_group_id=sg["id"], **rule)})
            log("security group %s: rule added %s" % (name, rule))
        env["SKYNET_SG_" + key] = sg["id"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("SKYNET_NEUTRON_URL", "http://127.0.0.1:9696"))
    ap.add_argument("--out", help="write export lines here (default: stdout)")
    args = ap.parse_args()
    n = Neutron(args.url)
    env = {}
    ensure_networks(n, env)
    ensure_subnets(n, env)
    ensure_security_groups(n, env)
    write_exports(env, args.out)
    return 0


def write_exports(env, out=None):
    """``export K=V`` lines, atomically into ``out`` (or to stdout)."""
    text = "".join("export %s=%s\n" % kv for kv in sorted(env.items()))
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
