"""Parse and validate the network configuration (stdin) of a CNI call.

The seed's netconf is accepted as written::

    {"name": "skynet", "type": "skynet", "cniVersion": "1.0",
     "neutron": {"neutron_url": ..., "default_network_id": ...,
                 "default_security_group_ids": "id1,id2",
                 "external_router_gateway_ip": ..., "service_cluster_ip_cidr": ...},
     "plugin": {"plugin_type": "linuxbridge", "trunk_nic": ..., "tunnel_nic": ...},
     "kubernetes": {"k8s_api_root": ...}, "log_level": "info"}

Beyond the seed: ``neutron.cloud``/``clouds_file``/``region_name``/
``interface``/``cafile``/``certfile``/``keyfile``/``insecure``/
``token_cache_dir`` (Keystone auth; the secrets themselves stay in
skynet.conf or clouds.yaml) and ``kubernetes.kubeconfig``/``token_file``/
``ca_file``/``cert_file``/``key_file``/``service_account_dir``/``insecure``.

Every value maps onto the oslo.config option that /etc/skynet/skynet.conf
can set (FIELDS below); the netconf wins where both speak. Standard library
only, so that parsing errors cost no heavy imports.
"""

import ipaddress
import json
import re
import urllib.parse
import uuid

from skynet.cni import types
from skynet import exceptions

_IFNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")
_DRIVER_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


# -- value validators: return the normalised value or raise ValueError(reason)

