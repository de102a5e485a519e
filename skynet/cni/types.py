"""CNI calling convention: environment, versions, results, errors.

Standard library only (imported by the CNI entry point on every call).
"""

import json
import os

from skynet import exceptions

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST = "1.1.0"
COMMANDS = ("ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION")
# verbs that exist only from a given spec version on
_MIN_VERSION = {"CHECK": "0.4.0", "STATUS": "1.1.0", "GC": "1.1.0"}
# verbs that need a container
_NEEDS_CONTAINER = ("ADD", "DEL", "CHECK")


def _vtuple(version):
    return tuple(int(p) for p in version.split("."))


def normalize_version(version, field="cniVersion"):
    """Accept "1.0" (the seed's netconf) as "1.0.0"; reject unknown versions."""
    if not isinstance(version, str) or not version:
        raise exceptions.InvalidConfig(field, version,
                                       "must be a version string")
    parts = version.split(".")
    if len(parts) == 2:
        parts.append("0")
    candidate = ".".join(parts)
    if candidate not in SUPPORTED_VERSIONS:
        raise exceptions.IncompatibleVersion(
            "%s: %r is not supported (supported: %s)"
            % (field, version, ", ".join(SUPPORTED_VERSIONS)))
    return candidate


class CniParams:
    """The CNI_* environment of one call."""

    def __init__(self, command, container_id=None, netns=None, ifname=None,
                 args=None, path=None):
        self.command = command
        self.container_id = container_id
        self.netns = netns
        self.ifname = ifname
        self.args = args or {}
        self.path = path

    @classmethod
    def from_env(cls, env=None):
        env = os.environ if env is None else env
        command = env.get("CNI_COMMAND")
        if not command:
            raise exceptions.InvalidEnvironment(
                "CNI_COMMAND is not set (one of %s)" % ", ".join(COMMANDS))
        if command not in COMMANDS:
            raise exceptions.InvalidEnvironment(
                "CNI_COMMAND: %r is not one of %s"
                % (command, ", ".join(COMMANDS)))
        params = cls(command,
                     container_id=env.get("CNI_CONTAINERID") or None,
                     netns=env.get("CNI_NETNS") or None,
                     ifname=env.get("CNI_IFNAME") or None,
                     args=parse_cni_args(env.get("CNI_ARGS", "")),
                     path=env.get("CNI_PATH"))
        if command in _NEEDS_CONTAINER:
            for var, value in (("CNI_CONTAINERID", params.container_id),
                               ("CNI_IFNAME", params.ifname)):
                if not value:
                    raise exceptions.InvalidEnvironment(
                        "%s is required for %s" % (var, command))
            if command != "DEL" and not params.netns:
                raise exceptions.InvalidEnvironment(
                    "CNI_NETNS is required for %s" % command)
            if len(params.ifname) > 15 or "/" in params.ifname:
                raise exceptions.InvalidEnvironment(
                    "CNI_IFNAME: %r is not a valid interface name"
                    % params.ifname)
        return params


def parse_cni_args(raw):
    """CNI_ARGS: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IgnoreUnknown=1"."""
    args = {}
    if not raw:
        return args
    for item in raw.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise exceptions.InvalidEnvironment(
                "CNI_ARGS: %r is not KEY=VALUE" % item)
        args[key] = value
    return args


def check_command_version(command, version):
    minimum = _MIN_VERSION.get(command)
    if minimum and _vtuple(version) < _vtuple(minimum):
        raise exceptions.IncompatibleVersion(
            "%s needs cniVersion %s or later, the network configuration "
            "says %s" % (command, minimum, version))


def convert_result(result, version):
    """Turn a 1.x result dict into the shape of ``version``.

    Before 1.0.0 each IP carries ``version`` ("4"/"6"); 1.1.0 and 1.0.0 share
    one shape.
    """
    out = dict(result)
    out["cniVersion"] = version
    if _vtuple(version) < (1, 0, 0):
        ips = []
        for ip in result.get("ips", ()):
            ip = dict(ip)
            ip["version"] = "6" if ":" in ip["address"] else "4"
            ips.append(ip)
        out["ips"] = ips
    return out


def version_result(version=LATEST):
    return {"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)}


def error_result(version, code, msg, details=""):
    return {"cniVersion": version or LATEST, "code": int(code), "msg": msg,
            "details": details or ""}


def dump(obj, stream):
    stream.write(json.dumps(obj, indent=2, sort_keys=True))
    stream.write("\n")
    stream.flush()
