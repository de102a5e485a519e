"""skynet end to end with a real Keystone v3 and a keystone-authenticated
Neutron behind TLS (tools/lab/keystone.sh, `LAB_KEYSTONE=1 tox -e lab`), and
with authenticated HTTPS to the lab's kube-apiserver.

The keystone neutron-server shares the main lab's database and RabbitMQ, so
the ports skynet creates through it are bound and wired by the lab's real
linuxbridge agent: "wires a pod" means ADD OK, port ACTIVE, DEL OK.
"""

import json
import os
import re
import shlex
import stat
import subprocess
import time
import uuid

import pytest
import requests
import yaml

from tests.e2e.conftest import cni, wait_port_active
from tests.labsupport import neutron_get, REPO

KS_ENV_FILE = os.environ.get("SKYNET_KS_ENV",
                             os.path.join(REPO, ".lab", "keystone.env"))


def _read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                parts = shlex.split(value)
                env[key] = parts[0] if parts else ""
    return env


@pytest.fixture(scope="module")
def ks():
    if not os.path.exists(KS_ENV_FILE):
        msg = ("keystone lab not up (%s missing): start it with "
               "`LAB_KEYSTONE=1 tox -e lab` (or `bash tools/lab/keystone.sh "
               "up` once the lab is up)" % KS_ENV_FILE)
        if (os.environ.get("CI", "").lower() == "true"
                and os.environ.get("SKYNET_REQUIRE_KEYSTONE") == "1"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return _read_env(KS_ENV_FILE)


# -- helpers -------------------------------------------------------------

def _ks_session():
    s = requests.Session()
    s.trust_env = False
    return s


def _token(ks, user=None, password=None, project=None):
    r = _ks_session().post(
        ks["SKYNET_KS_AUTH_URL"] + "/auth/tokens", verify=ks["SKYNET_KS_CA"],
        json={"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": user or ks["SKYNET_KS_ADMIN_USER"],
                     "domain": {"name": "Default"},
                     "password": password or ks["SKYNET_KS_ADMIN_PASSWORD"]}}},
            "scope": {"project": {"name": project or
                                  ks["SKYNET_KS_ADMIN_PROJECT"],
                                  "domain": {"name": "Default"}}}}},
        timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def _token_posts(ks, settle=0.0, expect=None):
    """Keystone token requests so far (haproxy log: POST /v3/auth/tokens).
    With ``settle``, wait up to that long for ``expect`` lines (haproxy may
    write a line a moment after the client saw the answer), then a little
    more to catch extra ones."""
    end = time.monotonic() + settle
    while True:
        with open(ks["SKYNET_KS_HAPROXY_LOG"]) as f:
            n = sum(1 for line in f if '"POST /v3/auth/tokens' in line)
        if expect is None or n >= expect or time.monotonic() > end:
            break
        time.sleep(0.2)
    if settle:
        time.sleep(0.5)
        return _token_posts(ks)
    return n


def _write_conf(tmp_path, sections, mode=0o600, name="skynet.conf"):
    path = tmp_path / name
    text = ""
    for group, opts in sections.items():
        text += "[%s]\n" % group
        text += "".join("%s = %s\n" % kv for kv in opts.items())
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def password_conf(ks, **over):
    opts = {"auth_type": "password", "auth_url": ks["SKYNET_KS_AUTH_URL"],
            "username": ks["SKYNET_KS_USER"],
            "password": ks["SKYNET_KS_PASSWORD"],
            "project_name": ks["SKYNET_KS_PROJECT"],
            "user_domain_name": ks["SKYNET_KS_USER_DOMAIN"],
            "project_domain_name": ks["SKYNET_KS_PROJECT_DOMAIN"],
            "cafile": ks["SKYNET_KS_CA"],
            "region_name": ks["SKYNET_KS_REGION"],
            "valid_interfaces": "public"}
    opts.update(over)
    return {"neutron": opts}


def appcred_conf(ks, **over):
    opts = {"auth_type": "v3applicationcredential",
            "auth_url": ks["SKYNET_KS_AUTH_URL"],
            "application_credential_id": ks["SKYNET_KS_APPCRED_ID"],
            "application_credential_secret": ks["SKYNET_KS_APPCRED_SECRET"],
            "cafile": ks["SKYNET_KS_CA"]}
    opts.update(over)
    return {"neutron": opts}


