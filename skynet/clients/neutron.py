"""Neutron over keystoneauth1: one Adapter per process, errors mapped.

With no ``[neutron] auth_type`` the endpoint override (the seed's
``neutron_url``) is used as a noauth endpoint; otherwise keystoneauth loads
the configured auth plugin and ``endpoint_override`` (if any) replaces the
catalog's endpoint.
"""

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from oslo_log import log as logging

from skynet import exceptions

LOG = logging.getLogger(__name__)
GROUP = "neutron"


class NotFound(exceptions.NeutronError):
    pass


class Conflict(exceptions.NeutronError):
    pass


class BadRequest(exceptions.NeutronError):
    pass


_STATUS_ERRORS = {400: BadRequest, 404: NotFound, 409: Conflict}


class NeutronClient:
    """Thin JSON client: GET/POST/PUT/DELETE under /v2.0, with counters."""

    def __init__(self, conf):
        group = conf[GROUP]
        self.timeout = group.timeout
        if group.auth_type:
            auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
            sess = ks_loading.load_session_from_conf_options(conf, GROUP,
                                                             auth=auth)
            self.endpoint = group.endpoint_override or "<catalog>"
        else:
            if not group.endpoint_override:
                raise exceptions.InvalidConfig(
                    "neutron.neutron_url", None,
                    "is not set and [neutron] auth_type is empty: skynet "
                    "does not know where Neutron is")
            auth = noauth.NoAuth(endpoint=group.endpoint_override)
            sess = ks_session.Session(auth=auth, timeout=self.timeout)
            self.endpoint = group.endpoint_override
        self.adapter = ks_loading.load_adapter_from_conf_options(
            conf, GROUP, session=sess, auth=auth, raise_exc=False)
        #: API calls made, per method (benchmarks and tests read it)
        self.calls = []

    def _request(self, method, path, body=None, params=None):
        url = "/v2.0" + path
        self.calls.append((method, path))
        try:
            resp = self.adapter.request(url, method, json=body, params=params,
                                        connect_retries=0)
        except (ks_exc.ConnectFailure, ks_exc.ConnectionError,
                ks_exc.RequestTimeout) as exc:
            raise exceptions.TryAgainLater(
                "Neutron at %s is unreachable (%s %s): %s"
                % (self.endpoint, method, url, type(exc).__name__),
                details=str(exc))
        except ks_exc.ClientException as exc:
            # auth and catalog failures: never include credentials
            raise exceptions.NeutronError(
                "Neutron %s %s failed: %s" % (method, url, exc))
        status = resp.status_code
        if status < 300:
            return resp.json() if resp.content else None
        err_type, message = _error_of(resp)
        text = "Neutron %s %s: HTTP %d %s%s" % (
            method, url, status, err_type or "",
            (": " + message) if message else "")
        if status in _STATUS_ERRORS:
            exc = _STATUS_ERRORS[status](text)
        elif status >= 500 or status == 429:
            exc = exceptions.TryAgainLater(text)
        else:
            exc = exceptions.NeutronError(text)
        exc.neutron_type = err_type
        exc.status = status
        raise exc

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


_CLIENTS = {}


def get_client(conf):
    """One client per configuration object (the daemon keeps it warm)."""
    key = id(conf)
    if key not in _CLIENTS:
        _CLIENTS[key] = NeutronClient(conf)
    return _CLIENTS[key]
