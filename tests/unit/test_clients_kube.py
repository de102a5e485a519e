"""skynet.clients.kube: where the API server and credentials come from,
TLS settings, token re-reading, and 401/403 messages."""

import base64
import os

from oslo_config import cfg
import pytest
import requests
import yaml

from skynet.clients import kube
from skynet import conf as skynet_conf
from skynet import exceptions


def _conf(**opts):
    conf = cfg.ConfigOpts()
    skynet_conf.register_opts(conf)
    conf(args=[], project="skynet-test", default_config_files=[])
    for k, v in opts.items():
        conf.set_override(k, v, group="kubernetes")
    return conf


def _kubeconfig(tmp_path, user, cluster_extra=None, mode=0o600):
    cluster = {"server": "https://10.0.0.1:6443/"}
    cluster.update(cluster_extra or {})
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
          "clusters": [{"name": "k", "cluster": cluster}],
          "users": [{"name": "u", "user": user}],
          "contexts": [{"name": "c", "context": {"cluster": "k",
                                                 "user": "u"}}]}
    p = tmp_path / "kubeconfig"
    p.write_text(yaml.safe_dump(kc))
    os.chmod(p, mode)
    return str(p)


B64 = base64.b64encode(b"-----BEGIN X-----\n").decode()


@pytest.mark.parametrize("opts,server,verify,cert,token", [
    (dict(api_root="http://10.0.0.1:8080"), "http://10.0.0.1:8080", True,
     None, None),
    (dict(api_root="https://k:6443/", ca_file="/ca.crt"), "https://k:6443",
     "/ca.crt", None, None),
    (dict(api_root="https://k:6443", insecure=True), "https://k:6443", False,
     None, None),
    (dict(api_root="https://k:6443", ca_file="/ca", cert_file="/c.crt",
          key_file="/c.key"), "https://k:6443", "/ca", ("/c.crt", "/c.key"),
     None),
])
def test_api_root(opts, server, verify, cert, token):
    c = kube.KubeClient(_conf(**opts))
    assert c.server == server
    assert c.session.verify == verify
    assert c.session.cert == cert
    assert c.session.trust_env is False
    assert c.source.startswith("[kubernetes] api_root")


@pytest.mark.parametrize("user,cluster,verify_kind,cert_kind,token", [
    ({"token": "T0K"}, {"certificate-authority": "ca.crt"}, "rel", None,
     "T0K"),
    ({"client-certificate-data": B64, "client-key-data": B64},
     {"certificate-authority-data": B64}, "tmp", "tmp", None),
    ({"tokenFile": "tok"}, {"insecure-skip-tls-verify": True}, False, None,
     "FILE"),
    ({}, {}, True, None, None),
])
def test_kubeconfig(tmp_path, user, cluster, verify_kind, cert_kind, token):
    (tmp_path / "tok").write_text("FILE\n")
    path = _kubeconfig(tmp_path, user, cluster)
    c = kube.KubeClient(_conf(kubeconfig=path))
    assert c.server == "https://10.0.0.1:6443"
    if verify_kind == "rel":
        assert c.session.verify == str(tmp_path / "ca.crt")
    elif verify_kind == "tmp":
        assert os.path.exists(c.session.verify)
        assert oct(os.stat(c.session.verify).st_mode & 0o777) == "0o600"
    else:
        assert c.session.verify is verify_kind
    if cert_kind:
        assert all(os.path.exists(p) for p in c.session.cert)
    headers = c._headers()
    assert headers == ({"Authorization": "Bearer " + token} if token
                       else {})
    assert c.source == "kubeconfig %s (context c, user u)" % path
    tmp = list(c._tmpfiles)
    c.close()
    assert not any(os.path.exists(p) for p in tmp)


@pytest.mark.parametrize("content,needle", [
    ("not: [yaml", "cannot be used"),
    ("current-context: nope\ncontexts: []\n", "cannot be used"),
])
def test_bad_kubeconfig_is_named(tmp_path, content, needle):
    p = tmp_path / "kc"
    p.write_text(content)
    with pytest.raises(exceptions.InvalidConfig) as ei:
        kube.KubeClient(_conf(kubeconfig=str(p)))
    assert ei.value.field == "kubernetes.kubeconfig" and needle in ei.value.msg


@pytest.mark.parametrize("mode,warned", [(0o600, False), (0o644, True)])
def test_readable_kubeconfig_with_token_warns(tmp_path, caplog, mode,
                                              warned):
    path = _kubeconfig(tmp_path, {"token": "T0K-SECRET"}, mode=mode)
    kube.KubeClient(_conf(kubeconfig=path))
    assert ("readable by group/others" in caplog.text) is warned
    assert "T0K-SECRET" not in caplog.text


def test_in_cluster_rereads_rotated_token(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    (tmp_path / "token").write_text("ONE")
    c = kube.KubeClient(_conf(service_account_dir=str(tmp_path)))
    assert c.server == "https://[fd00::1]:6443"
    assert c.session.verify == str(tmp_path / "ca.crt")
    assert c._headers() == {"Authorization": "Bearer ONE"}
    (tmp_path / "token").write_text("TWO\n")
    assert c._headers() == {"Authorization": "Bearer TWO"}
    assert c.source == "in-cluster service account (%s)" % tmp_path


def test_in_cluster_without_env_is_named(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(exceptions.InvalidConfig) as ei:
        kube.KubeClient(_conf())
    assert "KUBERNETES_SERVICE_HOST" in ei.value.msg


class FakeResp:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.text = str(body)

    def json(self):
        return self._body


@pytest.mark.parametrize("status,cls,needles", [
    (401, exceptions.KubernetesError,
     ["HTTP 401 unauthenticated", "token or certificate of [kubernetes] "
      "api_root https://k:6443 with token_file"]),
    (403, exceptions.KubernetesError,
     ["HTTP 403 forbidden: RBAC denies the identity of",
      'pods "p" is forbidden']),
    (500, exceptions.TryAgainLater, ["HTTP 500"]),
    (429, exceptions.TryAgainLater, ["HTTP 429"]),
    (400, exceptions.KubernetesError, ["HTTP 400"]),
])
def test_status_errors_name_the_source(tmp_path, status, cls, needles):
    tok = tmp_path / "tok"
    tok.write_text("T0K-SECRET")
    os.chmod(tok, 0o600)
    c = kube.KubeClient(_conf(api_root="https://k:6443",
                              token_file=str(tok)))
    c.session.get = lambda *a, **k: FakeResp(
        status, {"message": 'pods "p" is forbidden: User "x" cannot get'})
    with pytest.raises(cls) as ei:
        c.get_pod("ns", "p")
    for needle in needles:
        assert needle in ei.value.msg, ei.value.msg
    assert "T0K-SECRET" not in ei.value.msg


def test_404_is_none_and_tls_error_is_clear(tmp_path):
    c = kube.KubeClient(_conf(api_root="https://k:6443", ca_file="/ca.crt"))
    c.session.get = lambda *a, **k: FakeResp(404, {})
    assert c.get_pod("ns", "p") is None

    def ssl_fail(*a, **k):
        raise requests.exceptions.SSLError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            "self-signed certificate in certificate chain (_ssl.c:1006)")
    c.session.get = ssl_fail
    with pytest.raises(exceptions.KubernetesError) as ei:
        c.ping()
    assert "TLS verification failed" in ei.value.msg
    assert "self-signed certificate in certificate chain" in ei.value.msg
    assert "the CA file /ca.crt" in ei.value.msg
