"""A third party's datapath driver, installed as its own package with its
own entry point, wires a real pod on the lab with no change to skynet."""

import json
import os
import subprocess
import sys

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.conftest import skynet_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def driver_site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--no-build-isolation", "--target", str(target),
         os.path.join(ROOT, "tests", "thirdparty", "skynet_example_driver")],
        check=True, capture_output=True)
    return str(target)


def test_third_party_datapath_wires_a_pod(lab, pods, driver_site, tmp_path):
    record = tmp_path / "calls.jsonl"
    conf_file = tmp_path / "skynet.conf"
    conf_file.write_text("[datapath_example-veth]\nrecord_file = %s\n" % record)
    netconf = pods.netconf(plugin_type="example-veth")
    netconf["config_file"] = str(conf_file)
    env = {"PYTHONPATH": driver_site}
    pod = pods.create()
    from tests.labsupport import PodNetns
    with PodNetns() as path:
        res = e2e.cni("ADD", netconf, path, "c3p", "eth0", pod, env=env)
        assert res.ok, res
        port = skynet_ports(lab, device_id=pod["metadata"]["uid"])[0]
        assert res.json["interfaces"][0]["name"] == "sk3p" + port["id"][:11]
        addr = json.loads(subprocess.run(
            ["ip", "-n", os.path.basename(path), "-j", "addr", "show", "eth0"],
            capture_output=True, text=True).stdout)[0]["addr_info"]
        assert port["fixed_ips"][0]["ip_address"] in [a["local"] for a in addr]
        res = e2e.cni("DEL", netconf, path, "c3p", "eth0", pod, env=env)
        assert res.ok, res
    calls = [json.loads(line)["verb"] for line in record.read_text().splitlines()]
    assert calls == ["plug", "unplug"]
    assert skynet_ports(lab, device_id=pod["metadata"]["uid"]) == []
