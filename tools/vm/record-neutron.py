#!/usr/bin/env python3
"""Record the Neutron answers the VM tests replay (stdlib only).

The VM has no network device, so the tests inside it cannot ask Neutron:
they replay what the lab's Neutron answered for the lab's vlan network
(``skynet-vlan``, physnet1, VLAN 100), its IPv4 subnet and two ports made
on it. The ports are created, read back and deleted again; the output is
``tests/vm/neutron_recorded.json``.

    python3 tools/vm/record-neutron.py --url http://127.0.0.1:9696
"""

import argparse
import json
import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(
    os.path.join(HERE, "..", "..", "tests", "vm", "neutron_recorded.json"))


class Neutron:
    def __init__(self, url):
        self.base = url.rstrip("/") + "/v2.0/"
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json",
                     "Accept": "application/json"})
        with self.opener.open(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:9696")
    ap.add_argument("--network", default="skynet-vlan")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    n = Neutron(args.url)
    nets = n.call("GET", "networks?name=%s" % args.network)["networks"]
    if not nets:
        sys.exit("no network %r: run `tox -e lab` first" % args.network)
    net = nets[0]
    subnets = [n.call("GET", "subnets/%s" % s)["subnet"]
               for s in net["subnets"]]
    ports = []
    try:
        for i, host in enumerate(("vm-node-a", "vm-node-b")):
            port = n.call("POST", "ports", {"port": {
                "network_id": net["id"],
                "name": "skynet-vm-recording-%d" % i,
                "device_owner": "compute:skynet",
                "device_id": "vm-recording-pod-%d" % i,
                "binding:host_id": host}})["port"]
            ports.append(port)
        ports = [n.call("GET", "ports/%s" % p["id"])["port"] for p in ports]
    finally:
        for p in ports:
            n.call("DELETE", "ports/%s" % p["id"])
    with open(args.out, "w") as f:
        json.dump({"source": "%s (neutron lab), recorded by "
                             "tools/vm/record-neutron.py" % args.url,
                   "network": net, "subnets": subnets, "ports": ports},
                  f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s: network %s, %d subnets, %d ports"
          % (args.out, net["id"], len(subnets), len(ports)))


if __name__ == "__main__":
    main()
