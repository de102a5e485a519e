"""clouds.yaml support without openstacksdk.

``[neutron] cloud = NAME`` (netconf ``neutron.cloud``) reads the cloud NAME
from clouds.yaml, the way the openstack CLI / openstacksdk find it:

1. ``[neutron] clouds_file`` if set (only that file);
2. otherwise the first file that exists of ``$OS_CLIENT_CONFIG_FILE``,
   ``./clouds.yaml``, ``~/.config/openstack/clouds.yaml``,
   ``/etc/openstack/clouds.yaml``;
3. ``secure.yaml`` in the same standard directories is merged on top
   (``$OS_CLIENT_SECURE_FILE`` first), so that secrets can live apart.

Understood keys of a cloud: ``auth_type`` (default ``password``), ``auth``
(the keystoneauth plugin's options, ``-`` or ``_``), ``region_name``,
``interface``, ``cacert``, ``cert``, ``key``, ``verify`` (false = insecure),
``network_endpoint_override`` / ``endpoint_override``, ``api_timeout``.
Other keys (``identity_api_version``, ``profile``...) are ignored.
"""

import copy
import os

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

from skynet.clients import token_cache
from skynet import exceptions

LOG = logging.getLogger(__name__)


def search_path(environ=None):
    env = os.environ if environ is None else environ
    files = []
    if env.get("OS_CLIENT_CONFIG_FILE"):
        files.append(env["OS_CLIENT_CONFIG_FILE"])
    files.append(os.path.join(os.getcwd(), "clouds.yaml"))
    home = env.get("HOME") or os.path.expanduser("~")
    if home and home != "~":
        files.append(os.path.join(home, ".config", "openstack",
                                  "clouds.yaml"))
    files.append("/etc/openstack/clouds.yaml")
    return files


def _secure_path(environ=None):
    env = os.environ if environ is None else environ
    files = []
    if env.get("OS_CLIENT_SECURE_FILE"):
        files.append(env["OS_CLIENT_SECURE_FILE"])
    return files + [os.path.join(os.path.dirname(p), "secure.yaml")
                    for p in search_path(env)
                    if not p == env.get("OS_CLIENT_CONFIG_FILE")]


def _read(path):
    import yaml
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as exc:
        raise exceptions.InvalidConfig(
            "neutron.clouds_file", path,
            "cannot be read: %s" % exc.strerror)
    except yaml.YAMLError as exc:
        raise exceptions.InvalidConfig(
            "neutron.clouds_file", path,
            "is not valid YAML: %s" % str(exc).splitlines()[0])
    if not isinstance(data, dict) or not isinstance(
            data.get("clouds", {}), dict):
        raise exceptions.InvalidConfig(
            "neutron.clouds_file", path,
            "has no 'clouds:' mapping")
    return data


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def find_cloud(name, clouds_file=None, environ=None):
    """(cloud dict, path) of cloud ``name``; InvalidConfig names the files."""
    if clouds_file:
        candidates = [clouds_file]
        if not os.path.exists(clouds_file):
            raise exceptions.InvalidConfig(
                "neutron.clouds_file", clouds_file, "does not exist")
    else:
        candidates = search_path(environ)
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        raise exceptions.InvalidConfig(
            "neutron.cloud", name, "cannot be looked up: no clouds.yaml "
            "found (searched %s)" % ", ".join(candidates))
    clouds = _read(path).get("clouds") or {}
    secure_file = None
    if not clouds_file:
        for sp in _secure_path(environ):
            if os.path.isfile(sp):
                secure_file = sp
                break
    if name not in clouds:
        raise exceptions.InvalidConfig(
            "neutron.cloud", name, "is not a cloud in %s (it has: %s)"
            % (path, ", ".join(sorted(clouds)) or "none"))
    cloud = copy.deepcopy(clouds[name]) or {}
    if secure_file:
        extra = (_read(secure_file).get("clouds") or {}).get(name)
        if isinstance(extra, dict):
            _merge(cloud, extra)
            _warn_secrets(secure_file, extra)
    _warn_secrets(path, clouds[name] or {})
    return cloud, path


def _warn_secrets(path, cloud):
    auth = cloud.get("auth") or {}
    held = sorted(k for k in auth
                  if any(w in k.lower() for w in ("password", "secret",
                                                  "token")))
    if held:
        token_cache.warn_if_exposed(path, "clouds.yaml",
                                    "auth " + ", ".join(held))


class CloudSettings:
    """What skynet needs from a cloud: plugin + session/adapter settings."""

    def __init__(self, name, path, auth, auth_type, verify, cert,
                 region_name, interface, endpoint_override, timeout,
                 cafile, values):
        self.name = name
        #: the non-secret auth options (for messages)
        self.values = values
        self.path = path
        self.auth = auth
        self.auth_type = auth_type
        self.verify = verify
        self.cert = cert
        self.region_name = region_name
        self.interface = interface
        self.endpoint_override = endpoint_override
        self.timeout = timeout
        self.cafile = cafile


def load(name, clouds_file=None, environ=None):
    """CloudSettings of cloud ``name`` (InvalidConfig on any problem)."""
    cloud, path = find_cloud(name, clouds_file, environ)
    where = "cloud %r in %s" % (name, path)
    auth_type = cloud.get("auth_type") or "password"
    try:
        loader = ks_loading.get_plugin_loader(auth_type)
    except ks_exc.NoMatchingPlugin:
        raise exceptions.InvalidConfig(
            "neutron.cloud", name, "has auth_type %r, which keystoneauth "
            "does not know (%s)" % (auth_type, path))
    given = {k.replace("-", "_"): v
             for k, v in (cloud.get("auth") or {}).items()}
    options = {o.dest: o for o in loader.get_options()}
    unknown = sorted(set(given) - set(options))
    if unknown:
        LOG.warning("%s: auth keys %s are not options of auth_type %s: "
                    "ignored", where, ", ".join(unknown), auth_type)
    kwargs = {k: v for k, v in given.items() if k in options}
    try:
        auth = loader.load_from_options(**kwargs)
    except ks_exc.MissingRequiredOptions as exc:
        raise exceptions.InvalidConfig(
            "neutron.cloud", name, "lacks auth %s, required by auth_type "
            "%s (%s)" % (", ".join(o.dest for o in exc.options),
                         auth_type, path))
    verify = cloud.get("verify", True)
    cafile = cloud.get("cacert")
    if verify is False or str(verify).lower() == "false":
        verify = False
    elif cafile:
        verify = cafile
    else:
        verify = True
    cert = cloud.get("cert")
    if cert and cloud.get("key"):
        cert = (cert, cloud["key"])
    interface = cloud.get("interface")
    override = (cloud.get("network_endpoint_override")
                or cloud.get("endpoint_override"))
    timeout = cloud.get("api_timeout")
    return CloudSettings(name, path, auth, auth_type, verify, cert,
                         cloud.get("region_name"), interface, override,
                         float(timeout) if timeout else None, cafile,
                         {k: v for k, v in kwargs.items()
                          if not options[k].secret})
