"""Open vSwitch datapath, bound by Neutron's OVS agent (ML2/OVS) or by OVN.

skynet plugs the pod into the integration bridge and lets Neutron's own
agent (or ovn-controller) do the rest, exactly as nova/os-vif do for a VM
(os-vif ``vif_plug_ovs``):

* a veth ``tap<port_id[:11]>`` (host) / ``ifname`` (pod, port MAC, network
  MTU);
* the tap added to the integration bridge -- ``binding:vif_details
  .bridge_name`` when Neutron gives one (ML2/OVS does), else
  ``[datapath_openvswitch] integration_bridge`` (OVN gives none: set
  ``br-int``, or the lab's ``br-ovn``) -- with ``external_ids`` iface-id =
  port ID, attached-mac, iface-status=active, vm-uuid = pod UID
  (device_id) and ``skynet-owner=skynet``, in one OVSDB transaction
  (skynet.linux.ovs). The agent / ovn-controller then sets the local VLAN
  tag, flows and security groups; skynet never sets a tag itself, so flat,
  vlan, vxlan/geneve and security groups all work as Neutron configured
  them;
* ``vif_details.ovs_hybrid_plug`` (the agent runs the iptables_hybrid
  firewall): os-vif's hybrid plug -- Linux bridge ``qbr<id[:11]>`` holding
  the tap and ``qvb<id[:11]>``, whose veth peer ``qvo<id[:11]>`` is the
  OVS port -- so iptables security groups apply on the tap;
* userspace datapath (``vif_details.datapath_type`` or the bridge's own
  ``datapath_type`` is ``netdev``; OVN does not report it): TX checksum
  offload is turned off on the pod interface, or TCP between pods fails.

Neutron must have bound the port to this node: ``binding:host_id`` is
skynet's ``[DEFAULT] node_name``, which must equal the OVS agent's ``host``
(ML2/OVS) or the OVN chassis hostname (``external_ids:hostname`` in OVSDB).
A port whose ``binding:vif_type`` is ``binding_failed`` is refused with an
error naming the host, and the core deletes it again.

DEL and GC remove only OVS ports carrying skynet's owner mark.
"""

from oslo_config import cfg
from oslo_log import log as logging

from skynet.drivers import base
from skynet import exceptions
from skynet.linux import ethtool
from skynet.linux import ip_lib
from skynet.linux import ovs
from skynet_drivers.datapath._common import check_segment

LOG = logging.getLogger(__name__)

RESOURCE_ID_LENGTH = 11         # os-vif / Neutron device names: prefix + 11
TAP_PREFIX = "tap"
HYBRID_BRIDGE_PREFIX = "qbr"
HYBRID_BRIDGE_PORT_PREFIX = "qvb"
HYBRID_OVS_PORT_PREFIX = "qvo"
VIF_TYPE_OVS = "ovs"
VIF_TYPE_BINDING_FAILED = "binding_failed"
VIF_TYPE_UNBOUND = "unbound"
DATAPATH_NETDEV = "netdev"
# the netns of this process, as a path: the "pod" end of the hybrid plug's
# qvb/qvo pair stays on the host
HOST_NETNS = "/proc/self/ns/net"


def tap_name(port_id):
    return TAP_PREFIX + port_id[:RESOURCE_ID_LENGTH]


def hybrid_names(port_id):
    """(qbr, qvb, qvo) of os-vif's hybrid plug for ``port_id``."""
    suffix = port_id[:RESOURCE_ID_LENGTH]
    return (HYBRID_BRIDGE_PREFIX + suffix, HYBRID_BRIDGE_PORT_PREFIX + suffix,
            HYBRID_OVS_PORT_PREFIX + suffix)


