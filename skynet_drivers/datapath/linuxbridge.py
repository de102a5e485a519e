"""Linux bridge datapath, compatible with neutron-linuxbridge-agent.

The agent (Zed and earlier; removed upstream in 2024) watches ``tap*``
devices, and for each port it knows creates ``brq<network_id[:11]>`` plus
the network's uplink: the physical interface (flat), ``<nic>.<vlan>``
(vlan) or ``vxlan-<vni>`` (vxlan), and applies security groups with
iptables/ebtables on the tap. Ports whose device_owner starts with
``compute:`` (skynet uses ``compute:skynet``) are *not* enslaved by the
agent: like nova/os-vif and kuryr, skynet creates the bridge and uplink the
same way the agent would (either side may come first) and enslaves its tap.

Devices per pod: veth ``tap<port_id[:11]>`` (host) / ``ifname`` (pod, with
the port's MAC), both with the network MTU. Bridges and uplinks are shared
by every pod of the network and belong to the agent: skynet never deletes
them, neither on unplug nor when rolling back a failed plug.
"""

from oslo_config import cfg
from oslo_log import log as logging

from skynet.drivers import base
from skynet import exceptions
from skynet.linux import ip_lib
from skynet_drivers.datapath._common import check_nic
from skynet_drivers.datapath._common import check_segment
from skynet_drivers.datapath._common import FLAT
from skynet_drivers.datapath._common import require_host_nic
from skynet_drivers.datapath._common import VLAN
from skynet_drivers.datapath._common import VXLAN

LOG = logging.getLogger(__name__)

BRIDGE_PREFIX = "brq"
TAP_PREFIX = "tap"
VXLAN_PREFIX = "vxlan-"
RESOURCE_ID_LENGTH = 11     # neutron linuxbridge constants


def bridge_name(network_id):
    return BRIDGE_PREFIX + network_id[:RESOURCE_ID_LENGTH]


def tap_name(port_id):
    return TAP_PREFIX + port_id[:RESOURCE_ID_LENGTH]


def vxlan_name(vni):
    return VXLAN_PREFIX + str(int(vni))


