"""Drivers come only through stevedore entry points; third parties plug in."""

import ast
import os
import pathlib
import subprocess
import sys

from oslo_config import cfg
import pytest

from skynet import conf as skynet_conf
from skynet.drivers import base
from skynet.drivers import loader
from skynet import exceptions

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def conf():
    c = cfg.ConfigOpts()
    skynet_conf.register_opts(c)
    c([])
    loader.reset_cache()
    yield c
    loader.reset_cache()


@pytest.mark.parametrize("kind,name,contract", [
    ("datapath", "linuxbridge", base.DatapathDriver),
    ("datapath", "macvlan", base.DatapathDriver),
    ("ipam", "neutron", base.IpamDriver),
])
def test_builtin_drivers_load_through_entry_points(conf, kind, name, contract):
    conf.set_override("driver", name, group=kind)
    drv = (loader.get_datapath_driver(conf) if kind == "datapath"
           else loader.get_ipam_driver(conf))
    assert isinstance(drv, contract)
    assert type(drv).__module__.startswith("skynet_drivers.")


def test_security_drivers_in_order(conf):
    drivers = loader.get_security_drivers(conf)
    assert [type(d).__name__ for d in drivers] == ["NeutronSecurityDriver"]


@pytest.mark.parametrize("kind", ["datapath", "ipam"])
def test_unknown_driver_is_a_named_config_error(conf, kind):
    conf.set_override("driver", "no-such-driver", group=kind)
    with pytest.raises(exceptions.DriverNotFound) as err:
        if kind == "datapath":
            loader.get_datapath_driver(conf)
        else:
            loader.get_ipam_driver(conf)
    assert err.value.code == 7
    assert "[%s] driver" % kind in err.value.msg
    assert "no-such-driver" in err.value.msg


def test_driver_breaking_the_contract_is_refused(conf, monkeypatch):
    class NotADriver:
        def __init__(self, *a):
            pass

    class FakeManager:
        def __init__(self, *a, **kw):
            self.driver = NotADriver
    monkeypatch.setattr(loader.stevedore_driver, "DriverManager", FakeManager)
    with pytest.raises(TypeError):
        loader.get_datapath_driver(conf)


def test_core_never_imports_builtin_drivers():
    offenders = []
    for path in (ROOT / "skynet").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += ["%s: %s" % (path.name, n) for n in names
                          if n.split(".")[0] == "skynet_drivers"]
    assert offenders == []


def test_third_party_package_plugs_in_without_core_change(tmp_path):
    """Install a separate package with its own entry point; skynet loads it
    by the name given in config, and registers its options in
    [datapath_<name>]."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--no-build-isolation", "--target", str(target),
         str(ROOT / "tests" / "thirdparty" / "skynet_example_driver")],
        check=True, capture_output=True)
    code = """
from oslo_config import cfg
from skynet import conf
from skynet.drivers import loader
conf.register_opts(cfg.CONF)
cfg.CONF([], default_config_files=[])
cfg.CONF.set_override('driver', 'example-veth', group='datapath')
drv = loader.get_datapath_driver()
cfg.CONF.set_override('record_file', '/tmp/x', group='datapath_example-veth')
print(type(drv).__module__, type(drv).__name__, drv.conf.record_file)
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(target), str(ROOT)]))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["skynet_example", "ExampleVethDriver", "/tmp/x"]
