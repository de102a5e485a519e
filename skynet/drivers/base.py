"""Driver contracts. Implementations are loaded through stevedore entry points.

Namespaces:
  skynet.datapath  -- DatapathDriver: wires a port's VIF into the pod netns
  skynet.ipam      -- IpamDriver: owns ports/addresses for attachments
  skynet.security  -- SecurityDriver: security groups for a pod

Each driver class may declare ``CONFIG_OPTS``; the loader registers them in the
option group ``<kind>_<name>`` (e.g. ``[datapath_linuxbridge]``) and passes
that group to the constructor, as os-vif does for its plugins.
"""

import abc

NAMESPACE_DATAPATH = "skynet.datapath"
NAMESPACE_IPAM = "skynet.ipam"
NAMESPACE_SECURITY = "skynet.security"


class DriverBase(abc.ABC):
    #: oslo.config options of this driver, registered in [<kind>_<name>]
    CONFIG_OPTS = ()

    def __init__(self, conf):
        #: this driver's own option group (or None when it has no options)
        self.conf = conf

    def is_alive(self):
        """Health of the driver's dependencies; False marks the node unhealthy."""
        return True


class DatapathDriver(DriverBase):
    """Plugs a Neutron port into a pod network namespace.

    The core configures addresses and routes on the container interface
    after ``plug``; the driver creates the link, names it ``ifname`` inside
    ``netns``, gives it the port's MAC and the network's MTU, and wires the
    host side into the node's datapath.
    """

    def __init__(self, conf, datapath_conf):
        super().__init__(conf)
        #: the common [datapath] group (trunk_nic, tunnel_nic, ...)
        self.datapath_conf = datapath_conf

    def validate(self, network):
        """Raise UnsupportedNetwork if this driver cannot wire ``network``.

        Called before the port is created, so nothing needs rolling back.
        """

    @abc.abstractmethod
    def plug(self, vif, netns, ifname):
        """Create and wire the interface. Sets ``vif.host_ifname``.

        Must leave nothing behind when it raises.
        """

    @abc.abstractmethod
    def unplug(self, vif, netns, ifname):
        """Remove what ``plug`` made. Idempotent: netns and links may be gone.

        ``vif`` may come from the local state file (Neutron unreachable).
        """

    @abc.abstractmethod
    def check(self, vif, netns, ifname):
        """Raise CheckFailed if the wiring is not as ``plug`` left it."""


class IpamDriver(DriverBase):
    """Gives each attachment a port with addresses, and takes it back."""

    @abc.abstractmethod
    def get_target(self, network_id=None, subnet_id=None):
        """Resolve where the port goes: a skynet.model.NetworkTarget.

        ``subnet_id`` wins over ``network_id``. Raises ResourceNotFound for
        an unknown network or subnet.
        """

    @abc.abstractmethod
    def allocate(self, request, target):
        """Create the port for ``request`` (a PortRequest); return a VIF.

        Raises ResourceNotFound for unknown security groups and IpInUse when
        the requested IP is held by a port it may not reclaim.
        """

    @abc.abstractmethod
    def find(self, attachment):
        """Return the attachment's VIFs (port fields only, no ``ips``)."""

    @abc.abstractmethod
    def describe(self, vif):
        """Fill ``vif`` with addresses, routes and DNS (for CHECK)."""

    @abc.abstractmethod
    def release(self, vifs):
        """Delete these ports. Idempotent."""

    @abc.abstractmethod
    def list_attachments(self, node, netconf_name):
        """Return {attachment_key: [port_id, ...]} of this node's ports."""

    @abc.abstractmethod
    def ping(self):
        """Raise TryAgainLater/NotAvailable if the backend does not answer."""


class SecurityDriver(DriverBase):
    """Chooses the security groups of a pod's port."""

    @abc.abstractmethod
    def security_groups(self, pod, requested):
        """Return the security group IDs for ``pod``.

        ``requested`` holds the IDs from the pod's annotation (or the
        configured defaults); drivers may add to or filter them.
        """