def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class OpenVSwitchDriver(base.DatapathDriver):

    # Neutron's agent / OVN wires the segment: any type it can bind
    SUPPORTED_TYPES = ("flat", "vlan", "vxlan", "geneve", "gre", "local")

    CONFIG_OPTS = [
        cfg.StrOpt("ovsdb_connection", default=ovs.DEFAULT_CONNECTION,
                   help="OVSDB server of this node's Open vSwitch "
                        "(unix:PATH or tcp:IP:PORT; several separated by "
                        "commas)."),
        cfg.StrOpt("integration_bridge", default="br-int",
                   help="Bridge the pod's port is added to when Neutron's "
                        "binding:vif_details names none (OVN never does; "
                        "ML2/OVS gives its bridge_name, which wins). Also "
                        "the bridge whose existence validate() checks "
                        "before a port is created."),
        cfg.FloatOpt("ovsdb_timeout", default=ovs.DEFAULT_TIMEOUT, min=0.5,
                     help="Seconds to wait for ovsdb-server to answer and "
                          "for ovs-vswitchd to apply a change."),
    ]

    # ------------------------------------------------------------ helpers

    def _opt(self, name, default=None):
        if self.conf is None:
            return default
        return getattr(self.conf, name, default)

    @property
    def connection(self):
        return self._opt("ovsdb_connection", ovs.DEFAULT_CONNECTION)

    def _ovsdb(self):
        return ovs.get_client(self.connection,
                              self._opt("ovsdb_timeout", ovs.DEFAULT_TIMEOUT))

    def _bridge(self, vif):
        return ((vif.vif_details or {}).get("bridge_name") or
                self._opt("integration_bridge", "br-int"))

    @staticmethod
    def _hybrid(vif):
        return _bool((vif.vif_details or {}).get("ovs_hybrid_plug", False))

    def _check_binding(self, vif):
        vif_type = vif.vif_type
        host = vif.binding_host
        if vif_type == VIF_TYPE_BINDING_FAILED:
            raise exceptions.DatapathError(
                "Neutron could not bind port %s to host %r "
                "(binding:vif_type binding_failed): no live Open vSwitch "
                "agent or OVN chassis has that host name, or none maps the "
                "network's physical network/tunnel type. skynet's node_name "
                "must equal the OVS agent's [DEFAULT] host or the OVN "
                "chassis hostname" % (vif.port_id, host))
        if vif_type == VIF_TYPE_UNBOUND or not vif_type:
            raise exceptions.DatapathError(
                "port %s is not bound (binding:vif_type %r, host %r)"
                % (vif.port_id, vif_type, host))
        if vif_type != VIF_TYPE_OVS:
            raise exceptions.DatapathError(
                "port %s was bound to host %r with binding:vif_type %r; the "
                "openvswitch datapath needs 'ovs' (is another mechanism "
                "driver's agent, e.g. linuxbridge, registered under that "
                "host name?)" % (vif.port_id, host, vif_type))

    def _netdev(self, client, vif, bridge):
        dp_type = (vif.vif_details or {}).get("datapath_type")
        if not dp_type:
            # OVN reports no datapath_type: ask the bridge itself
            dp_type = client.bridge_datapath_type(bridge)
        return dp_type == DATAPATH_NETDEV

    # ------------------------------------------------------------ contract

    def is_alive(self):
        try:
            self._ovsdb()
        except exceptions.SkynetError:
            return False
        return True

    def validate(self, network):
        check_segment("openvswitch", network, self.SUPPORTED_TYPES)
        client = self._ovsdb()
        bridge = self._opt("integration_bridge", "br-int")
        client.require_bridge(
            bridge, "[datapath_openvswitch] integration_bridge; the Neutron "
                    "OVS agent or ovn-controller creates it: is it running?")

    def plug(self, vif, netns, ifname):
        self._check_binding(vif)
        client = self._ovsdb()
        bridge = self._bridge(vif)
        client.require_bridge(bridge, "binding:vif_details bridge_name or "
                                      "[datapath_openvswitch] "
                                      "integration_bridge")
        tap = tap_name(vif.port_id)
        hybrid = self._hybrid(vif)
        ovs_port = hybrid_names(vif.port_id)[2] if hybrid else tap
        # never replace someone else's port of the same name (nor its link:
        # create_veth_into_netns deletes a leftover host link of that name)
        for name in {tap, ovs_port}:
            iface = client.get_interface(name)
            if iface is not None and not ovs.is_owned(iface["external_ids"]):
                raise ovs.PortNotOwned(
                    "OVS port %s already exists on bridge %s and was not made "
                    "by skynet: not touching it" % (name, iface.get("bridge")))
        netdev = self._netdev(client, vif, bridge)
        mtu = vif.network.mtu

        made = []       # undo in reverse order if anything fails
        try:
            ip_lib.create_veth_into_netns(tap, netns, ifname,
                                          vif.mac_address, mtu)
            made.append(("link", tap))
            if netdev:
                ethtool.set_tx_checksum(netns, ifname, False)
            if hybrid:
                qbr, qvb, qvo = hybrid_names(vif.port_id)
                ip_lib.ensure_bridge(qbr, mtu=mtu)
                made.append(("link", qbr))
                ip_lib.create_veth_into_netns(qvb, HOST_NETNS, qvo, None, mtu)
                made.append(("link", qvb))
                ip_lib.set_link_up(qvo)
                ip_lib.set_master(qvb, qbr)
                ip_lib.set_master(tap, qbr)
            client.add_port(bridge, ovs_port, vif.port_id, vif.mac_address,
                            vm_uuid=vif.device_id)
            made.append(("ovs", ovs_port))
        except BaseException:
            for kind, name in reversed(made):
                try:
                    if kind == "ovs":
                        client.del_port(name)
                    else:
                        ip_lib.delete_link(name)
                except Exception:
                    LOG.exception("rollback: removing %s %s failed", kind,
                                  name)
            raise
        vif.host_ifname = tap
        LOG.debug("plugged port %s: %s on %s%s, %s in %s (netdev: %s)",
                  vif.port_id, ovs_port, bridge,
                  " via %s" % hybrid_names(vif.port_id)[0] if hybrid else "",
                  ifname, netns, netdev)

    def unplug(self, vif, netns, ifname):
        """Remove the OVS port (only if skynet's), then the links. Idempotent.

        Works whether or not the port was hybrid-plugged (a VIF from Neutron
        after a restart may lack vif_details): both possible OVS ports are
        looked up.
        """
        tap = vif.host_ifname or tap_name(vif.port_id)
        qbr, qvb, qvo = hybrid_names(vif.port_id)
        foreign = set()
        try:
            client = self._ovsdb()
        except ovs.OvsdbUnavailable as exc:
            # DEL is best effort: without OVSDB the port stays in OVS
            # (GC or the next DEL removes it) but the links still go
            LOG.warning("unplug %s: %s", vif.port_id, exc.msg)
            client = None
        if client is not None:
            for name in (tap, qvo):
                iface = client.get_interface(name)
                if iface is None:
                    continue
                if ovs.is_owned(iface["external_ids"]):
                    client.del_port(name)
                else:
                    LOG.warning("unplug %s: OVS port %s is not skynet's: "
                                "leaving it and its link", vif.port_id, name)
                    foreign.add(name)
        if tap not in foreign:
            if not ip_lib.delete_link(tap) and netns:
                ip_lib.delete_link(ifname, netns)   # a stray pod end
        if qvo not in foreign:
            ip_lib.delete_link(qvo)                 # takes qvb along
        info = ip_lib.get_link(qbr)
        if info is not None and info.get("kind") == "bridge":
            ip_lib.delete_link(qbr)

    def check(self, vif, netns, ifname):
        tap = vif.host_ifname or tap_name(vif.port_id)
        ovs_port = hybrid_names(vif.port_id)[2] if self._hybrid(vif) else tap
        info = ip_lib.get_link(tap)
        if info is None:
            raise exceptions.CheckFailed(
                "host interface %s of port %s is missing" % (tap, vif.port_id))
        if not info["up"]:
            raise exceptions.CheckFailed("host interface %s is down" % tap)
        iface = self._ovsdb().get_interface(ovs_port)
        if iface is None:
            raise exceptions.CheckFailed(
                "OVS port %s of port %s is missing" % (ovs_port, vif.port_id))
        bridge = self._bridge(vif)
        if iface.get("bridge") != bridge:
            raise exceptions.CheckFailed(
                "OVS port %s is on bridge %s, expected %s"
                % (ovs_port, iface.get("bridge"), bridge))
        ids = iface["external_ids"]
        if ids.get("iface-id") != vif.port_id:
            raise exceptions.CheckFailed(
                "OVS port %s has external_ids:iface-id %r, expected %s"
                % (ovs_port, ids.get("iface-id"), vif.port_id))
        if vif.mac_address and (ids.get("attached-mac") or "").lower() != \
                vif.mac_address.lower():
            raise exceptions.CheckFailed(
                "OVS port %s has external_ids:attached-mac %r, expected %s"
                % (ovs_port, ids.get("attached-mac"), vif.mac_address))