class LinuxBridgeDriver(base.DatapathDriver):

    SUPPORTED_TYPES = (FLAT, VLAN, VXLAN)

    CONFIG_OPTS = [
        cfg.PortOpt("vxlan_udp_port", default=4789,
                    help="UDP destination port of vxlan-<vni> devices. Must "
                         "equal neutron-linuxbridge-agent's [vxlan] "
                         "udp_dstport. 0 leaves it to the kernel (8472), as "
                         "the agent does when udp_dstport is unset."),
        cfg.IPOpt("vxlan_local_ip", version=4,
                  help="Local VTEP address of vxlan-<vni> devices (the "
                       "agent's [vxlan] local_ip). Default: the first IPv4 "
                       "address of [datapath] tunnel_nic."),
        cfg.IntOpt("vxlan_ttl", min=1, max=255,
                   help="TTL of vxlan packets (the agent's [vxlan] ttl); "
                        "unset: kernel default."),
        cfg.IntOpt("vxlan_tos", min=0, max=255,
                   help="TOS of vxlan packets (the agent's [vxlan] tos, or "
                        "its [agent] dscp << 2); unset: kernel default."),
        cfg.BoolOpt("vxlan_arp_responder", default=False,
                    help="Create vxlan devices with the ARP proxy flag (the "
                         "agent's [vxlan] arp_responder)."),
    ]

    def validate(self, network):
        ntype = check_segment("linuxbridge", network, self.SUPPORTED_TYPES)
        if ntype in (FLAT, VLAN):
            check_nic(self.datapath_conf, "trunk_nic", network)
        else:
            check_nic(self.datapath_conf, "tunnel_nic", network)

    # ------------------------------------------------------------ helpers

    def _opt(self, name, default=None):
        if self.conf is None:
            return default
        return getattr(self.conf, name, default)

    def _vxlan_uplink(self, network):
        nic = self.datapath_conf.tunnel_nic
        require_host_nic(nic, "tunnel_nic")
        local_ip = self._opt("vxlan_local_ip")
        if not local_ip:
            local_ip = ip_lib.get_ipv4_address(nic)
            if not local_ip:
                raise exceptions.InvalidConfig(
                    "[datapath_linuxbridge] vxlan_local_ip", None,
                    "is unset and tunnel_nic %s has no IPv4 address" % nic)
        return ip_lib.ensure_vxlan(
            vxlan_name(network.segmentation_id), network.segmentation_id,
            local_ip, nic, dstport=self._opt("vxlan_udp_port", 4789),
            ttl=self._opt("vxlan_ttl"), tos=self._opt("vxlan_tos"),
            proxy=self._opt("vxlan_arp_responder", False), mtu=network.mtu)

    def _uplink(self, network, ntype):
        """The network's uplink device, created if needed (before the bridge).

        Creating it first means a node that cannot carry the network (no
        8021q, missing NIC) fails before anything exists.
        """
        if ntype == VXLAN:
            return self._vxlan_uplink(network)
        nic = self.datapath_conf.trunk_nic
        require_host_nic(nic, "trunk_nic")
        if ntype == VLAN:
            return ip_lib.ensure_vlan(
                ip_lib.vlan_device_name(nic, network.segmentation_id), nic,
                network.segmentation_id)
        return nic

    def _attach_uplink(self, uplink, bridge, ntype):
        info = ip_lib.get_link(uplink)
        if info is None:
            raise exceptions.DatapathError(
                "uplink %s of bridge %s vanished" % (uplink, bridge))
        if info["master_name"] == bridge:
            return
        if ntype == FLAT:
            if info["master_name"]:
                # one flat network per physical network: another bridge
                # owning the NIC means another network uses it
                raise exceptions.DatapathError(
                    "[datapath] trunk_nic %s is already enslaved to %s, not "
                    "%s" % (uplink, info["master_name"], bridge))
            if ip_lib.get_ipv4_address(uplink):
                # The agent moves such addresses onto the bridge; skynet
                # does not re-address the node's NICs.
                raise exceptions.DatapathError(
                    "[datapath] trunk_nic %s carries an IPv4 address: "
                    "enslaving it to %s would cut the node's traffic on it; "
                    "use a dedicated NIC or let the agent create %s first"
                    % (uplink, bridge, bridge))
        ip_lib.set_master(uplink, bridge)

    # ------------------------------------------------------------ contract

    def plug(self, vif, netns, ifname):
        network = vif.network
        self.validate(network)
        ntype = network.network_type.lower()
        bridge = bridge_name(network.id)
        tap = tap_name(vif.port_id)

        # shared devices: idempotent, never rolled back (other pods and the
        # agent use them)
        uplink = self._uplink(network, ntype)
        ip_lib.ensure_bridge(bridge)
        self._attach_uplink(uplink, bridge, ntype)

        # this pod's devices: undone if anything below fails
        ip_lib.create_veth_into_netns(tap, netns, ifname, vif.mac_address,
                                      network.mtu)
        try:
            ip_lib.set_master(tap, bridge)
        except BaseException:
            ip_lib.delete_link(tap)
            raise
        vif.host_ifname = tap
        LOG.debug("plugged port %s: %s on %s (uplink %s), %s in %s",
                  vif.port_id, tap, bridge, uplink, ifname, netns)

    def unplug(self, vif, netns, ifname):
        tap = vif.host_ifname or tap_name(vif.port_id)
        if ip_lib.delete_link(tap):
            return      # the pod end went with it
        if netns:
            # no tap (host side already gone): remove a stray pod end
            ip_lib.delete_link(ifname, netns)

    def check(self, vif, netns, ifname):
        tap = vif.host_ifname or tap_name(vif.port_id)
        bridge = bridge_name(vif.network.id)
        info = ip_lib.get_link(tap)
        if info is None:
            raise exceptions.CheckFailed(
                "host interface %s of port %s is missing" % (tap, vif.port_id))
        if info["master_name"] != bridge:
            raise exceptions.CheckFailed(
                "host interface %s is enslaved to %s, expected %s"
                % (tap, info["master_name"], bridge))
        if not info["up"]:
            raise exceptions.CheckFailed("host interface %s is down" % tap)
