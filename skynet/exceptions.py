"""skynet's exceptions, each carrying the CNI error code it maps to.

Standard library only: the CNI entry point imports this module on every
call, including VERSION.
"""

# CNI spec error codes (SPEC.md, "Error")
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
CONTAINER_UNKNOWN = 3
INVALID_ENV = 4
IO_FAILURE = 5
DECODE_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50
LIMITED_CONNECTIVITY = 51

# skynet's own codes (the spec reserves 100 and above for plugins)
INTERNAL = 100
NEUTRON_FAILURE = 101
IP_IN_USE = 102
DATAPATH_FAILURE = 103
KUBERNETES_FAILURE = 104
CHECK_FAILED = 105


class SkynetError(Exception):
    """Base class: every skynet error becomes a CNI error with ``code``."""

    code = INTERNAL

    def __init__(self, msg, details=None, code=None):
        super().__init__(msg)
        self.msg = msg
        self.details = details or ""
        if code is not None:
            self.code = code


class IncompatibleVersion(SkynetError):
    code = INCOMPATIBLE_VERSION


class InvalidEnvironment(SkynetError):
    code = INVALID_ENV


class DecodeError(SkynetError):
    code = DECODE_FAILURE


class InvalidConfig(SkynetError):
    """A netconf, skynet.conf or annotation value is wrong; names the field."""

    code = INVALID_CONFIG

    def __init__(self, field, value, reason, details=None):
        self.field = field
        self.value = value
        super().__init__("%s: %r %s" % (field, value, reason), details)


class ContainerUnknown(SkynetError):
    code = CONTAINER_UNKNOWN


class TryAgainLater(SkynetError):
    """A dependency (Neutron, Kubernetes) is unreachable or timed out."""

    code = TRY_AGAIN_LATER


class NotAvailable(SkynetError):
    """STATUS: the plugin cannot serve ADD now."""

    code = NOT_AVAILABLE


class NeutronError(SkynetError):
    code = NEUTRON_FAILURE


class ResourceNotFound(NeutronError):
    """A network, subnet or security group that does not exist."""

    def __init__(self, kind, resource_id, details=None):
        self.kind = kind
        self.resource_id = resource_id
        super().__init__("%s %s does not exist" % (kind, resource_id),
                         details)


class IpInUse(SkynetError):
    code = IP_IN_USE


class KubernetesError(SkynetError):
    code = KUBERNETES_FAILURE


class DatapathError(SkynetError):
    code = DATAPATH_FAILURE


class UnsupportedNetwork(DatapathError):
    """The datapath driver cannot wire this network type (e.g. macvlan+vxlan).

    Raised before the port exists, so it is a configuration error.
    """

    code = INVALID_CONFIG


class CheckFailed(SkynetError):
    code = CHECK_FAILED


class DriverNotFound(SkynetError):
    code = INVALID_CONFIG