def ks_netconf(pods, ks, tmp_path, conf_sections=None, neutron=None,
               **extra):
    """The lab netconf, pointed at skynet-ks-net (project skynet) with no
    neutron_url (the catalog's endpoint), plus a skynet.conf if given."""
    nc = pods.netconf(**extra)
    nc["neutron"].pop("neutron_url")
    nc["neutron"]["default_network_id"] = ks["SKYNET_KS_NET"]
    nc["neutron"]["default_security_group_ids"] = ""    # project default
    nc["neutron"].pop("external_router_gateway_ip")
    nc["neutron"].pop("service_cluster_ip_cidr")
    nc["neutron"].update(neutron or {})
    if conf_sections is not None:
        nc["config_file"] = _write_conf(tmp_path, conf_sections)
    return nc


def _port_of(pod_uid):
    ports = neutron_get("ports", device_id=pod_uid)["ports"]
    return ports


def _log_text(tmp_path):
    path = tmp_path / "skynet.log"
    return path.read_text() if path.exists() else ""


def _assert_nothing_left(p, tmp_path):
    """After a failed ADD: no port, no attachment state, no pod interface."""
    assert _port_of(p.pod["metadata"]["uid"]) == []
    state = tmp_path / "state"
    left = [n for n in (os.listdir(state) if state.exists() else [])
            if n.endswith(".json")]
    assert left == [], left
    links = subprocess.run(["ip", "-n", p.name, "-o", "link", "show"],
                           capture_output=True, text=True).stdout
    assert "eth0" not in links, links


def _add(pods, nc, env=None):
    """pods.add() with extra environment for the plugin process."""
    from tests.e2e.conftest import Pod
    from tests.labsupport import PodNetns
    pod = pods.create()
    ns = PodNetns()
    path = ns.__enter__()
    cid = uuid.uuid4().hex
    pods.made.append((nc, ns, cid, pod, "eth0"))
    res = cni("ADD", nc, path, cid, "eth0", pod, env=env)
    return Pod(pod, ns, path, cid, res, nc, "eth0")


def _wired(p, ks):
    assert p.res.ok, p.res
    ports = _port_of(p.pod["metadata"]["uid"])
    assert len(ports) == 1, ports
    port = ports[0]
    assert port["network_id"] == ks["SKYNET_KS_NET"]
    assert port["project_id"] == ks["SKYNET_KS_PROJECT_ID"]
    assert port["binding:vif_type"] == "bridge", port
    wait_port_active(port["id"])
    ip = p.result["ips"][0]["address"].split("/")[0]
    assert ip.startswith("10.60.0."), p.result
    return port


def _del_ok(p):
    res = p.cni("DEL")
    assert res.ok, res
    assert _port_of(p.pod["metadata"]["uid"]) == []


# -- Neutron through Keystone: the three ways to authenticate ------------

def test_password_wires_a_pod_with_one_token_request(ks, pods, tmp_path):
    nc = ks_netconf(pods, ks, tmp_path, password_conf(ks))
    before = _token_posts(ks)
    p = pods.add(netconf=nc)
    port = _wired(p, ks)
    assert p.cni("CHECK").ok
    _del_ok(p)
    # ADD + CHECK + DEL: three processes, one Keystone token request
    assert _token_posts(ks, 5, before + 1) - before == 1
    log = _log_text(tmp_path)
    assert log.count("Keystone: new token for") == 1, log
    assert "auth_type password (username=skynet" in log
    assert port["binding:host_id"] == pods.lab["SKYNET_NODE_NAME"]


def test_application_credential_wires_a_pod(ks, pods, tmp_path):
    # neutron_url with auth = the endpoint override (not the catalog)
    nc = ks_netconf(pods, ks, tmp_path, appcred_conf(ks), neutron={
        "neutron_url": ks["SKYNET_KS_NEUTRON_URL"]})
    p = pods.add(netconf=nc)
    _wired(p, ks)
    _del_ok(p)
    assert "auth_type v3applicationcredential (application_credential_id=" \
        in _log_text(tmp_path)


