"""The objects passed between the core and its drivers.

Plain dataclasses, standard library only, serialisable to JSON so that the
same objects travel through the attachment state files and, later, the
daemon's socket.
"""

import dataclasses
import hashlib
import ipaddress

# Neutron limits a tag to 60 characters; the attachment key fits in one.
TAG_SKYNET = "skynet"
TAG_ATTACHMENT = "skynet-att:"
TAG_CONTAINER = "skynet-cid:"
TAG_IFNAME = "skynet-if:"
TAG_NETCONF = "skynet-net:"
MAX_TAG_LEN = 60


def attachment_key(container_id, ifname):
    """Stable identifier of one CNI attachment (container ID + ifname)."""
    raw = ("%s/%s" % (container_id, ifname)).encode()
    return hashlib.sha256(raw).hexdigest()[:48]


def netconf_tag(name):
    """Tag of the CNI network (netconf "name"), so GC of one network
    configuration never collects another's ports."""
    return (TAG_NETCONF + name)[:MAX_TAG_LEN]


@dataclasses.dataclass
class Attachment:
    """One CNI attachment: what the runtime names in CNI_* variables."""

    container_id: str
    ifname: str
    netns: str = None
    pod_namespace: str = None
    pod_name: str = None
    pod_uid: str = None

    @property
    def key(self):
        return attachment_key(self.container_id, self.ifname)

    def tags(self, netconf_name=None):
        tags = [TAG_SKYNET,
                TAG_ATTACHMENT + self.key,
                (TAG_CONTAINER + self.container_id)[:MAX_TAG_LEN],
                (TAG_IFNAME + self.ifname)[:MAX_TAG_LEN]]
        if netconf_name:
            tags.append(netconf_tag(netconf_name))
        return tags


@dataclasses.dataclass
class Network:
    id: str
    network_type: str
    mtu: int
    physical_network: str = None
    segmentation_id: int = None


@dataclasses.dataclass
class Subnet:
    id: str
    cidr: str
    ip_version: int
    gateway_ip: str = None
    host_routes: list = dataclasses.field(default_factory=list)
    dns_nameservers: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class NetworkTarget:
    """Where a port will be made: the network and the subnets to use."""

    network: Network
    subnets: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class IPConfig:
    address: str            # "10.30.0.5/24": the subnet's real prefix length
    gateway: str = None
    subnet_id: str = None

    @property
    def interface(self):
        return ipaddress.ip_interface(self.address)

    @property
    def version(self):
        return self.interface.version


@dataclasses.dataclass
class Route:
    dst: str                # "0.0.0.0/0", "10.99.0.0/16"
    gw: str = None

    @property
    def version(self):
        return ipaddress.ip_network(self.dst, strict=False).version


@dataclasses.dataclass
class VIF:
    """A Neutron port as the datapath needs it."""

    port_id: str
    mac_address: str
    network: Network
    ips: list = dataclasses.field(default_factory=list)
    routes: list = dataclasses.field(default_factory=list)
    dns_nameservers: list = dataclasses.field(default_factory=list)
    device_id: str = None
    binding_host: str = None
    vif_type: str = None
    vif_details: dict = dataclasses.field(default_factory=dict)
    status: str = None
    # filled in by the datapath driver's plug()
    host_ifname: str = None

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["network"] = Network(**d["network"])
        d["ips"] = [IPConfig(**i) for i in d.get("ips", ())]
        d["routes"] = [Route(**r) for r in d.get("routes", ())]
        return cls(**d)


@dataclasses.dataclass
class PortRequest:
    """What the core asks the IPAM backend for (validated beforehand)."""

    attachment: Attachment
    node: str
    network_id: str = None
    subnet_id: str = None
    ip_address: str = None
    security_groups: list = dataclasses.field(default_factory=list)
    netconf_name: str = None
    #: callable(namespace, name, uid) -> bool: is the pod of the skynet port
    #: holding ip_address gone, so the IP may be reclaimed? (None: never)
    holder_is_stale: object = None
