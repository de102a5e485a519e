"""Helpers for tests that run against the skynet lab (``tox -e lab``, see tools/lab/README.md).

The lab writes ``<repo>/.lab/env`` (``export K=V`` lines) once it is fully up.  Typical use::

    from labsupport import require_lab, neutron_post, neutron_delete, KubeClient, PodNetns

    @pytest.fixture
    def lab():
        return require_lab()          # dict of SKYNET_* variables; skips (or fails if CI=true)

    def test_x(lab, kube, pod_netns): ...

Pytest fixtures (``lab``, ``kube``, ``pod_netns``, ``neutron_cleanup``) are defined here and exported
to a test module or conftest with ``from labsupport import lab, kube, pod_netns, neutron_cleanup``
(tests/lab/conftest.py does that).  Everything a helper creates is removed again by the helper.

Shelling out to ``ip`` is fine here (test code); only skynet's product code must use pyroute2.
"""

import base64
import os
import shlex
import subprocess
import tempfile
import time
import uuid

import pytest
import requests
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_FILE = os.environ.get("SKYNET_LAB_ENV", os.path.join(REPO, ".lab", "env"))
PAUSE_IMAGE = "registry.invalid/pause:3"     # never pulled: no kubelet runs in the lab


# ------------------------------------------------------------------------------------- lab env
def lab_env(path=ENV_FILE):
    """Return the lab's variables (dict) parsed from .lab/env, or None if the lab is not up."""
    if not os.path.exists(path):
        return None
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export "):]
            key, sep, value = line.partition("=")
            if not sep:
                continue
            parts = shlex.split(value) if value else [""]
            env[key.strip()] = parts[0] if parts else ""
    return env


def require_lab(*keys):
    """Return lab_env(), or skip the test when the lab is absent (pytest.fail when CI=true).

    ``keys``: variables the test needs (e.g. "KUBECONFIG"); missing ones are treated like an
    absent lab (e.g. a lab started with the developer-only LAB_SKIP_KUBE=1).
    """
    env = lab_env()
    missing = [k for k in keys if env is not None and not env.get(k)]
    if env is None or missing:
        what = ("lab not up (%s missing)" % ENV_FILE if env is None
                else "lab env lacks %s" % ", ".join(missing))
        msg = "%s: start it with `tox -e lab` (or `sudo bash tools/lab/lab.sh up`)" % what
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return env


# ------------------------------------------------------------------------------------- neutron
def _neutron_session():
    s = requests.Session()
    s.trust_env = False        # no proxies / CA-bundle env overrides for the loopback API
    s.headers.update({"Accept": "application/json"})
    return s


_NEUTRON = _neutron_session()


def _neutron_url(path, env=None):
    env = env or lab_env() or {}
    base = env.get("SKYNET_NEUTRON_URL", "http://127.0.0.1:9696")
    return "%s/v2.0/%s" % (base.rstrip("/"), path.lstrip("/"))


def neutron_get(path, env=None, **params):
    """GET /v2.0/<path> (noauth, admin) and return the decoded JSON; raises on HTTP errors."""
    r = _NEUTRON.get(_neutron_url(path, env), params=params or None, timeout=60)
    r.raise_for_status()
    return r.json()


def neutron_post(path, body, env=None):
    """POST /v2.0/<path> with a JSON body, e.g. neutron_post("ports", {"port": {...}})["port"]."""
    r = _NEUTRON.post(_neutron_url(path, env), json=body, timeout=60)
    if r.status_code >= 400:
        raise requests.HTTPError("POST %s -> %s: %s" % (path, r.status_code, r.text), response=r)
    return r.json()


def neutron_put(path, body, env=None):
    r = _NEUTRON.put(_neutron_url(path, env), json=body, timeout=60)
    if r.status_code >= 400:
        raise requests.HTTPError("PUT %s -> %s: %s" % (path, r.status_code, r.text), response=r)
    return r.json()


def neutron_delete(path, env=None, missing_ok=True):
    """DELETE /v2.0/<path>; a 404 is fine unless missing_ok=False."""
    r = _NEUTRON.delete(_neutron_url(path, env), timeout=60)
    if r.status_code == 404 and missing_ok:
        return
    r.raise_for_status()