@pytest.mark.parametrize("cloud_key,how", [
    ("SKYNET_KS_CLOUD", "clouds_file"),
    ("SKYNET_KS_CLOUD_APPCRED", "OS_CLIENT_CONFIG_FILE"),
])
def test_clouds_yaml_wires_a_pod(ks, pods, tmp_path, cloud_key, how):
    neutron = {"cloud": ks[cloud_key]}
    env = None
    if how == "clouds_file":
        neutron["clouds_file"] = ks["SKYNET_KS_CLOUDS_YAML"]
    else:
        env = {"OS_CLIENT_CONFIG_FILE": ks["SKYNET_KS_CLOUDS_YAML"]}
    nc = ks_netconf(pods, ks, tmp_path, neutron=neutron)
    pod = pods.create()
    from tests.labsupport import PodNetns
    ns = PodNetns()
    path = ns.__enter__()
    cid = uuid.uuid4().hex
    try:
        res = cni("ADD", nc, path, cid, "eth0", pod, env=env)
        assert res.ok, res
        ports = _port_of(pod["metadata"]["uid"])
        assert len(ports) == 1 and ports[0]["project_id"] == \
            ks["SKYNET_KS_PROJECT_ID"], ports
        wait_port_active(ports[0]["id"])
        assert "cloud %s" % ks[cloud_key] in _log_text(tmp_path)
        res = cni("DEL", nc, path, cid, "eth0", pod, env=env)
        assert res.ok, res
        assert _port_of(pod["metadata"]["uid"]) == []
    finally:
        ns.__exit__(None, None, None)


# -- failures: a clear error naming what is wrong, nothing left behind ---

def _failure_cases(ks):
    kube_ca = os.path.join(REPO, ".lab", "kube", "pki", "ca.crt")
    return {
        "wrong password": (
            password_conf(ks, password="not-the-password-%s" % uuid.uuid4()),
            {}, ["Keystone refused the credentials of auth_type password",
                 "username=skynet", "HTTP 401"]),
        "wrong appcred secret": (
            appcred_conf(ks, application_credential_secret="nope-" +
                         uuid.uuid4().hex), {},
            ["Keystone refused the credentials", "application_credential_id="
             + ks["SKYNET_KS_APPCRED_ID"]]),
        "unknown cloud": (
            None, {"cloud": "no-such-cloud",
                   "clouds_file": ks["SKYNET_KS_CLOUDS_YAML"]},
            ["neutron.cloud: 'no-such-cloud' is not a cloud in "
             + ks["SKYNET_KS_CLOUDS_YAML"], "skynet-lab"]),
        "wrong CA": (
            password_conf(ks, cafile=kube_ca), {},
            ["TLS verification failed for https://127.0.0.1:",
             "certificate verify failed", "the CA file " + kube_ca]),
        # the lab CA in REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE/SSL_CERT_FILE must
        # NOT be picked up: without [neutron] cafile skynet trusts certifi
        "no CA (env bundle ignored)": (
            password_conf(ks, cafile=""), {},
            ["TLS verification failed", "python-requests CA bundle"]),
        "user without binding:host_id right": (
            None, {"cloud": ks["SKYNET_KS_CLOUD_NOPRIV"],
                   "clouds_file": ks["SKYNET_KS_CLOUDS_YAML"]},
            # Neutron hides provider:* from non-admins: skynet says so at
            # the network GET, before the POST that would get the 403
            ["binding:host_id", "username=skynet-nopriv", "admin role",
             "not admin in Neutron"]),
    }


FAILURES = ["wrong password", "wrong appcred secret", "unknown cloud",
            "wrong CA", "no CA (env bundle ignored)",
            "user without binding:host_id right"]


