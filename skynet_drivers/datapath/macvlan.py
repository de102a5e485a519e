"""macvlan datapath: the pod interface is a macvlan of the trunk NIC.

flat networks use ``[datapath] trunk_nic`` itself as the parent, vlan
networks ``<trunk_nic>.<vlan>`` (named as neutron-linuxbridge-agent names
it, so both can share it). The macvlan is created directly inside the pod
netns with the port's MAC and the network MTU, so there is no host-side
device (``vif.host_ifname`` stays None) and nothing to roll back. vxlan
networks need a bridge and are refused.

Bridge mode lets pods on the same parent reach each other; as with every
macvlan, they cannot reach the parent's own addresses on this node.
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

LOG = logging.getLogger(__name__)


class MacvlanDriver(base.DatapathDriver):

    SUPPORTED_TYPES = (FLAT, VLAN)

    CONFIG_OPTS = [
        cfg.StrOpt("mode", default="bridge",
                   choices=["bridge", "private", "vepa"],
                   help="macvlan mode of pod interfaces. Only 'bridge' lets "
                        "pods on the same node and network talk to each "
                        "other directly."),
    ]

    def validate(self, network):
        check_segment("macvlan", network, self.SUPPORTED_TYPES)
        check_nic(self.datapath_conf, "trunk_nic", network)

    def _mode(self):
        if self.conf is None:
            return "bridge"
        return getattr(self.conf, "mode", None) or "bridge"

    def _parent(self, network):
        nic = self.datapath_conf.trunk_nic
        require_host_nic(nic, "trunk_nic")
        if network.network_type.lower() == VLAN:
            # shared with other pods (and the agent): never deleted here
            return ip_lib.ensure_vlan(
                ip_lib.vlan_device_name(nic, network.segmentation_id), nic,
                network.segmentation_id)
        return nic

    def plug(self, vif, netns, ifname):
        network = vif.network
        self.validate(network)
        parent = self._parent(network)
        ip_lib.create_macvlan_into_netns(parent, netns, ifname,
                                         vif.mac_address, network.mtu,
                                         mode=self._mode())
        vif.host_ifname = None
        LOG.debug("plugged port %s: macvlan %s on %s in %s",
                  vif.port_id, ifname, parent, netns)

    def unplug(self, vif, netns, ifname):
        if netns:
            ip_lib.delete_link(ifname, netns)

    def check(self, vif, netns, ifname):
        nic = self.datapath_conf.trunk_nic
        parent = nic
        if (vif.network.network_type or "").lower() == VLAN:
            parent = ip_lib.vlan_device_name(nic, vif.network.segmentation_id)
        info = ip_lib.get_link(parent) if parent else None
        if info is None:
            raise exceptions.CheckFailed(
                "macvlan parent %s of port %s is missing"
                % (parent, vif.port_id))
        if not info["up"]:
            raise exceptions.CheckFailed("macvlan parent %s is down" % parent)
