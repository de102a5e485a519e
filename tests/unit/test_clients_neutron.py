"""skynet.clients.neutron: auth selection, TLS, token cache, error mapping."""

import datetime
import json
import os

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
import pytest
import yaml

from skynet.clients import neutron
from skynet import conf as skynet_conf
from skynet import exceptions


def _conf(tmp_path, **neutron_opts):
    conf = cfg.ConfigOpts()
    skynet_conf.register_opts(conf)
    files = []
    if neutron_opts:
        p = tmp_path / "skynet.conf"
        p.write_text("[neutron]\n" + "".join(
            "%s = %s\n" % kv for kv in neutron_opts.items()))
        os.chmod(p, 0o600)
        files = [str(p)]
    conf(args=[], project="skynet-test", default_config_files=files)
    conf.set_override("state_dir", str(tmp_path / "state"))
    return conf


PW = dict(auth_type="password", auth_url="https://ks:5443/v3",
          username="skynet", password="pw-SECRET", project_name="skynet",
          user_domain_name="Default", project_domain_name="Default")


@pytest.mark.parametrize("opts,cls,endpoint,cache", [
    (dict(endpoint_override="http://n:9696"), "NoAuth", "http://n:9696",
     False),
    (dict(endpoint_override="http://n:9696", auth_type="none"), "NoAuth",
     "http://n:9696", False),
    (PW, "Password", "<catalog network", True),
    (dict(PW, endpoint_override="https://n:9443"), "Password",
     "https://n:9443", True),
    (dict(PW, token_cache="false"), "Password", "<catalog", False),
    (dict(auth_type="v3applicationcredential", auth_url="https://ks/v3",
          application_credential_id="AC",
          application_credential_secret="ac-SECRET"),
     "ApplicationCredential", "<catalog", True),
])
def test_auth_selection(tmp_path, opts, cls, endpoint, cache):
    c = neutron.NeutronClient(_conf(tmp_path, **opts))
    assert type(c.auth).__name__ == cls
    assert c.endpoint.startswith(endpoint)
    assert (c.cache is not None) is cache
    assert c.session.session.trust_env is False
    if c.identity:
        assert "SECRET" not in c.identity


@pytest.mark.parametrize("opts,field", [
    ({}, "neutron.neutron_url"),
    (dict(auth_type="bogus-plugin"), "neutron.auth_type"),
    (dict(auth_type="password", username="u"), "neutron.auth_url"),
    (dict(auth_type="v3applicationcredential", auth_url="https://k/v3",
          application_credential_id="AC"),
     "neutron.auth_type"),             # "You must provide an auth secret."
    (dict(auth_type="v3applicationcredential", auth_url="https://k/v3",
          application_credential_secret="ac-SECRET"), "neutron.auth_type"),
])
def test_config_errors_name_the_field(tmp_path, opts, field):
    with pytest.raises(exceptions.InvalidConfig) as ei:
        neutron.NeutronClient(_conf(tmp_path, **opts))
    assert ei.value.field == field
    assert "SECRET" not in ei.value.msg


