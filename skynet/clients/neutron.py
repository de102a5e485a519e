"""Neutron over keystoneauth1: one Adapter per process, errors mapped.

Where the credentials come from (first match wins):

1. ``[neutron] cloud`` (netconf ``neutron.cloud``): a cloud of clouds.yaml
   (skynet.clients.clouds), e.g. password or v3applicationcredential;
2. ``[neutron] auth_type`` + the plugin's options in ``[neutron]``
   (keystoneauth's standard loading: ``password`` / ``v3password`` with
   user and project domains, ``v3applicationcredential``, ...);
3. no auth (``auth_type`` empty or ``none``): Neutron in noauth mode at the
   endpoint override (the seed's netconf ``neutron_url``).

With auth, Neutron's endpoint is ``endpoint_override`` (``neutron_url``) if
set, else the Keystone catalog's ``network`` endpoint of
``valid_interfaces`` / ``region_name`` (clouds.yaml: ``interface`` /
``region_name``).

TLS is deterministic: ``cafile`` (clouds.yaml ``cacert``) is passed on every
request; ``insecure`` disables verification; with neither, the CA bundle of
python-requests (certifi) is used. REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE and
proxy variables of the environment are ignored (``trust_env = False``).

Tokens are reused across CNI invocations through skynet.clients.token_cache;
a 401 from Neutron makes keystoneauth re-authenticate once and retry (a
revoked token is replaced transparently) and the new token is cached.
Secrets are never logged nor put into error messages.
"""

import contextlib
import os
import re

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import base as ks_identity_base
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from oslo_log import log as logging

from skynet.clients import clouds
from skynet.clients import token_cache
from skynet import exceptions

LOG = logging.getLogger(__name__)
GROUP = "neutron"
NOAUTH_TYPES = ("", "none", "noauth")


class NotFound(exceptions.NeutronError):
    pass


class Conflict(exceptions.NeutronError):
    pass


class BadRequest(exceptions.NeutronError):
    pass


class PermissionDenied(exceptions.NeutronError):
    """HTTP 403: skynet's identity may not do this (e.g. binding:host_id)."""


class AuthenticationFailed(exceptions.NeutronError):
    """Keystone refused skynet's credentials, or Neutron refused its token."""


_STATUS_ERRORS = {400: BadRequest, 403: PermissionDenied, 404: NotFound,
                  409: Conflict}


