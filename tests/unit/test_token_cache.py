"""skynet.clients.token_cache: private files, expiry margin, identity keys."""

import datetime
import json
import os
import stat
import threading
import time

import pytest

from skynet.clients import token_cache


def _state(expires_in, token="tok-abc", now=None):
    now = now or time.time()
    when = datetime.datetime.fromtimestamp(now + expires_in,
                                           datetime.timezone.utc)
    body = {"token": {"expires_at": when.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                      "methods": ["password"], "catalog": []}}
    return json.dumps({"auth_token": token, "body": body})


IDENTITY = {"auth_url": "https://ks/v3", "username": "skynet",
            "password": "s3cret-pw", "project_name": "p"}


@pytest.mark.parametrize("elements,same_as_base", [
    (dict(IDENTITY), True),
    (dict(IDENTITY, password="other"), True),          # secret: not in key
    (dict(IDENTITY, application_credential_secret="x"), True),
    (dict(IDENTITY, username="other"), False),
    (dict(IDENTITY, auth_url="https://other/v3"), False),
    (dict(IDENTITY, project_name="q"), False),
    (dict(IDENTITY, user_domain_name=None), True),     # None is ignored
])
def test_identity_key_ignores_secrets_only(elements, same_as_base):
    base = token_cache.identity_key(IDENTITY)
    assert (token_cache.identity_key(elements) == base) is same_as_base


def test_file_name_never_contains_the_secret(tmp_path):
    c = token_cache.TokenCache(str(tmp_path), IDENTITY)
    assert "s3cret" not in c.path
    assert c.path.startswith(str(tmp_path) + "/ks-")


@pytest.mark.parametrize("expires_in,margin,reused", [
    (3600, 300, True),
    (301, 300, True),
    (299, 300, False),
    (10, 0, True),
    (-5, 0, False),
])
def test_reuse_until_shortly_before_expiry(tmp_path, expires_in, margin,
                                           reused):
    c = token_cache.TokenCache(str(tmp_path / "c"), IDENTITY, margin=margin)
    assert c.save(_state(expires_in))
    assert (c.load() is not None) is reused


def test_files_are_private(tmp_path):
    d = tmp_path / "c"
    c = token_cache.TokenCache(str(d), IDENTITY)
    old = os.umask(0)
    try:
        assert c.save(_state(3600))
        with c.locked():
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(c.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(c.path + ".lock").st_mode) == 0o600
    assert [p for p in os.listdir(d) if p.startswith(".ks-")] == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_loose_file_is_ignored_and_removed(tmp_path, mode):
    c = token_cache.TokenCache(str(tmp_path), IDENTITY)
    c.save(_state(3600))
    os.chmod(c.path, mode)
    assert c.load() is None
    assert not os.path.exists(c.path)


@pytest.mark.parametrize("content", [
    "", "not json", json.dumps({"version": 1}),
    json.dumps({"version": 99, "state": _state(3600)}),
    json.dumps({"version": 1, "state": "{}"}),
])
def test_unreadable_cache_is_ignored(tmp_path, content):
    c = token_cache.TokenCache(str(tmp_path), IDENTITY)
    fd = os.open(c.path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content.encode())
    os.close(fd)
    assert c.load() is None


def test_missing_and_discard(tmp_path):
    c = token_cache.TokenCache(str(tmp_path / "none"), IDENTITY)
    assert c.load() is None
    c.discard()
    c.save(_state(3600))
    c.discard()
    assert c.load() is None


def test_round_trip_keeps_the_state(tmp_path):
    c = token_cache.TokenCache(str(tmp_path), IDENTITY)
    state = _state(3600, token="T1")
    c.save(state)
    assert c.load() == state


def test_lock_serialises_authentications(tmp_path):
    c = token_cache.TokenCache(str(tmp_path), IDENTITY)
    inside, order = [], []

    def worker(n):
        with token_cache.TokenCache(str(tmp_path), IDENTITY).locked():
            inside.append(n)
            assert len(inside) == 1
            time.sleep(0.05)
            order.append(n)
            inside.remove(n)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(order) == [0, 1, 2, 3]
    assert os.path.exists(c.path + ".lock")


@pytest.mark.parametrize("mode,warned", [(0o600, False), (0o640, True),
                                         (0o644, True), (0o400, False)])
def test_warn_if_exposed(tmp_path, mode, warned, caplog):
    f = tmp_path / "skynet.conf"
    f.write_text("[neutron]\npassword = x\n")
    os.chmod(f, mode)
    assert token_cache.warn_if_exposed(str(f), "skynet.conf",
                                       "[neutron] password") is warned
    assert ("readable by group/others" in caplog.text) is warned
    assert "= x" not in caplog.text


def test_plugin_identity_drops_secrets():
    from keystoneauth1.identity import v3
    p = v3.ApplicationCredential(auth_url="https://ks/v3",
                                 application_credential_id="ID1",
                                 application_credential_secret="SEC")
    ident = token_cache.plugin_identity(p)
    assert "ID1" in ident.values()
    assert "SEC" not in ident.values()
    assert ident["plugin"].endswith("ApplicationCredential")
