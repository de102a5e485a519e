"""skynet's main job end to end on the lab (`tox -e demo`).

Two annotated Pod objects in the real kube-apiserver, two network
namespaces, the `skynet` executable called for each as a container runtime
calls a CNI plugin, their real Neutron ports shown, a ping between them, and
everything given back (DEL) at the end. Run after `tools/lab/lab.sh up`.
"""

import json
import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.e2e.conftest import cni, netconf_for  # noqa: E402
from tests.labsupport import KubeClient, PodNetns, lab_env, neutron_get  # noqa: E402


def say(msg):
    print(msg, flush=True)


def main():
    lab = lab_env()
    if lab is None:
        sys.exit("the lab is not up: run `tox -e lab` first")
    workdir = os.path.join(ROOT, ".lab", "demo")
    os.makedirs(workdir, exist_ok=True)
    netconf = netconf_for(lab, workdir)
    netconf["name"] = "skynet"
    say("netconf (the seed's shape, pointed at the lab):")
    say(json.dumps(netconf, indent=2))
    kube = KubeClient(env=lab)
    pods = [
        ("demo-a", {"skynet/ip": "10.30.0.4"}),
        ("demo-b", {"skynet/security_group_ids": lab["SKYNET_SG_OPEN"]}),
    ]
    made = []
    rc = 1
    try:
        for name, annotations in pods:
            kube.delete_pod(name)
            for _ in range(50):
                if kube.get_pod(name) is None:
                    break
                time.sleep(0.2)
            pod = kube.create_pod(name, lab["SKYNET_NODE_NAME"],
                                  annotations=annotations)
            ns = PodNetns(prefix="skynet-demo-")
            path = ns.__enter__()
            cid = uuid.uuid4().hex
            made.append((pod, ns, cid))
            say("\n== pod %s (uid %s) annotations %s" % (
                name, pod["metadata"]["uid"], annotations))
            res = cni("ADD", netconf, path, cid, "eth0", pod)
            say("skynet ADD exit %d in %.2f s:" % (res.rc, res.elapsed))
            say(res.stdout)
            if not res.ok:
                say(res.stderr[-2000:])
                return 1
        say("\n== their Neutron ports")
        for pod, _, _ in made:
            for port in neutron_get("ports", device_id=pod["metadata"]["uid"])["ports"]:
                for _ in range(60):
                    if port["status"] == "ACTIVE":
                        break
                    time.sleep(0.5)
                    port = neutron_get("ports/" + port["id"])["port"]
                say("%s: port %s status %s host %s vif %s ips %s sg %s tags %s" % (
                    pod["metadata"]["name"], port["id"], port["status"],
                    port["binding:host_id"], port["binding:vif_type"],
                    [f["ip_address"] for f in port["fixed_ips"]],
                    port["security_groups"], port["tags"]))
        (_, ns_a, _), (_, ns_b, _) = made
        say("\n== ping demo-a -> demo-b (10.30.0.x over the vxlan network)")
        b_ip = json.loads(subprocess.run(
            ["ip", "-n", ns_b.name, "-j", "-4", "addr", "show", "eth0"],
            capture_output=True, text=True).stdout)[0]["addr_info"][0]["local"]
        ping = subprocess.run(["ip", "netns", "exec", ns_a.name, "ping", "-c", "3",
                               "-W", "2", b_ip], capture_output=True, text=True)
        say(ping.stdout)
        rc = ping.returncode
    finally:
        say("== cleanup: skynet DEL, pods and netns removed")
        for pod, ns, cid in reversed(made):
            res = cni("DEL", netconf, ns.path, cid, "eth0", pod)
            say("DEL %s: exit %d" % (pod["metadata"]["name"], res.rc))
            ns.__exit__(None, None, None)
            kube.delete_pod(pod["metadata"]["name"])
        kube.close()
    say("demo %s" % ("OK" if rc == 0 else "FAILED"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
