"""Kubernetes API over requests: read pods, answer health checks.

Where the API server and credentials come from, first match wins:
  1. [kubernetes] api_root (+ token_file, ca_file, cert_file/key_file,
     insecure) -- the seed's k8s_api_root; https with a CA, or plain http
     for the seed's setups;
  2. [kubernetes] kubeconfig (its current context: token, token file,
     client certificate, CA as file or data);
  3. the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and
     [kubernetes] service_account_dir, default
     /var/run/secrets/kubernetes.io/serviceaccount): token re-read on every
     call, so a rotated token is picked up.

TLS is deterministic: the given CA (ca_file, the kubeconfig's CA, the
service account's ca.crt) is used; with none, the python-requests bundle
(certifi). The session ignores REQUESTS_CA_BUNDLE & co. (``trust_env =
False``): they would silently replace the CA we were told to trust.
A 401 or 403 names the credential source (never the token); a kubeconfig or
token file holding a secret that group/others can read gets a warning.
"""

import atexit

import base64
import os
import tempfile

from oslo_log import log as logging
import requests

from skynet.clients import token_cache
from skynet import exceptions

LOG = logging.getLogger(__name__)
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeClient:
    def __init__(self, conf):
        group = conf.kubernetes
        self.timeout = group.timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Accept"] = "application/json"
        self.token = None
        self.token_file = None
        self._tmpfiles = []
        atexit.register(self.close)
        if group.api_root:
            self.server = group.api_root
            self.token_file = group.token_file
            self.session.verify = (False if group.insecure
                                   else group.ca_file or True)
            if group.cert_file:
                self.session.cert = ((group.cert_file, group.key_file)
                                     if group.key_file else group.cert_file)
                if group.key_file:
                    token_cache.warn_if_exposed(
                        group.key_file, "[kubernetes] key_file",
                        "a private key")
            self.source = "[kubernetes] api_root %s" % group.api_root
            if self.token_file:
                self.source += " with token_file %s" % self.token_file
                token_cache.warn_if_exposed(self.token_file,
                                            "[kubernetes] token_file",
                                            "a bearer token")
            elif group.cert_file:
                self.source += " with client certificate %s" % (
                    group.cert_file)
        elif group.kubeconfig:
            self._from_kubeconfig(group.kubeconfig)
            if group.insecure:
                self.session.verify = False
        else:
            self._in_cluster(group.service_account_dir)
        self.server = self.server.rstrip("/")
        verify = self.session.verify
        self.trust = ("nothing (insecure)" if verify is False else
                      "the CA file %s" % verify if isinstance(verify, str)
                      else "the python-requests CA bundle")
        self.calls = []

    def _from_kubeconfig(self, path):
        import yaml     # only kubeconfig users pay for it
        try:
            with open(path) as f:
                kc = yaml.safe_load(f)
            ctx_name = kc["current-context"]
            ctx = _named(kc, "contexts", ctx_name)["context"]
            cluster = _named(kc, "clusters", ctx["cluster"])["cluster"]
            user = _named(kc, "users", ctx["user"])["user"] or {}
            self.server = cluster["server"]
            self.source = "kubeconfig %s (context %s, user %s)" % (
                path, ctx_name, ctx["user"])
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise exceptions.InvalidConfig(
                "kubernetes.kubeconfig", path,
                "cannot be used: %s: %s" % (type(exc).__name__, exc))
        base = os.path.dirname(os.path.abspath(path))
        if cluster.get("insecure-skip-tls-verify"):
            self.session.verify = False
        elif cluster.get("certificate-authority-data"):
            self.session.verify = self._datafile(
                cluster["certificate-authority-data"])
        elif cluster.get("certificate-authority"):
            self.session.verify = os.path.join(
                base, cluster["certificate-authority"])
        else:
            self.session.verify = True
        held = [k for k in ("token", "client-key-data", "password")
                if user.get(k)]
        if held:
            token_cache.warn_if_exposed(path, "kubeconfig",
                                        "user " + ", ".join(held))
        if user.get("token"):
            self.token = user["token"]
        elif user.get("tokenFile"):
            self.token_file = os.path.join(base, user["tokenFile"])
        cert = key = None
        if user.get("client-certificate-data"):
            cert = self._datafile(user["client-certificate-data"])
        elif user.get("client-certificate"):
            cert = os.path.join(base, user["client-certificate"])
        if user.get("client-key-data"):
            key = self._datafile(user["client-key-data"])
        elif user.get("client-key"):
            key = os.path.join(base, user["client-key"])
        if cert:
            self.session.cert = (cert, key) if key else cert

    def _in_cluster(self, sa_dir=None):
        sa_dir = sa_dir or SA_DIR
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise exceptions.InvalidConfig(
                "kubernetes.k8s_api_root", None,
                "is not set, nor [kubernetes] kubeconfig, and "
                "KUBERNETES_SERVICE_HOST is not in the environment")
        if ":" in host:
            host = "[%s]" % host
        self.server = "https://%s:%s" % (host, port)
        self.token_file = os.path.join(sa_dir, "token")
        self.session.verify = os.path.join(sa_dir, "ca.crt")
        self.source = "in-cluster service account (%s)" % sa_dir

    def _datafile(self, data):
        f = tempfile.NamedTemporaryFile(prefix="skynet-kube-", delete=False)
        os.chmod(f.name, 0o600)
        f.write(base64.b64decode(data))
        f.close()
        self._tmpfiles.append(f.name)
        return f.name

    def close(self):
        for name in self._tmpfiles:
            try:
                os.unlink(name)
            except OSError:
                pass
        self._tmpfiles = []

    def _headers(self):
        token = self.token
        if self.token_file:
            try:
                with open(self.token_file) as f:     # rotated tokens
                    token = f.read().strip()
            except OSError as exc:
                raise exceptions.InvalidConfig(
                    "kubernetes.token_file", self.token_file,
                    "cannot be read: %s" % exc.strerror)
        return {"Authorization": "Bearer " + token} if token else {}

    def get(self, path):
        """GET ``path``; None on 404; errors name the server and status."""
        url = self.server + path
        self.calls.append(("GET", path))
        try:
            resp = self.session.get(url, headers=self._headers(),
                                    timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise exceptions.KubernetesError(
                "Kubernetes API %s: TLS verification failed (%s): %s; "
                "skynet trusts %s" % (self.server, self.source,
                                      _ssl_reason(str(exc)), self.trust))
        except (requests.exceptions.ConnectionError,
                requests.exceptions.Timeout) as exc:
            raise exceptions.TryAgainLater(
                "Kubernetes API %s is unreachable: %s"
                % (self.server, type(exc).__name__), details=str(exc))
        if resp.status_code == 404:
            return None
        if resp.status_code in (401, 403):
            raise exceptions.KubernetesError(
                "Kubernetes API GET %s: HTTP %d %s (%s)" % (
                    path, resp.status_code,
                    "unauthenticated: the API server does not accept the "
                    "token or certificate of %s" % self.source
                    if resp.status_code == 401 else
                    "forbidden: RBAC denies the identity of %s" % self.source,
                    _message(resp) or "no message"))
        if resp.status_code >= 500 or resp.status_code == 429:
            raise exceptions.TryAgainLater(
                "Kubernetes API GET %s: HTTP %d %s"
                % (path, resp.status_code, _message(resp)))
        if resp.status_code >= 300:
            raise exceptions.KubernetesError(
                "Kubernetes API GET %s: HTTP %d %s"
                % (path, resp.status_code, _message(resp)))
        return resp.json()

    def get_pod(self, namespace, name):
        return self.get("/api/v1/namespaces/%s/pods/%s" % (namespace, name))

    def ping(self):
        self.get("/version")


def _message(resp):
    try:
        return resp.json().get("message", "")
    except ValueError:
        return resp.text[:200]


def _ssl_reason(text):
    import re
    m = re.search(r"certificate verify failed: ([^(')]+)", text)
    if m:
        return "certificate verify failed: " + m.group(1).strip()
    return text[-300:]


def _named(kc, kind, name):
    for item in kc.get(kind) or ():
        if item.get("name") == name:
            return item
    raise KeyError("%s %r not in kubeconfig" % (kind, name))


_CLIENTS = {}


def get_client(conf):
    key = id(conf)
    if key not in _CLIENTS:
        _CLIENTS[key] = KubeClient(conf)
    return _CLIENTS[key]