def wait_until(predicate, timeout=30.0, interval=0.3, what="condition"):
    """Poll predicate() until it returns a truthy value (returned); AssertionError on timeout."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ------------------------------------------------------------------------------------- kubernetes
class KubeClient:
    """Minimal Kubernetes REST client built from a kubeconfig (default: the lab's admin KUBECONFIG).

    Uses requests with ``trust_env = False``: this machine exports REQUESTS_CA_BUNDLE etc., which would
    otherwise silently replace the cluster CA given as ``verify``.  Call close() (or use ``with``).
    """

    def __init__(self, kubeconfig=None, env=None):
        env = env if env is not None else (lab_env() or {})
        path = kubeconfig or env.get("KUBECONFIG") or os.environ.get("KUBECONFIG")
        if not path:
            raise RuntimeError("no kubeconfig: lab env has no KUBECONFIG")
        with open(path) as f:
            cfg = yaml.safe_load(f)
        base = os.path.dirname(os.path.abspath(path))
        ctx_name = cfg.get("current-context") or cfg["contexts"][0]["name"]
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next((u.get("user") or {} for u in cfg.get("users", [])
                     if u["name"] == ctx.get("user")), {})
        self._tmp = []
        self.server = cluster["server"].rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        if cluster.get("insecure-skip-tls-verify"):
            self.session.verify = False
        else:
            self.session.verify = (self._file(cluster, "certificate-authority", base)
                                   or env.get("SKYNET_K8S_CA") or True)
        cert = self._file(user, "client-certificate", base)
        key = self._file(user, "client-key", base)
        if cert and key:
            self.session.cert = (cert, key)
        token = user.get("token")
        if not token and user.get("tokenFile"):
            with open(os.path.join(base, user["tokenFile"])) as f:
                token = f.read().strip()
        if token:
            self.session.headers["Authorization"] = "Bearer " + token

    def _file(self, section, name, base):
        if section.get(name + "-data"):
            fd, p = tempfile.mkstemp(prefix="skynet-kube-")
            with os.fdopen(fd, "wb") as f:
                f.write(base64.b64decode(section[name + "-data"]))
            self._tmp.append(p)
            return p
        if section.get(name):
            return os.path.join(base, section[name])
        return None

    def close(self):
        self.session.close()
        for p in self._tmp:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        self._tmp = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.server + path, **kw)

    def create_pod(self, name, node_name, annotations=None, namespace="default", labels=None):
        """Create a Pod bound to node_name (no scheduler, no kubelet needed); returns the Pod dict."""
        body = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": dict(annotations or {}), "labels": dict(labels or {})},
            "spec": {"nodeName": node_name,
                     "containers": [{"name": "pause", "image": PAUSE_IMAGE}]},
        }
        r = self.request("POST", "/api/v1/namespaces/%s/pods" % namespace, json=body)
        if r.status_code >= 400:
            raise requests.HTTPError("create pod %s -> %s: %s" % (name, r.status_code, r.text),
                                     response=r)
        return r.json()

    def get_pod(self, name, namespace="default"):
        """Return the Pod dict, or None if it does not exist."""
        r = self.request("GET", "/api/v1/namespaces/%s/pods/%s" % (namespace, name))
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def delete_pod(self, name, namespace="default"):
        """Delete immediately (grace 0: no kubelet will ever confirm); a missing pod is fine."""
        r = self.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (namespace, name),
                         json={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
        if r.status_code not in (200, 202, 404):
            r.raise_for_status()


# ------------------------------------------------------------------------------------- netns
def _ip(*args, check=True):
    return subprocess.run(("ip",) + args, check=check, capture_output=True, text=True)


class PodNetns:
    """Context manager: a fresh named netns ``skynet-test-<rand>``; yields its path
    (/var/run/netns/<name>, what a runtime passes as CNI_NETNS) and deletes it on exit.
    Needs root.  ``.name`` holds the netns name (for ``ip -n``)."""

    def __init__(self, prefix="skynet-test-"):
        self.name = prefix + uuid.uuid4().hex[:8]
        self.path = "/var/run/netns/" + self.name

    def __enter__(self):
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")
        return self.path

    def __exit__(self, *exc):
        _ip("netns", "del", self.name, check=False)


# ------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def lab():
    """The lab's env dict (skips, or fails under CI=true, when the lab is not up)."""
    return require_lab()


@pytest.fixture
def kube():
    """KubeClient with the lab's admin kubeconfig; pods made with kube.create_pod are deleted after."""
    env = require_lab("KUBECONFIG")
    client = KubeClient(env=env)
    made = []
    orig = client.create_pod

    def create_pod(name, *a, **kw):
        pod = orig(name, *a, **kw)
        made.append((name, kw.get("namespace", "default")))
        return pod

    client.create_pod = create_pod
    yield client
    for name, ns in made:
        client.delete_pod(name, namespace=ns)
    client.close()


@pytest.fixture
def pod_netns():
    """A throw-away pod netns; the value is its path, ``pod_netns`` name is path's basename."""
    with PodNetns() as path:
        yield path


@pytest.fixture
def neutron_cleanup():
    """Collect Neutron paths to DELETE after the test: ``neutron_cleanup.append("ports/<id>")``."""
    paths = []
    yield paths
    for p in reversed(paths):
        try:
            neutron_delete(p)
        except Exception as e:     # keep cleaning the rest
            print("cleanup of %s failed: %s" % (p, e))
