"""Self-tests of the lab's Kubernetes control plane (tools/lab/kube/kube.sh).

They run against the real etcd + kube-apiserver started by ``kube.sh up`` and
read their endpoints/credentials from ``<repo>/.lab/kube.env``.
"""

import base64
import os
import shlex
import socket
import uuid
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
ENV_FILE = REPO / ".lab" / "kube.env"


def _load_env():
    if not ENV_FILE.is_file():
        msg = "lab not up: run `tox -e lab`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg} ({ENV_FILE} missing)")
        pytest.skip(msg)
    env = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        key, _, value = line[len("export "):].partition("=")
        parts = shlex.split(value)
        env[key.strip()] = parts[0] if parts else ""
    return env


@pytest.fixture(scope="module")
def kenv():
    env = _load_env()
    for key in ("KUBECONFIG", "SKYNET_KUBECONFIG", "SKYNET_K8S_API", "SKYNET_K8S_CA",
                "SKYNET_K8S_TOKEN_FILE", "SKYNET_K8S_VERSION"):
        assert env.get(key), f"{key} missing from {ENV_FILE}"
    return env


@pytest.fixture(scope="module")
def api(kenv):
    return kenv["SKYNET_K8S_API"].rstrip("/")


@pytest.fixture(scope="module")
def node_name(kenv):
    return kenv.get("SKYNET_K8S_NODE") or socket.gethostname().lower()


def _session(kenv):
    s = requests.Session()
    s.trust_env = False  # ignore REQUESTS_CA_BUNDLE & co. set on this machine
    s.verify = kenv["SKYNET_K8S_CA"]
    return s


@pytest.fixture(scope="module")
def admin(kenv, tmp_path_factory):
    """Session authenticated with the admin client cert from $KUBECONFIG."""
    cfg = yaml.safe_load(Path(kenv["KUBECONFIG"]).read_text())
    user = cfg["users"][0]["user"]
    d = tmp_path_factory.mktemp("admin")
    crt, key = d / "admin.crt", d / "admin.key"
    crt.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    key.chmod(0o600)
    s = _session(kenv)
    s.cert = (str(crt), str(key))
    yield s
    s.close()


@pytest.fixture(scope="module")
def skynet_token(kenv):
    return Path(kenv["SKYNET_K8S_TOKEN_FILE"]).read_text().strip()


@pytest.fixture(scope="module")
def skynet(kenv, skynet_token):
    """Session authenticated as the kube-system/skynet ServiceAccount."""
    s = _session(kenv)
    s.headers["Authorization"] = f"Bearer {skynet_token}"
    yield s
    s.close()


def test_version_matches_env(admin, api, kenv):
    r = admin.get(f"{api}/version", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["gitVersion"] == kenv["SKYNET_K8S_VERSION"]


def test_skynet_kubeconfig_matches_env(kenv, api, skynet_token):
    cfg = yaml.safe_load(Path(kenv["SKYNET_KUBECONFIG"]).read_text())
    assert cfg["clusters"][0]["cluster"]["server"] == api
    ca = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
    assert ca == Path(kenv["SKYNET_K8S_CA"]).read_bytes()
    assert cfg["users"][0]["user"]["token"] == skynet_token


def test_unauthenticated_request_is_refused(kenv, api):
    s = _session(kenv)
    r = s.get(f"{api}/api/v1/namespaces/default/pods", timeout=10)
    assert r.status_code == 401, r.text


def test_node_exists(admin, skynet, api, node_name):
    r = admin.get(f"{api}/api/v1/nodes/{node_name}", timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["labels"]["kubernetes.io/hostname"] == node_name
    r = skynet.get(f"{api}/api/v1/nodes/{node_name}", timeout=10)
    assert r.status_code == 200, r.text


@pytest.fixture
def pod(admin, api, node_name):
    name = f"skynet-lab-test-{uuid.uuid4().hex[:8]}"
    url = f"{api}/api/v1/namespaces/default/pods"
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "annotations": {
                "skynet/network_id": "11111111-2222-3333-4444-555555555555",
                "skynet/subnet_id": "66666666-7777-8888-9999-000000000000",
                "skynet/security_groups": "default",
            },
        },
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "pause", "image": "registry.invalid/pause:3"}],
        },
    }
    r = admin.post(url, json=body, timeout=10)
    assert r.status_code == 201, r.text
    created = r.json()
    yield created
    # No kubelet runs, so a graceful delete would never finish: force it.
    r = admin.delete(f"{url}/{name}", json={"gracePeriodSeconds": 0}, timeout=10)
    assert r.status_code in (200, 202, 404), r.text
    assert admin.get(f"{url}/{name}", timeout=10).status_code == 404


def test_pod_created_by_admin_is_readable_by_skynet(pod, skynet, api, node_name):
    name = pod["metadata"]["name"]
    r = skynet.get(f"{api}/api/v1/namespaces/default/pods/{name}", timeout=10)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["metadata"]["uid"] == pod["metadata"]["uid"]
    assert got["metadata"]["annotations"]["skynet/network_id"] == \
        "11111111-2222-3333-4444-555555555555"
    assert got["spec"]["nodeName"] == node_name

    # what a CNI plugin typically does: list the pods bound to its node
    r = skynet.get(f"{api}/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node_name}"},
                   timeout=10)
    assert r.status_code == 200, r.text
    assert name in {p["metadata"]["name"] for p in r.json()["items"]}

    r = skynet.get(f"{api}/api/v1/namespaces/default", timeout=10)
    assert r.status_code == 200, r.text


def test_skynet_may_not_create_pods(skynet, api, node_name):
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"skynet-lab-forbidden-{uuid.uuid4().hex[:8]}"},
        "spec": {
            "nodeName": node_name,
            "containers": [{"name": "pause", "image": "registry.invalid/pause:3"}],
        },
    }
    r = skynet.post(f"{api}/api/v1/namespaces/default/pods", json=body, timeout=10)
    assert r.status_code == 403, r.text