def _uuid(value):
    if not isinstance(value, str):
        raise ValueError("is not a UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("is not a UUID")


def _uuid_list(value):
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError("is not a comma-separated list of UUIDs")
    try:
        return [_uuid(v) for v in items]
    except ValueError:
        raise ValueError("is not a comma-separated list of UUIDs")


def _url(value):
    if not isinstance(value, str):
        raise ValueError("is not an http(s) URL")
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("is not an http(s) URL")
    try:
        parsed.port
    except ValueError:
        raise ValueError("has an invalid port")
    return value.rstrip("/")


def _ip(value):
    try:
        return str(ipaddress.ip_address(value))
    except (ValueError, TypeError):
        raise ValueError("is not an IP address")


def _cidr(value):
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except (ValueError, TypeError):
        raise ValueError("is not a network CIDR (e.g. 10.254.0.0/16)")


def _ifname(value):
    if not isinstance(value, str) or not _IFNAME.match(value):
        raise ValueError("is not a network interface name")
    return value


def _driver(value):
    if not isinstance(value, str) or not _DRIVER_NAME.match(value):
        raise ValueError("is not a driver name")
    return value


def _timeout(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("is not a number of seconds")
    if not 0.1 <= value <= 600:
        raise ValueError("is not between 0.1 and 600 seconds")
    return float(value)


def _path(value):
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError("is not an absolute path")
    return value


def _bool(value):
    if not isinstance(value, bool):
        raise ValueError("is not true or false")
    return value


def _name(value):
    if not isinstance(value, str) or not 0 < len(value) <= 255 or any(
            c in value for c in "\n\r\0"):
        raise ValueError("is not a name")
    return value


_INTERFACES = ("public", "internal", "admin")


def _interfaces(value):
    items = ([v.strip() for v in value.split(",")]
             if isinstance(value, str) else value)
    if not isinstance(items, list) or not items or not all(
            v in _INTERFACES for v in items):
        raise ValueError("is not one of (or a list of) %s"
                         % ", ".join(_INTERFACES))
    return items


def _log_level(value):
    if not isinstance(value, str) or value.lower() not in LOG_LEVELS:
        raise ValueError("is not one of %s" % ", ".join(LOG_LEVELS))
    return value.lower()


def _node_name(value):
    if not isinstance(value, str) or not 0 < len(value) <= 253:
        raise ValueError("is not a node name")
    return value


# netconf field -> (oslo.config group, option, validator)
FIELDS = {
    "neutron.neutron_url": ("neutron", "endpoint_override", _url),
    "neutron.default_network_id": ("pod_network", "default_network_id", _uuid),
    "neutron.default_subnet_id": ("pod_network", "default_subnet_id", _uuid),
    "neutron.default_security_group_ids":
        ("pod_network", "default_security_group_ids", _uuid_list),
    "neutron.external_router_gateway_ip":
        ("pod_network", "external_router_gateway_ip", _ip),
    "neutron.service_cluster_ip_cidr":
        ("pod_network", "service_cluster_ip_cidr", _cidr),
    "neutron.timeout": ("neutron", "timeout", _timeout),
    # Keystone auth: secrets never come from the netconf (a file under
    # /etc/cni/net.d is often world-readable); they live in skynet.conf or
    # clouds.yaml, which the netconf may point at
    "neutron.cloud": ("neutron", "cloud", _name),
    "neutron.clouds_file": ("neutron", "clouds_file", _path),
    "neutron.region_name": ("neutron", "region_name", _name),
    "neutron.interface": ("neutron", "valid_interfaces", _interfaces),
    "neutron.cafile": ("neutron", "cafile", _path),
    "neutron.certfile": ("neutron", "certfile", _path),
    "neutron.keyfile": ("neutron", "keyfile", _path),
    "neutron.insecure": ("neutron", "insecure", _bool),
    "neutron.token_cache_dir": ("neutron", "token_cache_dir", _path),
    "plugin.plugin_type": ("datapath", "driver", _driver),
    "plugin.trunk_nic": ("datapath", "trunk_nic", _ifname),
    "plugin.tunnel_nic": ("datapath", "tunnel_nic", _ifname),
    "kubernetes.k8s_api_root": ("kubernetes", "api_root", _url),
    "kubernetes.kubeconfig": ("kubernetes", "kubeconfig", _path),
    "kubernetes.token_file": ("kubernetes", "token_file", _path),
    "kubernetes.ca_file": ("kubernetes", "ca_file", _path),
    "kubernetes.cert_file": ("kubernetes", "cert_file", _path),
    "kubernetes.key_file": ("kubernetes", "key_file", _path),
    "kubernetes.service_account_dir":
        ("kubernetes", "service_account_dir", _path),
    "kubernetes.insecure": ("kubernetes", "insecure", _bool),
    "kubernetes.timeout": ("kubernetes", "timeout", _timeout),
    "log_level": ("DEFAULT", "log_level", _log_level),
    "log_file": ("DEFAULT", "log_file", _path),
    "node_name": ("DEFAULT", "node_name", _node_name),
    "state_dir": ("DEFAULT", "state_dir", _path),
    "config_file": (None, "config_file", _path),
}
SECTIONS = ("neutron", "plugin", "kubernetes")


class NetConf:
    def __init__(self, raw, version, overrides, config_file=None):
        self.raw = raw
        self.version = version
        self.name = raw.get("name")
        #: [(group, option, value)] to apply on top of skynet.conf
        self.overrides = overrides
        self.config_file = config_file
        self.prev_result = raw.get("prevResult")
        self.valid_attachments = raw.get("cni.dev/valid-attachments")


def loads(data):
    """Decode stdin; code 6 if it is not a JSON object."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.DecodeError(
                "network configuration is not UTF-8: %s" % exc)
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise exceptions.DecodeError(
            "network configuration is not valid JSON: %s" % exc)
    if not isinstance(raw, dict):
        raise exceptions.DecodeError(
            "network configuration must be a JSON object, not %s"
            % type(raw).__name__)
    return raw


def parse(raw):
    """Validate a decoded netconf; code 7 names the field and the bad value."""
    version = types.normalize_version(raw.get("cniVersion"))
    if "name" in raw and not (isinstance(raw["name"], str) and raw["name"]):
        raise exceptions.InvalidConfig("name", raw["name"],
                                       "must be a non-empty string")
    overrides = []
    config_file = None
    for section in SECTIONS:
        body = raw.get(section)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise exceptions.InvalidConfig(section, body, "must be an object")
        for key, value in body.items():
            _apply("%s.%s" % (section, key), value, overrides)
    for key in ("log_level", "log_file", "node_name", "state_dir",
                "config_file"):
        if key in raw:
            if key == "config_file":
                config_file = _validate(key, raw[key])
            else:
                _apply(key, raw[key], overrides)
    _check_consistency(dict(((g, o), v) for g, o, v in overrides))
    prev = raw.get("prevResult")
    if prev is not None and not isinstance(prev, dict):
        raise exceptions.InvalidConfig("prevResult", prev,
                                       "must be an object")
    valid = raw.get("cni.dev/valid-attachments")
    if valid is not None:
        if not isinstance(valid, list) or not all(
                isinstance(a, dict) and isinstance(a.get("containerID"), str)
                and isinstance(a.get("ifname"), str) for a in valid):
            raise exceptions.InvalidConfig(
                "cni.dev/valid-attachments", valid,
                "must be a list of {containerID, ifname} objects")
    return NetConf(raw, version, overrides, config_file)


def _validate(field, value):
    validator = FIELDS[field][2]
    try:
        return validator(value)
    except ValueError as exc:
        raise exceptions.InvalidConfig(field, value, str(exc))


def _apply(field, value, overrides):
    if field not in FIELDS:
        raise exceptions.InvalidConfig(field, value, "is not a known field")
    if value is None or value == "":
        return      # an empty value means "not set here": skynet.conf speaks
    group, option, _ = FIELDS[field]
    overrides.append((group, option, _validate(field, value)))


def _check_consistency(values):
    gw = values.get(("pod_network", "external_router_gateway_ip"))
    cidr = values.get(("pod_network", "service_cluster_ip_cidr"))
    if gw and cidr and (ipaddress.ip_address(gw).version
                        != ipaddress.ip_network(cidr).version):
        raise exceptions.InvalidConfig(
            "neutron.external_router_gateway_ip", gw,
            "is not of the IP version of service_cluster_ip_cidr %s" % cidr)