class NeutronClient:
    """Thin JSON client: GET/POST/PUT/DELETE under /v2.0, with counters."""

    def __init__(self, conf):
        group = conf[GROUP]
        self.timeout = group.timeout
        #: API calls made, per method (benchmarks and tests read it)
        self.calls = []
        #: Keystone token requests this process made (0 = cached token used)
        self.token_requests = 0
        self.cache = None
        self.identity = None          # "auth_type ..., user ..." (no secret)
        self.trust = None             # what TLS verification trusts
        self._saved_token = None
        self._auth_ready = False
        auth_type = (group.auth_type or "").strip().lower()
        if group.cloud:
            self._from_cloud(conf, group)
        elif auth_type in NOAUTH_TYPES:
            self._noauth(conf, group)
        else:
            self._from_conf(conf, group, auth_type)
        # deterministic TLS: the env's CA bundle variables must not replace
        # the CA we were told to trust (and no proxy/netrc surprises)
        self.session.session.trust_env = False
        if isinstance(self.auth, ks_identity_base.BaseIdentityPlugin):
            self._init_cache(conf, group)

    # -- construction ----------------------------------------------------

    def _trust_of(self, verify, source):
        if verify is False:
            LOG.warning("TLS verification of Keystone/Neutron is disabled "
                        "(%s insecure)", source)
            return "nothing (insecure)"
        if isinstance(verify, str):
            return "the CA file %s (%s)" % (verify, source)
        return ("the python-requests CA bundle (no %s set; REQUESTS_CA_"
                "BUNDLE/CURL_CA_BUNDLE are ignored)" % source)

    def _noauth(self, conf, group):
        if not group.endpoint_override:
            raise exceptions.InvalidConfig(
                "neutron.neutron_url", None,
                "is not set and [neutron] auth_type is empty: skynet "
                "does not know where Neutron is")
        self.auth = noauth.NoAuth(endpoint=group.endpoint_override)
        self.session = ks_loading.load_session_from_conf_options(
            conf, GROUP, auth=self.auth)
        self.trust = self._trust_of(self.session.verify,
                                    "[neutron] cafile")
        self.endpoint = group.endpoint_override
        self.adapter = ks_loading.load_adapter_from_conf_options(
            conf, GROUP, session=self.session, auth=self.auth,
            raise_exc=False)

    def _from_conf(self, conf, group, auth_type):
        try:
            loader = ks_loading.get_plugin_loader(auth_type)
        except ks_exc.NoMatchingPlugin:
            raise exceptions.InvalidConfig(
                "neutron.auth_type", auth_type,
                "is not a keystoneauth auth plugin (e.g. password, "
                "v3password, v3applicationcredential, none)")
        try:
            self.auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
        except ks_exc.MissingRequiredOptions as exc:
            raise exceptions.InvalidConfig(
                "neutron.%s" % exc.options[0].dest, None,
                "is required by [neutron] auth_type %s" % auth_type)
        except (ks_exc.ClientException, ValueError) as exc:
            # keystoneauth's messages name options, never their values
            raise exceptions.InvalidConfig(
                "neutron.auth_type", auth_type,
                "cannot be loaded: %s" % exc)
        values = {}
        for opt in loader.get_options():
            value = getattr(group, opt.dest, None)
            if value in (None, ""):
                continue
            if opt.secret:
                _warn_conf_secret(conf, opt.dest)
                continue
            values[opt.dest] = value
        self.identity = _describe(auth_type, values)
        self.session = ks_loading.load_session_from_conf_options(
            conf, GROUP, auth=self.auth)
        self.trust = self._trust_of(self.session.verify,
                                    "[neutron] cafile")
        self.endpoint = group.endpoint_override or _catalog_label(
            group.valid_interfaces, group.region_name)
        self.adapter = ks_loading.load_adapter_from_conf_options(
            conf, GROUP, session=self.session, auth=self.auth,
            raise_exc=False)

    def _from_cloud(self, conf, group):
        cloud = clouds.load(group.cloud, group.clouds_file)
        self.auth = cloud.auth
        if group.insecure:
            verify, source = False, "[neutron]"
        elif group.cafile:
            verify, source = group.cafile, "[neutron] cafile"
        else:
            verify, source = cloud.verify, "cacert of cloud %s in %s" % (
                cloud.name, cloud.path)
        cert = cloud.cert
        if group.certfile:
            cert = ((group.certfile, group.keyfile) if group.keyfile
                    else group.certfile)
        self.session = ks_session.Session(auth=self.auth, verify=verify,
                                          cert=cert, timeout=self.timeout)
        self.trust = self._trust_of(verify, source)
        self.identity = "cloud %s (%s) %s" % (
            cloud.name, cloud.path, _describe(cloud.auth_type, cloud.values))
        interface = group.valid_interfaces or cloud.interface or "public"
        region = group.region_name or cloud.region_name
        override = group.endpoint_override or cloud.endpoint_override
        self.endpoint = override or _catalog_label(interface, region)
        self.adapter = ks_adapter.Adapter(
            session=self.session, auth=self.auth,
            service_type=group.service_type or "network",
            interface=interface, region_name=region,
            endpoint_override=override, raise_exc=False,
            connect_retries=group.connect_retries)

    def _init_cache(self, conf, group):
        auth_type = type(self.auth).__name__.lower()
        if not group.token_cache or "token" in auth_type:
            return
        directory = group.token_cache_dir or os.path.join(
            conf.state_dir, "keystone-tokens")
        self.cache = token_cache.TokenCache(
            directory, token_cache.plugin_identity(self.auth),
            margin=group.token_cache_margin)

    # -- authentication --------------------------------------------------

    def _current_token(self):
        ref = getattr(self.auth, "auth_ref", None)
        return ref.auth_token if ref is not None else None

    def _ensure_auth(self):
        """Before the first request: a cached token, else authenticate
        (once for all concurrent CNI calls of this identity)."""
        if self._auth_ready or not isinstance(
                self.auth, ks_identity_base.BaseIdentityPlugin):
            return
        if self.cache is not None and self._use_cached():
            self._auth_ready = True
            return
        lock = (self.cache.locked() if self.cache is not None
                else contextlib.nullcontext())
        with lock:
            if self.cache is not None and self._use_cached():
                self._auth_ready = True
                return
            try:
                self.auth.get_access(self.session)
            except ks_exc.ClientException as exc:
                raise self._auth_error(exc, "POST", "/v3/auth/tokens")
            self._note_token()
        self._auth_ready = True

    def _use_cached(self):
        state = self.cache.load()
        if not state:
            return False
        try:
            self.auth.set_auth_state(state)
        except (ValueError, KeyError, TypeError):
            return False
        self._saved_token = self._current_token()
        LOG.debug("Keystone token reused from %s", self.cache.path)
        return self._saved_token is not None

    def _note_token(self):
        """Count and cache a token we did not have before."""
        token = self._current_token()
        if token is None or token == self._saved_token:
            return
        self.token_requests += 1
        self._saved_token = token
        where = ""
        if self.cache is not None and self.cache.save(
                self.auth.get_auth_state()):
            where = " (cached in %s)" % self.cache.path
        LOG.info("Keystone: new token for %s%s", self.identity, where)

    def _auth_error(self, exc, method, url):
        """Map a keystoneauth failure to a CNI error; never a secret."""
        if isinstance(exc, ks_exc.SSLError):
            reason = _ssl_reason(str(exc))
            return exceptions.NeutronError(
                "TLS verification failed for %s: %s; skynet trusts %s"
                % (_url_in(str(exc)) or self.endpoint, reason, self.trust))
        if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectionError,
                            ks_exc.RequestTimeout)):
            return exceptions.TryAgainLater(
                "%s is unreachable (%s %s): %s"
                % (_url_in(str(exc)) or self.endpoint, method, url,
                   type(exc).__name__), details=str(exc))
        if isinstance(exc, ks_exc.Unauthorized):
            return AuthenticationFailed(
                "Keystone refused the credentials of %s: HTTP 401 (wrong "
                "password or application credential secret, unknown or "
                "disabled user, or a scope the credential may not ask for)"
                % self.identity)
        if isinstance(exc, ks_exc.EndpointNotFound):
            return exceptions.NeutronError(
                "the Keystone catalog of %s has no network endpoint for %s: "
                "set [neutron] endpoint_override (netconf neutron_url) or "
                "fix valid_interfaces/region_name" % (self.identity,
                                                      self.endpoint))
        if isinstance(exc, ks_exc.HttpError):
            return AuthenticationFailed(
                "Keystone answered HTTP %s to %s: %s"
                % (exc.http_status, self.identity, exc.message))
        return exceptions.NeutronError(
            "Neutron %s %s failed for %s: %s: %s"
            % (method, url, self.identity or "noauth", type(exc).__name__,
               exc))

    # -- requests --------------------------------------------------------

    def _request(self, method, path, body=None, params=None):
        url = "/v2.0" + path
        self.calls.append((method, path))
        try:
            self._ensure_auth()
            resp = self.adapter.request(url, method, json=body, params=params,
                                        connect_retries=0)
        except ks_exc.ClientException as exc:
            raise self._auth_error(exc, method, url)
        finally:
            if self.cache is not None and self._auth_ready:
                self._note_token()      # re-authenticated on 401 / expiry
        status = resp.status_code
        if status < 300:
            data = resp.json() if resp.content else None
            self._check_admin_view(method, path, data)
            return data
        err_type, message = _error_of(resp)
        text = "Neutron %s %s: HTTP %d %s%s" % (
            method, url, status, err_type or "",
            (": " + message) if message else "")
        if status == 401:
            exc = AuthenticationFailed(
                "%s: Neutron refused the Keystone token of %s even after "
                "re-authenticating" % (text, self.identity or "noauth"))
        elif status == 403:
            hint = ""
            if "binding:host_id" in (message or ""):
                hint = ("; %s may not set binding:host_id (Neutron policy "
                        "create_port:binding:host_id: it needs the admin "
                        "role)" % (self.identity or "this identity"))
            exc = PermissionDenied(text + hint)
        elif status in _STATUS_ERRORS:
            exc = _STATUS_ERRORS[status](text)
        elif status >= 500 or status == 429:
            exc = exceptions.TryAgainLater(text)
        else:
            exc = exceptions.NeutronError(text)
        exc.neutron_type = err_type
        exc.status = status
        raise exc

    def _check_admin_view(self, method, path, data):
        """Neutron hides admin-only attributes from other roles instead of
        refusing: a network without provider attributes means skynet's
        identity is not admin, and its port create would get a 403 on
        binding:host_id. Say so now, before anything is created."""
        if (self.identity is None or method != "GET"
                or not _NETWORK_PATH.match(path)
                or not isinstance(data, dict)):
            return
        net = data.get("network") or {}
        if "provider:network_type" in net or "segments" in net:
            return
        raise PermissionDenied(
            "Neutron GET /v2.0%s: the network's provider attributes are "
            "hidden from %s: it is not admin in Neutron, so it may not set "
            "binding:host_id on the pod's port either (policy create_port:"
            "binding:host_id needs the admin role)" % (path, self.identity))

    def get(self, path, **params):
        return self._request("GET", path, params=params or None)

    def post(self, path, body):
        return self._request("POST", path, body=body)

    def put(self, path, body):
        return self._request("PUT", path, body=body)

    def delete(self, path):
        """DELETE; a resource that is already gone is success."""
        try:
            self._request("DELETE", path)
            return True
        except NotFound:
            return False


