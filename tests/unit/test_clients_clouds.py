"""skynet.clients.clouds: clouds.yaml lookup and plugin building."""

import os

import pytest
import yaml

from skynet.clients import clouds
from skynet import exceptions

PW_CLOUD = {"auth_type": "password",
            "auth": {"auth_url": "https://ks:5443/v3", "username": "skynet",
                     "password": "pw-SECRET", "project_name": "skynet",
                     "user_domain_name": "Default",
                     "project_domain_name": "Default"},
            "region_name": "RegionOne", "interface": "public",
            "cacert": "/etc/ssl/lab-ca.crt"}
AC_CLOUD = {"auth_type": "v3applicationcredential",
            "auth": {"auth-url": "https://ks:5443/v3",
                     "application_credential_id": "AC1",
                     "application_credential_secret": "ac-SECRET"}}


def _write(path, clouds_, mode=0o600):
    path.write_text(yaml.safe_dump({"clouds": clouds_}))
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    d = tmp_path / "cwd"
    d.mkdir()
    monkeypatch.chdir(d)
    return d


@pytest.mark.parametrize("where,expected", [
    ("env", "env.yaml"),
    ("cwd", "cwd/clouds.yaml"),
    ("home", "home/.config/openstack/clouds.yaml"),
])
def test_search_order(tmp_path, cwd, where, expected):
    env = {"HOME": str(tmp_path / "home")}
    if where == "env":
        env["OS_CLIENT_CONFIG_FILE"] = _write(tmp_path / "env.yaml",
                                              {"a": PW_CLOUD})
    if where in ("env", "cwd"):
        _write(cwd / "clouds.yaml", {"a": PW_CLOUD})
    os.makedirs(tmp_path / "home/.config/openstack")
    _write(tmp_path / "home/.config/openstack/clouds.yaml", {"a": PW_CLOUD})
    cloud, path = clouds.find_cloud("a", environ=env)
    assert path == str(tmp_path / expected)
    assert cloud["auth"]["username"] == "skynet"


@pytest.mark.parametrize("name,clouds_file,needle", [
    ("nope", "exists", "'nope' is not a cloud in"),
    ("a", "/nonexistent/clouds.yaml", "neutron.clouds_file"),
    ("a", None, "no clouds.yaml found"),
])
def test_lookup_errors_name_what_is_wrong(tmp_path, cwd, name, clouds_file,
                                          needle):
    if clouds_file == "exists":
        clouds_file = _write(tmp_path / "c.yaml", {"a": PW_CLOUD,
                                                   "b": AC_CLOUD})
    with pytest.raises(exceptions.InvalidConfig) as ei:
        clouds.find_cloud(name, clouds_file,
                          environ={"HOME": str(tmp_path / "nohome")})
    assert needle in ei.value.msg
    assert "SECRET" not in ei.value.msg
    if needle.startswith("'nope'"):
        assert "(it has: a, b)" in ei.value.msg


def test_bad_yaml_is_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("clouds: [oops\n")
    with pytest.raises(exceptions.InvalidConfig) as ei:
        clouds.find_cloud("a", str(p))
    assert "is not valid YAML" in ei.value.msg


def test_secure_yaml_is_merged(tmp_path, cwd):
    public = dict(PW_CLOUD, auth=dict(PW_CLOUD["auth"]))
    del public["auth"]["password"]
    _write(cwd / "clouds.yaml", {"a": public})
    _write(cwd / "secure.yaml", {"a": {"auth": {"password": "from-secure"}}})
    cloud, _ = clouds.find_cloud("a", environ={})
    assert cloud["auth"]["password"] == "from-secure"
    assert cloud["auth"]["username"] == "skynet"


@pytest.mark.parametrize("cloud,plugin,verify,interface,values", [
    (PW_CLOUD, "Password", "/etc/ssl/lab-ca.crt", "public",
     {"username": "skynet", "project_name": "skynet"}),
    (AC_CLOUD, "ApplicationCredential", True, None,
     {"application_credential_id": "AC1"}),
    (dict(AC_CLOUD, verify=False), "ApplicationCredential", False, None, {}),
    (dict(PW_CLOUD, interface="internal", cacert=None), "Password", True,
     "internal", {}),
])
def test_load_builds_plugin_and_settings(tmp_path, cloud, plugin, verify,
                                         interface, values):
    f = _write(tmp_path / "c.yaml", {"x": cloud})
    s = clouds.load("x", f)
    assert type(s.auth).__name__ == plugin
    assert s.verify == verify
    assert s.interface == interface
    for k, v in values.items():
        assert s.values[k] == v
    assert not any("SECRET" in str(v) for v in s.values.values())
    assert not any("secret" in k or "password" in k for k in s.values)


@pytest.mark.parametrize("cloud,needle", [
    ({"auth_type": "no-such-plugin", "auth": {}}, "does not know"),
    ({"auth_type": "v3applicationcredential",
      "auth": {"application_credential_id": "x",
               "application_credential_secret": "y"}},
     "lacks auth auth_url"),
])
def test_bad_cloud_is_named(tmp_path, cloud, needle):
    f = _write(tmp_path / "c.yaml", {"x": cloud})
    with pytest.raises(exceptions.InvalidConfig) as ei:
        clouds.load("x", f)
    assert needle in ei.value.msg
    assert ei.value.field == "neutron.cloud"


@pytest.mark.parametrize("mode,warned", [(0o600, False), (0o644, True)])
def test_readable_clouds_yaml_with_secret_warns(tmp_path, caplog, mode,
                                                warned):
    f = _write(tmp_path / "c.yaml", {"x": PW_CLOUD}, mode=mode)
    clouds.load("x", f)
    assert ("readable by group/others" in caplog.text) is warned
    assert "pw-SECRET" not in caplog.text