@pytest.mark.parametrize("opts,verify,trust", [
    (dict(PW), True, "python-requests CA bundle"),
    (dict(PW, cafile="/lab/ca.crt"), "/lab/ca.crt", "the CA file /lab/ca.crt"),
    (dict(PW, insecure="true"), False, "nothing (insecure)"),
    (dict(endpoint_override="https://n", cafile="/ca"), "/ca", "/ca"),
])
def test_tls_is_deterministic(tmp_path, opts, verify, trust, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/env/bundle.pem")
    c = neutron.NeutronClient(_conf(tmp_path, **opts))
    assert c.session.verify == verify
    assert trust in c.trust
    # what requests will really use: the env bundle must not win
    settings = c.session.session.merge_environment_settings(
        "https://n/", {}, None, c.session.verify, None)
    assert settings["verify"] == verify


def test_cloud_settings_and_overrides(tmp_path):
    f = tmp_path / "clouds.yaml"
    f.write_text(yaml.safe_dump({"clouds": {"lab": {
        "auth_type": "password", "auth": {
            "auth_url": "https://ks/v3", "username": "skynet",
            "password": "pw-SECRET", "project_name": "skynet",
            "user_domain_name": "Default", "project_domain_name": "Default"},
        "region_name": "R1", "interface": "internal",
        "cacert": "/cloud/ca.crt"}}}))
    os.chmod(f, 0o600)
    c = neutron.NeutronClient(_conf(tmp_path, cloud="lab",
                                    clouds_file=str(f)))
    assert c.session.verify == "/cloud/ca.crt"
    assert c.adapter.interface == "internal"
    assert c.adapter.region_name == "R1"
    assert c.identity.startswith("cloud lab (%s)" % f)
    c = neutron.NeutronClient(_conf(tmp_path, cloud="lab", clouds_file=str(f),
                                    cafile="/mine.crt",
                                    endpoint_override="https://n:9443"))
    assert c.session.verify == "/mine.crt"
    assert c.endpoint == "https://n:9443"


def test_world_readable_skynet_conf_warns(tmp_path, caplog):
    conf = _conf(tmp_path, **PW)
    os.chmod(tmp_path / "skynet.conf", 0o644)
    neutron.NeutronClient(conf)
    assert "holds [neutron] password and is readable" in caplog.text
    assert "pw-SECRET" not in caplog.text


# -- error mapping -------------------------------------------------------

SSL_TEXT = ("SSL exception connecting to https://127.0.0.1:5443/v3/auth/"
            "tokens: HTTPSConnectionPool(host='127.0.0.1', port=5443): Max "
            "retries exceeded (Caused by SSLError(SSLCertVerificationError(1,"
            " '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "unable to get local issuer certificate (_ssl.c:1006)')))")


@pytest.mark.parametrize("exc,cls,needles", [
    (ks_exc.SSLError(SSL_TEXT), exceptions.NeutronError,
     ["TLS verification failed for https://127.0.0.1:5443",
      "unable to get local issuer certificate", "skynet trusts"]),
    (ks_exc.ConnectFailure("Unable to establish connection to "
                           "https://127.0.0.1:5443/v3"),
     exceptions.TryAgainLater, ["https://127.0.0.1:5443 is unreachable"]),
    (ks_exc.Unauthorized("The request you have made requires "
                         "authentication."),
     neutron.AuthenticationFailed,
     ["Keystone refused the credentials of auth_type password",
      "username=skynet", "HTTP 401"]),
    (ks_exc.EndpointNotFound(), exceptions.NeutronError,
     ["has no network endpoint", "endpoint_override"]),
    (ks_exc.Forbidden("nope"), neutron.AuthenticationFailed,
     ["Keystone answered HTTP 403"]),
])
def test_keystone_errors_are_mapped(tmp_path, exc, cls, needles):
    c = neutron.NeutronClient(_conf(tmp_path, **PW))

    def fail(*a, **k):
        raise exc
    c.auth.get_access = fail
    with pytest.raises(cls) as ei:
        c.get("/networks")
    assert type(ei.value) is cls or isinstance(ei.value, cls)
    for needle in needles:
        assert needle in ei.value.msg, ei.value.msg
    assert "pw-SECRET" not in ei.value.msg


class FakeResp:
    def __init__(self, status, body=None):
        self.status_code = status
        self._body = body
        self.content = json.dumps(body).encode() if body is not None else b""
        self.text = self.content.decode()

    def json(self):
        if self._body is None:
            raise ValueError
        return self._body


def _err(t, m):
    return {"NeutronError": {"type": t, "message": m, "detail": ""}}


@pytest.mark.parametrize("status,body,cls,needles", [
    (404, _err("NetworkNotFound", "no"), neutron.NotFound, ["HTTP 404"]),
    (409, _err("IpAddressInUse", "in use"), neutron.Conflict, ["409"]),
    (400, _err("BadRequest", "bad"), neutron.BadRequest, ["400"]),
    (403, _err("PolicyNotAuthorized",
               "((rule:create_port and rule:create_port:device_owner) and "
               "rule:create_port:binding:host_id) is disallowed by policy"),
     neutron.PermissionDenied,
     ["HTTP 403 PolicyNotAuthorized", "may not set binding:host_id",
      "admin role", "username=skynet"]),
    (401, {"error": {"code": 401}}, neutron.AuthenticationFailed,
     ["refused the Keystone token", "after re-authenticating"]),
    (503, None, exceptions.TryAgainLater, ["HTTP 503"]),
    (429, None, exceptions.TryAgainLater, ["HTTP 429"]),
    (418, None, exceptions.NeutronError, ["HTTP 418"]),
])
def test_neutron_status_mapping(tmp_path, status, body, cls, needles):
    c = neutron.NeutronClient(_conf(tmp_path, **PW))
    c._auth_ready = True
    c.adapter.request = lambda *a, **k: FakeResp(status, body)
    with pytest.raises(cls) as ei:
        c.post("/ports", {"port": {}})
    for needle in needles:
        assert needle in ei.value.msg, ei.value.msg
    assert ei.value.status == status


@pytest.mark.parametrize("network,raises", [
    ({"id": "n", "provider:network_type": "vxlan"}, False),
    ({"id": "n", "segments": [{"provider:network_type": "vlan"}]}, False),
    ({"id": "n"}, True),           # provider attributes hidden: not admin
])
def test_hidden_provider_attributes_mean_not_admin(tmp_path, network,
                                                   raises):
    c = neutron.NeutronClient(_conf(tmp_path, **PW))
    c._auth_ready = True
    c.adapter.request = lambda *a, **k: FakeResp(200, {"network": network})
    if raises:
        with pytest.raises(neutron.PermissionDenied) as ei:
            c.get("/networks/n")
        assert "may not set binding:host_id" in ei.value.msg
    else:
        assert c.get("/networks/n")["network"] == network


def test_noauth_never_checks_admin_view(tmp_path):
    c = neutron.NeutronClient(_conf(tmp_path, endpoint_override="http://n"))
    c.adapter.request = lambda *a, **k: FakeResp(200, {"network": {"id": 1}})
    assert c.get("/networks/n")


# -- token cache integration ----------------------------------------------

def _access(token, expires_in=3600):
    from keystoneauth1 import access
    when = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=expires_in)
    body = {"token": {"expires_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                      "methods": ["password"], "catalog": [],
                      "project": {"id": "p", "name": "skynet",
                                  "domain": {"id": "default"}},
                      "user": {"id": "u", "name": "skynet",
                               "domain": {"id": "default"}}}}
    return access.create(body=body, auth_token=token)


def _fake_keystone(client, tokens):
    """get_access that 'authenticates' with the next token of tokens."""
    issued = []
    orig = client.auth.get_access

    def get_access(session, **kw):
        if client.auth.auth_ref is None or \
                client.auth._needs_reauthenticate():
            client.auth.auth_ref = _access(tokens[len(issued)])
            issued.append(client.auth.auth_ref.auth_token)
        return client.auth.auth_ref
    client.auth.get_access = get_access
    client.auth.get_auth_ref = lambda s, **kw: get_access(s)
    return issued, orig


def test_token_reused_across_processes(tmp_path):
    conf = _conf(tmp_path, **PW)
    seen = []
    for _ in range(5):                        # five "CNI invocations"
        c = neutron.NeutronClient(conf)
        issued, _ = _fake_keystone(c, ["T1", "T2"])

        def request(url, method, **kw):
            seen.append(c.auth.auth_ref.auth_token)
            return FakeResp(200, {"networks": []})
        c.adapter.request = request
        c.get("/networks")
        assert c.token_requests == len(issued)
    assert seen == ["T1"] * 5
    files = os.listdir(tmp_path / "state" / "keystone-tokens")
    assert len([f for f in files if f.endswith(".json")]) == 1


def test_expiring_cached_token_is_replaced(tmp_path):
    conf = _conf(tmp_path, **PW)
    c = neutron.NeutronClient(conf)
    c.cache.save(json.dumps({"auth_token": "OLD",
                             "body": _access("OLD", 60)._data}))
    issued, _ = _fake_keystone(c, ["NEW"])
    c.adapter.request = lambda *a, **k: FakeResp(200, {"networks": []})
    c.get("/networks")
    assert issued == ["NEW"] and c.token_requests == 1
    assert "NEW" in c.cache.load()


def test_token_replaced_on_401_is_cached(tmp_path):
    """keystoneauth re-authenticates on a 401 inside adapter.request; the
    client notices the new token, counts it and caches it."""
    conf = _conf(tmp_path, **PW)
    c = neutron.NeutronClient(conf)
    issued, _ = _fake_keystone(c, ["T1", "T2"])

    def request(url, method, **kw):       # revoked T1 -> re-auth -> T2
        c.auth.auth_ref = _access("T2")
        return FakeResp(200, {"networks": []})
    c.adapter.request = request
    c.get("/networks")
    assert c.token_requests == 2
    assert json.loads(c.cache.load())["auth_token"] == "T2"