@pytest.mark.parametrize("case", FAILURES)
def test_failure_is_clear_and_leaves_nothing(ks, pods, tmp_path, case):
    sections, neutron, needles = _failure_cases(ks)[case]
    nc = ks_netconf(pods, ks, tmp_path, sections, neutron=neutron)
    env = None
    if "env bundle" in case:
        env = {k: ks["SKYNET_KS_CA"] for k in (
            "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    p = _add(pods, nc, env)
    assert not p.res.ok and p.res.json, p.res
    msg = p.res.json["msg"]
    for needle in needles:
        assert needle in msg, (needle, msg)
    for secret in (ks["SKYNET_KS_PASSWORD"], ks["SKYNET_KS_APPCRED_SECRET"],
                   ks["SKYNET_KS_NOPRIV_PASSWORD"]):
        assert secret not in p.res.stdout + p.res.stderr
    if sections and "password" in sections["neutron"]:
        assert sections["neutron"]["password"] not in p.res.stdout
    _assert_nothing_left(p, tmp_path)


# -- token reuse, revocation, cache files --------------------------------

def _cache_files(tmp_path):
    d = tmp_path / "state" / "keystone-tokens"
    return d, sorted(d.glob("ks-*.json"))


def test_revoked_token_is_replaced_transparently(ks, pods, tmp_path):
    nc = ks_netconf(pods, ks, tmp_path, password_conf(ks))
    a = pods.add(netconf=nc)
    _wired(a, ks)
    _, files = _cache_files(tmp_path)
    assert len(files) == 1
    old = json.loads(json.loads(files[0].read_text())["state"])["auth_token"]
    admin = _token(ks)
    r = _ks_session().delete(ks["SKYNET_KS_AUTH_URL"] + "/auth/tokens",
                             headers={"X-Auth-Token": admin,
                                      "X-Subject-Token": old},
                             verify=ks["SKYNET_KS_CA"], timeout=30)
    assert r.status_code == 204, r.text
    # Neutron's keystonemiddleware caches validated tokens for
    # token_cache_time seconds per worker: after that the token is refused
    time.sleep(float(ks["SKYNET_KS_NEUTRON_TOKEN_CACHE_TIME"]) + 1)
    before = _token_posts(ks)
    b = pods.add(netconf=nc)
    _wired(b, ks)
    new = json.loads(json.loads(files[0].read_text())["state"])["auth_token"]
    assert new != old
    assert _token_posts(ks, 5, before + 1) - before == 1
    _del_ok(b)
    _del_ok(a)


def test_cache_files_are_private_and_named_without_secret(ks, pods,
                                                          tmp_path):
    nc = ks_netconf(pods, ks, tmp_path, appcred_conf(ks))
    p = pods.add(netconf=nc)
    _wired(p, ks)
    _del_ok(p)
    d, files = _cache_files(tmp_path)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert files
    for f in files + list(d.glob("*.lock")):
        st = os.stat(f)
        assert stat.S_IMODE(st.st_mode) == 0o600, f
        assert st.st_uid == os.getuid()
        assert ks["SKYNET_KS_APPCRED_SECRET"] not in f.name
    text = files[0].read_text()
    assert ks["SKYNET_KS_APPCRED_SECRET"] not in text


def test_secrets_never_in_logs_of_a_full_run(ks, pods, tmp_path):
    """ADD/CHECK/DEL with password and app credential at debug level, plus
    failures with wrong secrets: grep every log and output for secrets."""
    outputs = []
    wrong_pw = "wrong-pw-" + uuid.uuid4().hex
    for i, sections in enumerate((password_conf(ks), appcred_conf(ks))):
        sub = tmp_path / ("run%d" % i)
        sub.mkdir()
        nc = ks_netconf(pods, ks, sub, sections,
                        log_file=str(sub / "skynet.log"),
                        state_dir=str(sub / "state"))
        p = pods.add(netconf=nc)
        _wired(p, ks)
        outputs += [p.res.stdout, p.res.stderr]
        for verb in ("CHECK", "DEL"):
            res = p.cni(verb)
            assert res.ok, res
            outputs += [res.stdout, res.stderr]
    sub = tmp_path / "bad"
    sub.mkdir()
    nc = ks_netconf(pods, ks, sub, password_conf(ks, password=wrong_pw),
                    log_file=str(sub / "skynet.log"),
                    state_dir=str(sub / "state"))
    p = pods.add(netconf=nc, expect_ok=False)
    outputs += [p.res.stdout, p.res.stderr]
    logs = "".join(f.read_text() for f in tmp_path.rglob("skynet.log"))
    assert "DEBUG" in logs and "Keystone: new token" in logs
    blob = logs + "".join(outputs)
    for secret in (ks["SKYNET_KS_PASSWORD"], ks["SKYNET_KS_APPCRED_SECRET"],
                   wrong_pw):
        assert secret not in blob
    for f in tmp_path.rglob("ks-*.json"):      # nor the tokens themselves
        token = json.loads(json.loads(f.read_text())["state"])["auth_token"]
        assert token not in blob


def test_world_readable_skynet_conf_with_secret_warns(ks, pods, tmp_path):
    nc = ks_netconf(pods, ks, tmp_path)
    nc["config_file"] = _write_conf(tmp_path, password_conf(ks), mode=0o644)
    p = pods.add(netconf=nc)
    _wired(p, ks)
    _del_ok(p)
    log = _log_text(tmp_path)
    assert re.search(r"skynet.conf \S+ holds \[neutron\] password and is "
                     r"readable by group/others \(mode 0644\)", log), log
    assert ks["SKYNET_KS_PASSWORD"] not in log


# -- Kubernetes: authenticated HTTPS --------------------------------------

def _kubeconfig(tmp_path, lab, token, name="kubeconfig"):
    with open(lab["SKYNET_KUBECONFIG"]) as f:
        kc = yaml.safe_load(f)
    kc["users"][0]["user"] = {"token": token}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(kc))
    os.chmod(path, 0o600)
    return str(path)


def test_k8s_api_root_https_with_ca_and_token_file(lab, pods):
    nc = pods.netconf()
    nc["kubernetes"] = {"k8s_api_root": lab["SKYNET_K8S_API"],
                        "ca_file": lab["SKYNET_K8S_CA"],
                        "token_file": lab["SKYNET_K8S_TOKEN_FILE"]}
    p = pods.add(netconf=nc)
    assert p.res.ok, p.res
    assert p.cni("DEL").ok


def test_in_cluster_service_account_rereads_a_rotated_token(lab, pods,
                                                            tmp_path):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "ca.crt").write_bytes(open(lab["SKYNET_K8S_CA"], "rb").read())
    (sa / "token").write_text("rotated-away-" + uuid.uuid4().hex)
    os.chmod(sa / "token", 0o600)
    host, port = lab["SKYNET_K8S_API"].split("//")[1].rsplit(":", 1)
    env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
    nc = pods.netconf()
    nc["kubernetes"] = {"service_account_dir": str(sa)}
    pod = pods.create()
    from tests.labsupport import PodNetns
    with PodNetns() as path:
        cid = uuid.uuid4().hex
        res = cni("ADD", nc, path, cid, "eth0", pod, env=env)
        assert not res.ok and "HTTP 401" in res.json["msg"], res
        assert "in-cluster service account (%s)" % sa in res.json["msg"]
        # the kubelet rotates the projected token: the next call reads it
        (sa / "token").write_text(open(lab["SKYNET_K8S_TOKEN_FILE"]).read())
        res = cni("ADD", nc, path, cid, "eth0", pod, env=env)
        assert res.ok, res
        assert cni("DEL", nc, path, cid, "eth0", pod, env=env).ok


