"""The ``skynet`` CNI executable.

Imports only the standard library at start-up: VERSION and every input
error are answered without loading oslo, keystoneauth, requests or pyroute2
(~0.9 s of imports on a small node). The verbs that do work import the
in-process handler lazily; a node daemon can later take its place behind
the same parsing (see skynet.cni.types).
"""

import sys

from skynet.cni import netconf as cni_netconf
from skynet.cni import types
from skynet import exceptions


def _run(env, stdin, stdout):
    version = None
    try:
        params = types.CniParams.from_env(env)
        data = stdin.read()
        if params.command == "VERSION":
            # stdin carries {"cniVersion": ...}; answer even without it
            types.dump(types.version_result(), stdout)
            return 0
        raw = cni_netconf.loads(data)
        if isinstance(raw.get("cniVersion"), str):
            version = raw["cniVersion"]
        conf = cni_netconf.parse(raw)
        version = conf.version
        types.check_command_version(params.command, version)
        from skynet.cni import handler     # the heavy part, on demand
        result = handler.run(params, conf)
        if result is not None:
            types.dump(types.convert_result(result, version), stdout)
        return 0
    except exceptions.SkynetError as exc:
        _log_error(exc)
        types.dump(types.error_result(_safe_version(version), exc.code,
                                      exc.msg, exc.details), stdout)
        return 1
    except Exception as exc:   # a bug: still a CNI error, never a traceback
        import traceback
        traceback.print_exc(file=sys.stderr)
        types.dump(types.error_result(
            _safe_version(version), exceptions.INTERNAL,
            "internal error: %s: %s" % (type(exc).__name__, exc)), stdout)
        return 1


def _safe_version(version):
    try:
        return types.normalize_version(version)
    except exceptions.SkynetError:
        return types.LATEST


def _log_error(exc):
    if "oslo_log" in sys.modules:
        from oslo_log import log as logging
        logging.getLogger(__name__).error("%s (code %s)", exc.msg, exc.code)
    else:
        sys.stderr.write("skynet: %s (code %s)\n" % (exc.msg, exc.code))


def main():
    import os
    sys.exit(_run(os.environ, sys.stdin, sys.stdout))


if __name__ == "__main__":
    main()
