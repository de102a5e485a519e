"""The `skynet` executable as a runtime calls it: env + stdin, JSON on stdout."""

import json
import os
import subprocess
import sys

import pytest

from skynet.cmd import cni

HEAVY = ("oslo_config", "oslo_log", "keystoneauth1", "pyroute2", "stevedore",
         "requests", "yaml")


def _call(env, stdin):
    import io
    out = io.StringIO()
    rc = cni._run(env, io.StringIO(stdin), out)
    return rc, json.loads(out.getvalue()) if out.getvalue() else None


def test_version_any_stdin():
    rc, out = _call({"CNI_COMMAND": "VERSION"}, '{"cniVersion": "1.1.0"}')
    assert rc == 0
    assert out["supportedVersions"] == ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


@pytest.mark.parametrize("env,stdin,code,needle", [
    ({}, "{}", 4, "CNI_COMMAND"),
    ({"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0",
      "CNI_NETNS": "/x"}, "{nope", 6, "not valid JSON"),
    ({"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0",
      "CNI_NETNS": "/x"}, '{"cniVersion": "9.9.9"}', 1, "9.9.9"),
    ({"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0",
      "CNI_NETNS": "/x"},
     '{"cniVersion": "1.0.0", "neutron": {"default_network_id": "x"}}', 7,
     "neutron.default_network_id: 'x' is not a UUID"),
    ({"CNI_COMMAND": "CHECK", "CNI_CONTAINERID": "c", "CNI_IFNAME": "eth0",
      "CNI_NETNS": "/x"}, '{"cniVersion": "0.3.1"}', 1, "CHECK needs"),
])
def test_errors_are_cni_json(env, stdin, code, needle):
    rc, out = _call(env, stdin)
    assert rc == 1
    assert out["code"] == code
    assert needle in out["msg"]
    assert set(out) == {"cniVersion", "code", "msg", "details"}


def test_entry_point_imports_stdlib_only():
    """VERSION must not pay for oslo/keystoneauth/pyroute2/requests imports."""
    code = ("import sys, skynet.cmd.cni; "
            "print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == ""


def test_version_process_loads_no_heavy_module():
    code = ("import io, sys, runpy; sys.argv=['skynet'];"
            "sys.stdin = io.StringIO('{}');"
            "from skynet.cmd import cni;"
            "rc = cni._run({'CNI_COMMAND': 'VERSION'}, sys.stdin, io.StringIO());"
            "print(rc, ','.join(m for m in %r if m in sys.modules))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, env=dict(os.environ)).stdout
    assert out.strip() == "0"