def test_k8s_bad_token_401_is_clear(lab, pods, tmp_path):
    bad = "bad-token-" + uuid.uuid4().hex
    nc = pods.netconf()
    nc["kubernetes"] = {"kubeconfig": _kubeconfig(tmp_path, lab, bad)}
    p = pods.add(netconf=nc, expect_ok=False)
    msg = p.res.json["msg"]
    assert p.res.json["code"] == 104, p.res
    assert "HTTP 401 unauthenticated" in msg and "kubeconfig %s" % (
        tmp_path / "kubeconfig") in msg, msg
    assert bad not in p.res.stdout + p.res.stderr + _log_text(tmp_path)
    _assert_nothing_left(p, tmp_path)


def test_k8s_rbac_denial_403_is_clear(lab, pods, kube, tmp_path):
    ns, sa = "kube-system", "skynet-e2e-norbac"
    r = kube.request("POST", "/api/v1/namespaces/%s/serviceaccounts" % ns,
                     json={"metadata": {"name": sa}})
    assert r.status_code in (201, 409), r.text
    try:
        r = kube.request(
            "POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token"
            % (ns, sa), json={"apiVersion": "authentication.k8s.io/v1",
                              "kind": "TokenRequest",
                              "spec": {"expirationSeconds": 600}})
        assert r.status_code == 201, r.text
        token = r.json()["status"]["token"]
        nc = pods.netconf()
        nc["kubernetes"] = {"kubeconfig": _kubeconfig(tmp_path, lab, token)}
        p = pods.add(netconf=nc, expect_ok=False)
        msg = p.res.json["msg"]
        assert "HTTP 403 forbidden: RBAC denies the identity of kubeconfig" \
            in msg and "system:serviceaccount:%s:%s" % (ns, sa) in msg, msg
        assert token not in p.res.stdout + p.res.stderr + _log_text(tmp_path)
        _assert_nothing_left(p, tmp_path)
    finally:
        kube.request("DELETE", "/api/v1/namespaces/%s/serviceaccounts/%s"
                     % (ns, sa))


def test_k8s_wrong_ca_is_clear(lab, pods, ks):
    nc = pods.netconf()
    nc["kubernetes"] = {"k8s_api_root": lab["SKYNET_K8S_API"],
                        "ca_file": ks["SKYNET_KS_CA"],
                        "token_file": lab["SKYNET_K8S_TOKEN_FILE"]}
    p = pods.add(netconf=nc, expect_ok=False)
    msg = p.res.json["msg"]
    assert "TLS verification failed" in msg and ks["SKYNET_KS_CA"] in msg, \
        msg
