"""Keystone token reuse across CNI invocations.

Every CNI call is a new process, so keystoneauth's in-memory token would be
thrown away after each ADD and a burst of pods would make one Keystone token
request per pod. This module keeps keystoneauth's auth state
(``plugin.get_auth_state()``: the token and its body, catalog included) in a
file that only root can read:

* one file per auth identity, named by a SHA-256 of the identity's
  non-secret elements (auth URL, user/project/domain names or ids,
  application credential id/name, plugin class); never of a password or
  secret, so the name reveals nothing that could be brute-forced;
* directory 0700, file 0600, owned by the current user; a file with looser
  permissions or another owner is ignored (and replaced), with a warning;
* written atomically (temporary file + rename), so concurrent CNI calls
  never read half a file;
* reused only while the token is valid for more than ``margin`` seconds;
* the first process that needs a token takes an exclusive lock (flock) on
  ``<file>.lock`` while it authenticates: a concurrent burst of ADDs with an
  empty cache makes one token request, not one per pod.
"""

import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile

from oslo_log import log as logging

LOG = logging.getLogger(__name__)
FORMAT_VERSION = 1
#: element names that hold secrets: never part of the cache key
SECRET_WORDS = ("password", "secret", "token", "passcode", "totp")


def identity_key(elements):
    """SHA-256 (hex) of the non-secret identity elements (a dict)."""
    clean = {k: v for k, v in elements.items()
             if v is not None and not any(w in k.lower()
                                          for w in SECRET_WORDS)}
    blob = json.dumps(clean, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def plugin_identity(plugin):
    """The non-secret identity elements of a keystoneauth identity plugin."""
    elements = {"plugin": "%s.%s" % (type(plugin).__module__,
                                     type(plugin).__name__)}
    try:
        elements.update(plugin.get_cache_id_elements() or {})
    except NotImplementedError:
        pass
    return {k: v for k, v in elements.items()
            if not any(w in k.lower() for w in SECRET_WORDS)}


def _expires_at(state):
    """Expiry (epoch seconds) of a keystoneauth auth state string."""
    body = json.loads(state)["body"]
    token = body.get("token") or body.get("access", {}).get("token", {})
    raw = token.get("expires_at") or token.get("expires")
    when = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class TokenCache:
    """One identity's cached auth state in ``directory``."""

    def __init__(self, directory, elements, margin=300, clock=None):
        import time
        self.directory = directory
        self.key = identity_key(elements)
        self.path = os.path.join(directory, "ks-%s.json" % self.key[:40])
        self.margin = margin
        self._clock = clock or time.time

    # -- files -----------------------------------------------------------

    def _ensure_dir(self):
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            LOG.warning("token cache %s unusable: %s", self.directory,
                        exc.strerror)
            return False
        st = os.stat(self.directory)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            try:
                os.chmod(self.directory, 0o700)
            except OSError:
                LOG.warning("token cache directory %s is not private "
                            "(mode %o, owner %d): not used",
                            self.directory, stat.S_IMODE(st.st_mode),
                            st.st_uid)
                return False
        return True

    def _safe(self, st, path):
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            LOG.warning("ignoring token cache file %s: mode %o owner %d "
                        "(must be 0600, owned by uid %d)", path,
                        stat.S_IMODE(st.st_mode), st.st_uid, os.getuid())
            return False
        return True

    def load(self):
        """The cached auth state (str) if it is usable, else None."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                LOG.warning("cannot read token cache %s: %s", self.path,
                            exc.strerror)
            return None
        with os.fdopen(fd) as f:
            if not self._safe(os.fstat(fd), self.path):
                self.discard()
                return None
            try:
                data = json.load(f)
                state = data["state"]
                if data.get("version") != FORMAT_VERSION:
                    return None
                expires = _expires_at(state)
            except (ValueError, KeyError, TypeError, AttributeError):
                LOG.warning("ignoring unreadable token cache %s", self.path)
                return None
        left = expires - self._clock()
        if left <= self.margin:
            LOG.debug("cached Keystone token expires in %ds (margin %ds): "
                      "not reused", left, self.margin)
            return None
        return state

    def save(self, state):
        """Store ``state`` (keystoneauth auth state string) atomically."""
        if not state or not self._ensure_dir():
            return False
        try:
            expires = _expires_at(state)
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
        data = json.dumps({"version": FORMAT_VERSION, "expires_at": expires,
                           "state": state})
        fd, tmp = tempfile.mkstemp(prefix=".ks-", dir=self.directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError as exc:
            LOG.warning("cannot write token cache %s: %s", self.path,
                        exc.strerror)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        return True

    def discard(self):
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    @contextlib.contextmanager
    def locked(self):
        """Exclusive lock of this identity while authenticating."""
        if not self._ensure_dir():
            yield
            return
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)     # releases the lock


def warn_if_exposed(path, what, secret="a secret"):
    """Warn when a file holding a secret is readable by group or others.

    ``what`` names the file's role ("skynet.conf"), ``secret`` what it holds
    ("[neutron] password"): never the secret itself."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_mode & 0o077:
        LOG.warning("%s %s holds %s and is readable by group/others "
                    "(mode %04o): chmod 600 it", what, path, secret,
                    stat.S_IMODE(st.st_mode))
        return True
    return False
