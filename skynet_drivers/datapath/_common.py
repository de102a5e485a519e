"""Helpers shared by the datapath drivers (validation, NIC checks)."""

from skynet import exceptions
from skynet.linux import ip_lib

FLAT, VLAN, VXLAN = "flat", "vlan", "vxlan"
MAX_VLAN_ID = 4094
MAX_VXLAN_VNI = 2 ** 24 - 1


def check_segment(driver, network, types):
    """Shared validate(): the type is supported and the segment is valid.

    Returns the network type in lower case.
    """
    ntype = (network.network_type or "").lower()
    if ntype not in types:
        raise exceptions.UnsupportedNetwork(
            "the %s datapath cannot wire network %s of type %r (supported: "
            "%s)" % (driver, network.id, network.network_type,
                     ", ".join(types)))
    seg = network.segmentation_id
    if ntype == VLAN and not (
            isinstance(seg, int) and 1 <= seg <= MAX_VLAN_ID):
        raise exceptions.UnsupportedNetwork(
            "vlan network %s has no valid segmentation_id (%r)"
            % (network.id, seg))
    if ntype == VXLAN and not (
            isinstance(seg, int) and 1 <= seg <= MAX_VXLAN_VNI):
        raise exceptions.UnsupportedNetwork(
            "vxlan network %s has no valid segmentation_id (VNI %r)"
            % (network.id, seg))
    return ntype


def check_nic(datapath_conf, option, network):
    nic = getattr(datapath_conf, option, None)
    if not nic:
        raise exceptions.InvalidConfig(
            "[datapath] %s" % option, nic,
            "must be set to wire %s network %s"
            % (network.network_type, network.id))
    if len(nic) > ip_lib.IFNAMSIZ_MAX:
        raise exceptions.InvalidConfig(
            "[datapath] %s" % option, nic,
            "is longer than %d characters" % ip_lib.IFNAMSIZ_MAX)
    return nic


def require_host_nic(nic, option):
    if not ip_lib.link_exists(nic):
        raise exceptions.DatapathError(
            "[datapath] %s %s does not exist on this node" % (option, nic))
