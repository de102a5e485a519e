"""The seed's pod annotations, parsed and validated before any port exists.

  skynet/network_id          network of the pod's port
  skynet/subnet_id           subnet (overrides skynet/network_id)
  skynet/ip                  fixed IP (must lie in the chosen subnet)
  skynet/security_group_ids  comma list (default: configured groups)
"""

import ipaddress
import uuid

from skynet import exceptions

NETWORK_ID = "skynet/network_id"
SUBNET_ID = "skynet/subnet_id"
IP = "skynet/ip"
SECURITY_GROUP_IDS = "skynet/security_group_ids"


class PodNetworkRequest:
    def __init__(self, network_id=None, subnet_id=None, ip_address=None,
                 security_group_ids=None):
        self.network_id = network_id
        self.subnet_id = subnet_id
        self.ip_address = ip_address
        #: None: the annotation is absent, use the configured defaults
        self.security_group_ids = security_group_ids

    def __repr__(self):
        return ("PodNetworkRequest(network_id=%r, subnet_id=%r, ip=%r, "
                "security_group_ids=%r)" % (
                    self.network_id, self.subnet_id, self.ip_address,
                    self.security_group_ids))


def _bad(pod, name, value, reason):
    return exceptions.InvalidConfig("pod %s annotation %s" % (pod, name),
                                    value, reason)


def _uuid(pod, name, value):
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise _bad(pod, name, value, "is not a UUID")


def parse(annotations, pod="?"):
    """Return a PodNetworkRequest; InvalidConfig names the annotation."""
    annotations = annotations or {}
    req = PodNetworkRequest()
    value = annotations.get(NETWORK_ID)
    if value is not None:
        req.network_id = _uuid(pod, NETWORK_ID, value)
    value = annotations.get(SUBNET_ID)
    if value is not None:
        req.subnet_id = _uuid(pod, SUBNET_ID, value)
    value = annotations.get(IP)
    if value is not None:
        try:
            req.ip_address = str(ipaddress.ip_address(value.strip()))
        except (ValueError, AttributeError):
            raise _bad(pod, IP, value, "is not an IP address")
    value = annotations.get(SECURITY_GROUP_IDS)
    if value is not None:
        items = [v for v in value.split(",") if v.strip()]
        if not items:
            raise _bad(pod, SECURITY_GROUP_IDS, value,
                       "is empty (omit the annotation to use the defaults)")
        req.security_group_ids = []
        for item in items:
            sg = _uuid(pod, SECURITY_GROUP_IDS, item)
            if sg not in req.security_group_ids:
                req.security_group_ids.append(sg)
    return req


def check_ip_in_subnets(pod, ip_address, subnets):
    """``subnets``: [(subnet_id, cidr)]. Return the subnet holding the IP."""
    ip = ipaddress.ip_address(ip_address)
    for subnet_id, cidr in subnets:
        if ip in ipaddress.ip_network(cidr):
            return subnet_id
    raise _bad(pod, IP, ip_address, "is not in the pod's subnet%s %s" % (
        "s" if len(subnets) > 1 else "",
        ", ".join("%s (%s)" % (c, s) for s, c in subnets)))
