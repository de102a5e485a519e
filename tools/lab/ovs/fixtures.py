#!/usr/bin/env python3
"""Neutron fixtures of the lab's Open vSwitch / OVN part (stdlib only; tools/lab/ovs.sh runs it).

Reuses tools/lab/fixtures.py (idempotent find-or-create). Writes ``export K=V`` lines:

* main server (ML2/OVS agent): SKYNET_OVS_NET_VXLAN / SKYNET_OVS_SUBNET_VXLAN4, a vxlan network of its
  own. The linuxbridge tests' skynet-vxlan network is *not* used for OVS pods on purpose: with
  l2_population both agents would then get flooding entries for each other's VTEP (172.31.254.1 and
  172.31.253.1 are both local addresses of this one machine), and the linuxbridge agent's kernel vxlan
  device would receive its own floods back, learning pod MACs on the wrong port.
* OVN server (--ovn-url): SKYNET_OVN_NET_GENEVE / SKYNET_OVN_SUBNET_GENEVE4 (tenant type geneve) and
  SKYNET_OVN_SG_OPEN / SKYNET_OVN_SG_RESTRICTED, the same rules as the main lab's groups.

    python3 tools/lab/ovs/fixtures.py --url http://127.0.0.1:9696 [--ovn-url http://127.0.0.1:9697] \
        --out .lab/run/ovs/fixtures.env
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fixtures as lab_fixtures  # noqa: E402  tools/lab/fixtures.py


def ensure_subnet(n, name, net_id, cidr, gateway, pool):
    found = n.find("subnets", name=name, network_id=net_id)
    if found:
        lab_fixtures.log("subnet %s: exists %s" % (name, found[0]["id"]))
        return found[0]
    sub = n.call("POST", "subnets", {"subnet": {
        "name": name, "network_id": net_id, "ip_version": 4, "cidr": cidr,
        "gateway_ip": gateway, "allocation_pools": [{"start": pool[0], "end": pool[1]}]}})["subnet"]
    lab_fixtures.log("subnet %s: created %s" % (name, sub["id"]))
    return sub


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:9696")
    ap.add_argument("--ovn-url", help="the ML2/OVN neutron-server (LAB_OVN=1)")
    ap.add_argument("--out", help="write export lines here (default: stdout)")
    args = ap.parse_args()
    env = {}
    n = lab_fixtures.Neutron(args.url)
    net = lab_fixtures.ensure_network(n, "skynet-ovs-vxlan", {"provider:network_type": "vxlan"})
    sub = ensure_subnet(n, "skynet-ovs-vxlan-v4", net["id"], "10.50.0.0/24", "10.50.0.1",
                        ("10.50.0.10", "10.50.0.250"))
    env["SKYNET_OVS_NET_VXLAN"] = net["id"]
    env["SKYNET_OVS_SUBNET_VXLAN4"] = sub["id"]
    if args.ovn_url:
        o = lab_fixtures.Neutron(args.ovn_url)
        net = lab_fixtures.ensure_network(o, "skynet-ovn-geneve", {})       # tenant_network_types = geneve
        if net.get("provider:network_type") != "geneve":
            raise RuntimeError("network skynet-ovn-geneve is %s, not geneve"
                               % net.get("provider:network_type"))
        sub = ensure_subnet(o, "skynet-ovn-geneve-v4", net["id"], "10.70.0.0/24", "10.70.0.1",
                            ("10.70.0.10", "10.70.0.250"))
        env["SKYNET_OVN_NET_GENEVE"] = net["id"]
        env["SKYNET_OVN_SUBNET_GENEVE4"] = sub["id"]
        sgs = {}
        lab_fixtures.ensure_security_groups(o, sgs)
        env["SKYNET_OVN_SG_OPEN"] = sgs["SKYNET_SG_OPEN"]
        env["SKYNET_OVN_SG_RESTRICTED"] = sgs["SKYNET_SG_RESTRICTED"]
    lab_fixtures.write_exports(env, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