def _error_of(resp):
    try:
        body = resp.json()
    except ValueError:
        return None, resp.text[:200]
    err = body.get("NeutronError") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return err.get("type"), err.get("message")
    return None, str(body)[:200]


def _catalog_label(interface, region):
    if isinstance(interface, (list, tuple)):
        interface = "/".join(interface)
    return "<catalog network %s%s>" % (
        interface or "public", (" " + region) if region else "")


def _describe(auth_type, values):
    order = ("username", "user_id", "user_domain_name", "user_domain_id",
             "application_credential_id", "application_credential_name",
             "project_name", "project_id", "project_domain_name",
             "project_domain_id", "domain_name", "domain_id",
             "system_scope", "trust_id", "auth_url")
    parts = ["%s=%s" % (k, values[k]) for k in order if values.get(k)]
    return "auth_type %s (%s)" % (auth_type, ", ".join(parts))


def _warn_conf_secret(conf, dest):
    try:
        loc = conf.get_location(dest, GROUP)
    except Exception:        # oslo.config without locations
        loc = None
    path = getattr(loc, "detail", None)
    if path and os.path.isfile(path):
        token_cache.warn_if_exposed(path, "skynet.conf",
                                    "[neutron] %s" % dest)


_NETWORK_PATH = re.compile(r"^/networks/[^/?]+$")
_SSL_REASON = re.compile(r"certificate verify failed: ([^(')]+)")
_URL = re.compile(r"(https?://[^\s:/]+(?::\d+)?)")


def _ssl_reason(text):
    m = _SSL_REASON.search(text)
    if m:
        return "certificate verify failed: " + m.group(1).strip()
    return text.split(":", 1)[-1].strip()[:300]


def _url_in(text):
    m = _URL.search(text)
    return m.group(1) if m else None


_CLIENTS = {}


def get_client(conf):
    """One client per configuration object (the daemon keeps it warm)."""
    key = id(conf)
    if key not in _CLIENTS:
        _CLIENTS[key] = NeutronClient(conf)
    return _CLIENTS[key]
