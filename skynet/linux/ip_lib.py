"""Netlink helpers: the only skynet module that talks to the kernel's RTNL.

Rules (STYLE.md section 4):

* pyroute2 0.9 ``IPRoute`` only, always in a ``with`` block, one socket per
  network namespace per operation. A pod netns is opened from its CNI_NETNS
  path with ``IPRoute(netns=path, flags=0)``: ``flags=0`` never creates a
  namespace, and a path is used as-is. pyroute2 forks a short-lived helper
  that does the setns(), so the calling thread never changes namespace (no
  pushns/popns, no IPDB).
* ``ensure_*`` helpers are idempotent and race-safe: look up / add, and on
  EEXIST check (or set) the attributes of what is already there. Deletes
  ignore ENODEV/ENOENT, and a namespace that is gone.
* A missing pod netns raises ``ContainerUnknown`` (CNI code 3); every other
  netlink failure becomes ``DatapathError`` naming the operation and device.
  Both carry ``errno`` when the kernel gave one.
* Interface names are at most 15 characters (IFNAMSIZ - 1).
"""

import contextlib
import errno
import hashlib
import ipaddress
import os
import socket

from oslo_log import log as logging
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from skynet import exceptions

LOG = logging.getLogger(__name__)

IFNAMSIZ_MAX = 15
IFA_F_NODAD = 0x02
IFF_UP = 0x1
RT_TABLE_MAIN = 254
MACVLAN_MODES = ("private", "vepa", "bridge", "passthru", "source")

_IGNORED_ON_DELETE = (errno.ENODEV, errno.ENOENT, errno.EADDRNOTAVAIL)


# ---------------------------------------------------------------- errors

def _where(netns):
    return " in netns %s" % netns if netns else ""


def _datapath_error(op, device, netns, err, hint=None):
    code = getattr(err, "code", None) or getattr(err, "errno", None)
    reason = os.strerror(code) if code else str(err)
    msg = "%s %s%s failed: %s" % (op, device, _where(netns), reason)
    if hint:
        msg = "%s (%s)" % (msg, hint)
    exc = exceptions.DatapathError(msg, details=repr(err))
    exc.errno = code
    return exc


def _check_name(name):
    if not name or len(name) > IFNAMSIZ_MAX or "/" in name or \
            any(c.isspace() for c in name):
        raise exceptions.DatapathError(
            "invalid interface name %r: 1 to %d characters, no '/' or "
            "spaces" % (name, IFNAMSIZ_MAX))


def _netns_missing(netns, err=None):
    exc = exceptions.ContainerUnknown(
        "network namespace %r does not exist" % (netns,),
        details=repr(err) if err else "")
    exc.errno = errno.ENOENT
    return exc


@contextlib.contextmanager
def _iproute(netns=None):
    """One RTNL socket in the host netns (None) or in the netns at ``netns``.

    Raises ContainerUnknown if the namespace does not exist.
    """
    if netns is not None and not netns:
        raise _netns_missing(netns)
    try:
        if netns is None:
            ip = IPRoute()
        else:
            # flags=0: never create the namespace (pyroute2 defaults to
            # O_CREAT); the path (/var/run/netns/x, /proc/PID/ns/net) is
            # opened as given.
            ip = IPRoute(netns=netns, flags=0)
    except FileNotFoundError as e:
        raise _netns_missing(netns, e) from e
    except OSError as e:
        if netns is not None and e.errno == errno.EINVAL:
            exc = exceptions.DatapathError(
                "%r is not a network namespace" % (netns,), details=repr(e))
            exc.errno = e.errno
            raise exc from e
        raise _datapath_error("open netlink socket", "", netns, e) from e
    with ip:
        yield ip


@contextlib.contextmanager
def _netns_fd(netns):
    """An fd on the namespace at ``netns``, for IFLA_NET_NS_FD."""
    if not netns:
        raise _netns_missing(netns)
    try:
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise _netns_missing(netns, e) from e
    except OSError as e:
        raise _datapath_error("open netns", netns, None, e) from e
    try:
        yield fd
    finally:
        os.close(fd)


# ---------------------------------------------------------------- lookups

def _get_link(ip, name):
    """The RTM_NEWLINK message of ``name`` or None."""
    try:
        links = ip.link("get", ifname=name)
    except NetlinkError as e:
        if e.code == errno.ENODEV:
            return None
        raise
    for link in links:
        return link
    return None


def _require_link(ip, name, op, netns=None):
    link = _get_link(ip, name)
    if link is None:
        exc = exceptions.DatapathError(
            "%s %s%s failed: no such device" % (op, name, _where(netns)))
        exc.errno = errno.ENODEV
        raise exc
    return link


def _kind(link):
    return link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")


def _info_data(link):
    data = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
    if data is None or isinstance(data, (str, bytes)):
        return {}
    return {name: value for name, value in data.get("attrs", ())}


def _is_up(link):
    return bool(link["flags"] & IFF_UP)


def _describe(link):
    return {
        "index": link["index"],
        "ifname": link.get("ifname"),
        "mac": link.get("address"),
        "mtu": link.get("mtu"),
        "master": link.get("master"),
        "kind": _kind(link),
        "up": _is_up(link),
        "operstate": link.get("operstate"),
    }


def _set_up(ip, link):
    if not _is_up(link):
        ip.link("set", index=link["index"], state="up")


def _disable_ipv6(name):
    """As the linuxbridge agent does for its vxlan/vlan devices (host netns)."""
    path = "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % name.replace(".", "/")
    try:
        with open(path, "w") as f:
            f.write("1")
    except FileNotFoundError:
        pass    # kernel without IPv6


def link_exists(name, netns=None):
    """True if ``name`` exists (host netns, or the netns at ``netns``).

    A missing netns raises ContainerUnknown.
    """
    with _iproute(netns) as ip:
        try:
            return _get_link(ip, name) is not None
        except NetlinkError as e:
            raise _datapath_error("look up", name, netns, e) from e


def get_link(name, netns=None):
    """dict(index, ifname, mac, mtu, master, kind, up, operstate) or None."""
    with _iproute(netns) as ip:
        try:
            link = _get_link(ip, name)
            if link is None:
                return None
            info = _describe(link)
            if info["master"]:
                master = ip.link("get", index=info["master"])[0]
                info["master_name"] = master.get("ifname")
            else:
                info["master_name"] = None
            return info
        except NetlinkError as e:
            raise _datapath_error("look up", name, netns, e) from e


def get_ipv4_address(dev):
    """First IPv4 address (no prefix) on host device ``dev``, or None."""
    with _iproute() as ip:
        try:
            link = _require_link(ip, dev, "read IPv4 address of")
            for addr in ip.addr("dump", family=socket.AF_INET,
                                index=link["index"]):
                if addr.get("index") == link["index"]:
                    return addr.get("address")
        except NetlinkError as e:
            raise _datapath_error("read IPv4 address of", dev, None, e) from e
    return None


def get_vxlan_info(name):
    """dict(vni, local, port, link, learning, proxy, ttl) of a host vxlan."""
    with _iproute() as ip:
        link = _require_link(ip, name, "read vxlan attributes of")
        if _kind(link) != "vxlan":
            return None
        data = _info_data(link)
        return {"vni": data.get("IFLA_VXLAN_ID"),
                "local": data.get("IFLA_VXLAN_LOCAL"),
                "port": data.get("IFLA_VXLAN_PORT"),
                "link": data.get("IFLA_VXLAN_LINK"),
                "learning": data.get("IFLA_VXLAN_LEARNING"),
                "proxy": data.get("IFLA_VXLAN_PROXY"),
                "ttl": data.get("IFLA_VXLAN_TTL"),
                "mtu": link.get("mtu"),
                "up": _is_up(link)}


# ---------------------------------------------------------------- host side

def ensure_bridge(name, mtu=None):
    """A Linux bridge ``name``: STP off, forward delay 0, up.

    Same attributes as neutron's bridge_lib (addbr, setfd(0), disable_stp)
    so the linuxbridge agent and skynet accept each other's bridge. Safe
    against concurrent callers: EEXIST means someone else created it, and
    the attributes are then checked and set.
    """
    _check_name(name)
    op = "create bridge"
    with _iproute() as ip:
        try:
            kwargs = {"ifname": name, "kind": "bridge",
                      "br_stp_state": 0, "br_forward_delay": 0}
            if mtu:
                kwargs["mtu"] = mtu
            try:
                ip.link("add", **kwargs)
                LOG.debug("created bridge %s", name)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise
            link = _require_link(ip, name, op)
            kind = _kind(link)
            if kind != "bridge":
                raise exceptions.DatapathError(
                    "%s %s failed: a %s device of that name exists"
                    % (op, name, kind or "non-bridge"))
            data = _info_data(link)
            if data.get("IFLA_BR_STP_STATE") or \
                    data.get("IFLA_BR_FORWARD_DELAY"):
                op = "set stp off / forward delay 0 on bridge"
                ip.link("set", index=link["index"], kind="bridge",
                        br_stp_state=0, br_forward_delay=0)
            if mtu and link.get("mtu") != mtu:
                op = "set mtu %s on bridge" % mtu
                ip.link("set", index=link["index"], mtu=mtu)
            op = "set up bridge"
            _set_up(ip, link)
        except NetlinkError as e:
            raise _datapath_error(op, name, None, e) from e
    return name


def ensure_vxlan(name, vni, local_ip, dev, dstport=None, ttl=None, tos=None,
                 proxy=False, mtu=None):
    """A vxlan device as neutron-linuxbridge-agent (Zed) makes it.

    The agent (linuxbridge_neutron_agent.ensure_vxlan with l2_population on,
    ip_lib.add_vxlan) creates ``vxlan-<vni>``: id ``vni``, ``dev`` the tunnel
    NIC, ``local`` its local_ip, ``dstport`` its [vxlan] udp_dstport (kernel
    default 8472 when unset), ttl/tos only when configured, ``proxy`` = its
    arp_responder, learning left at the kernel default (on), MTU = the
    network MTU, IPv6 disabled, up. An existing device (created by the agent
    or a concurrent skynet) is accepted when VNI, local IP, port and lower
    device match; otherwise DatapathError names the differences.
    """
    _check_name(name)
    vni = int(vni)
    op = "create vxlan"
    with _iproute() as ip:
        try:
            lower = _get_link(ip, dev)
            if lower is None:
                exc = exceptions.DatapathError(
                    "create vxlan %s (VNI %s) failed: tunnel device %s does "
                    "not exist" % (name, vni, dev))
                exc.errno = errno.ENODEV
                raise exc
            kwargs = {"ifname": name, "kind": "vxlan", "vxlan_id": vni,
                      "vxlan_link": lower["index"]}
            if local_ip:
                ver = ipaddress.ip_address(local_ip).version
                kwargs["vxlan_local6" if ver == 6 else "vxlan_local"] = \
                    str(local_ip)
            if dstport:
                kwargs["vxlan_port"] = int(dstport)
            if ttl:
                kwargs["vxlan_ttl"] = int(ttl)
            if tos:
                kwargs["vxlan_tos"] = int(tos)
            if proxy:
                kwargs["vxlan_proxy"] = 1
            if mtu:
                kwargs["mtu"] = int(mtu)
            created = True
            try:
                ip.link("add", **kwargs)
                LOG.debug("created vxlan %s vni %s on %s", name, vni, dev)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    hint = None
                    if e.code == errno.EINVAL and mtu:
                        hint = ("MTU %s too high for %s with MTU %s minus "
                                "the vxlan overhead?"
                                % (mtu, dev, lower.get("mtu")))
                    raise _datapath_error(op, name, None, e, hint) from e
                created = False
            link = _get_link(ip, name)
            if link is None:
                # EEXIST for another name: the kernel refuses a second
                # device with the same VNI and port on the same device.
                other = [lk.get("ifname") for lk in ip.link("dump")
                         if _kind(lk) == "vxlan" and
                         _info_data(lk).get("IFLA_VXLAN_ID") == vni]
                raise exceptions.DatapathError(
                    "create vxlan %s failed: VNI %s is already used by "
                    "vxlan device %s" % (name, vni, ", ".join(
                        n for n in other if n) or "(unknown)"))
            if not created:
                _check_vxlan(link, name, vni, local_ip, lower, dstport)
            _disable_ipv6(name)
            op = "set up vxlan"
            _set_up(ip, link)
        except NetlinkError as e:
            raise _datapath_error(op, name, None, e) from e
    return name


def _check_vxlan(link, name, vni, local_ip, lower, dstport):
    if _kind(link) != "vxlan":
        raise exceptions.DatapathError(
            "create vxlan %s failed: a %s device of that name exists"
            % (name, _kind(link) or "non-vxlan"))
    data = _info_data(link)
    diffs = []
    if data.get("IFLA_VXLAN_ID") != vni:
        diffs.append("vni %s != %s" % (data.get("IFLA_VXLAN_ID"), vni))
    if local_ip:
        have = data.get("IFLA_VXLAN_LOCAL") or data.get("IFLA_VXLAN_LOCAL6")
        if have is None or \
                ipaddress.ip_address(have) != ipaddress.ip_address(local_ip):
            diffs.append("local %s != %s" % (have, local_ip))
    if dstport and data.get("IFLA_VXLAN_PORT") != int(dstport):
        diffs.append("dstport %s != %s" % (data.get("IFLA_VXLAN_PORT"),
                                           dstport))
    if data.get("IFLA_VXLAN_LINK") not in (None, lower["index"]):
        diffs.append("dev index %s != %s (%s)" % (
            data.get("IFLA_VXLAN_LINK"), lower["index"],
            lower.get("ifname")))
    if diffs:
        raise exceptions.DatapathError(
            "vxlan %s exists with other attributes: %s (its creator, e.g. "
            "neutron-linuxbridge-agent, is configured differently)"
            % (name, "; ".join(diffs)))


def vlan_device_name(parent, vlan_id):
    """``parent.vlan_id`` as neutron-linuxbridge-agent names it.

    Names longer than 15 characters use neutron-lib's get_interface_name:
    the first 4 characters of ``parent``, 6 hex digits of its SHA-1, then
    ``.vlan_id``.
    """
    postfix = ".%s" % vlan_id
    if len(parent) + len(postfix) > IFNAMSIZ_MAX:
        max_len = IFNAMSIZ_MAX - 5      # agent's MAX_VLAN_POSTFIX_LEN
        hash_len = 6
        parent = parent[:max_len - hash_len] + hashlib.sha1(
            parent.encode()).hexdigest()[:hash_len]
    return parent + postfix


def ensure_vlan(name, parent, vlan_id, mtu=None):
    """An 802.1Q device ``name`` on ``parent`` with ``vlan_id``, up.

    Like the agent's ensure_vlan (IPv6 disabled, up). A kernel without
    8021q answers EOPNOTSUPP: DatapathError says so.
    """
    _check_name(name)
    vlan_id = int(vlan_id)
    op = "create vlan"
    with _iproute() as ip:
        try:
            lower = _get_link(ip, parent)
            if lower is None:
                exc = exceptions.DatapathError(
                    "create vlan %s failed: parent device %s does not exist"
                    % (name, parent))
                exc.errno = errno.ENODEV
                raise exc
            kwargs = {"ifname": name, "kind": "vlan", "vlan_id": vlan_id,
                      "link": lower["index"]}
            if mtu:
                kwargs["mtu"] = int(mtu)
            created = True
            try:
                ip.link("add", **kwargs)
            except NetlinkError as e:
                if e.code == errno.EOPNOTSUPP:
                    raise _datapath_error(
                        op, name, None, e,
                        "this kernel has no 802.1Q VLAN support "
                        "(CONFIG_VLAN_8021Q / module 8021q missing): vlan "
                        "networks cannot be wired on this node") from e
                if e.code != errno.EEXIST:
                    raise
                created = False
            link = _require_link(ip, name, op)
            if not created:
                data = _info_data(link)
                if _kind(link) != "vlan" or \
                        data.get("IFLA_VLAN_ID") != vlan_id or \
                        link.get("link") != lower["index"]:
                    raise exceptions.DatapathError(
                        "create vlan %s failed: a device of that name exists "
                        "and is not vlan %s on %s" % (name, vlan_id, parent))
            _disable_ipv6(name)
            op = "set up vlan"
            _set_up(ip, link)
        except NetlinkError as e:
            raise _datapath_error(op, name, None, e) from e
    return name


def set_master(link, bridge):
    """Enslave host device ``link`` to ``bridge`` (moving it if needed)."""
    op = "enslave to %s" % bridge
    with _iproute() as ip:
        try:
            dev = _require_link(ip, link, op)
            br = _require_link(ip, bridge, op)
            if dev.get("master") != br["index"]:
                ip.link("set", index=dev["index"], master=br["index"])
        except NetlinkError as e:
            raise _datapath_error(op, link, None, e) from e


def set_link_up(name, netns=None):
    with _iproute(netns) as ip:
        try:
            _set_up(ip, _require_link(ip, name, "set up", netns))
        except NetlinkError as e:
            raise _datapath_error("set up", name, netns, e) from e


def delete_link(name, netns=None):
    """Delete ``name``; True if deleted, False if it (or the netns) was gone.

    Idempotent: ENODEV and a missing namespace are success.
    """
    try:
        with _iproute(netns) as ip:
            try:
                ip.link("del", ifname=name)
                LOG.debug("deleted %s%s", name, _where(netns))
                return True
            except NetlinkError as e:
                if e.code in _IGNORED_ON_DELETE:
                    return False
                raise _datapath_error("delete", name, netns, e) from e
    except exceptions.ContainerUnknown:
        return False


def create_veth_into_netns(host_name, netns, ifname, mac, mtu):
    """A veth pair: ``host_name`` in the host netns, ``ifname`` in ``netns``.

    One RTM_NEWLINK creates both ends, the container end directly inside
    the pod netns with its final name, ``mac`` and ``mtu`` (IFLA_NET_NS_FD
    in the peer info), so no temporary name is ever visible and nothing is
    left in the host netns if the kernel refuses. A stale ``host_name``
    (from an earlier failed run) is deleted first; deleting it takes its
    old peer along. The host end is set up; the container end stays down
    until configure_container. Missing netns: ContainerUnknown.
    """
    _check_name(host_name)
    _check_name(ifname)
    if delete_link(host_name):
        LOG.info("removed leftover %s before re-creating it", host_name)
    op = "create veth (peer %s%s)" % (ifname, _where(netns))
    peer = {"ifname": ifname, "net_ns_fd": None}
    if mac:
        peer["address"] = mac
    if mtu:
        peer["mtu"] = int(mtu)
    kwargs = {"ifname": host_name, "kind": "veth", "peer": peer}
    if mtu:
        kwargs["mtu"] = int(mtu)
    with _netns_fd(netns) as fd, _iproute() as ip:
        peer["net_ns_fd"] = fd
        try:
            ip.link("add", **kwargs)
        except NetlinkError as e:
            hint = None
            if e.code == errno.EEXIST:
                hint = "%s already exists in the pod netns" % ifname
            elif e.code == errno.EINVAL:
                hint = "invalid MTU %s or MAC %s?" % (mtu, mac)
            raise _datapath_error(op, host_name, None, e, hint) from e
        try:
            _set_up(ip, _require_link(ip, host_name, "set up"))
        except BaseException as e:
            # undo: the pair goes with its host end
            with contextlib.suppress(Exception):
                ip.link("del", ifname=host_name)
            if isinstance(e, NetlinkError):
                raise _datapath_error("set up", host_name, None, e) from e
            raise
    return host_name


def create_macvlan_into_netns(parent, netns, ifname, mac, mtu, mode="bridge"):
    """A macvlan on host device ``parent``, created directly in ``netns``.

    Like ``ip link add link PARENT name IFNAME netns NS address MAC mtu MTU
    type macvlan mode MODE``: one message, nothing in the host netns.
    """
    _check_name(ifname)
    if mode not in MACVLAN_MODES:
        raise exceptions.DatapathError("unknown macvlan mode %r" % (mode,))
    op = "create macvlan on %s" % parent
    lower = None
    with _netns_fd(netns) as fd, _iproute() as ip:
        try:
            lower = _get_link(ip, parent)
            if lower is None:
                exc = exceptions.DatapathError(
                    "create macvlan %s%s failed: parent device %s does not "
                    "exist" % (ifname, _where(netns), parent))
                exc.errno = errno.ENODEV
                raise exc
            kwargs = {"ifname": ifname, "kind": "macvlan",
                      "link": lower["index"], "macvlan_mode": mode,
                      "net_ns_fd": fd}
            if mac:
                kwargs["address"] = mac
            if mtu:
                kwargs["mtu"] = int(mtu)
            ip.link("add", **kwargs)
        except NetlinkError as e:
            hint = None
            if e.code == errno.EEXIST:
                hint = "%s already exists in the pod netns" % ifname
            elif e.code == errno.EINVAL and mtu:
                hint = "MTU %s larger than %s's MTU %s?" % (
                    mtu, parent, lower.get("mtu") if lower else "?")
            raise _datapath_error(op, ifname, netns, e, hint) from e
    return ifname


# ---------------------------------------------------------------- pod side

def _route_key(dst):
    net = ipaddress.ip_network(dst, strict=False)
    return net, (socket.AF_INET6 if net.version == 6 else socket.AF_INET)


def configure_container(netns, ifname, vif):
    """Addresses, link state and routes of the pod interface. Idempotent.

    * each ``vif.ips`` address with its real prefix (IPv4 with broadcast,
      IPv6 with IFA_F_NODAD so it is usable at once);
    * ``lo`` and ``ifname`` up;
    * one route per ``vif.routes`` entry (via ``gw`` if set, else on-link);
      ``0.0.0.0/0`` / ``::/0`` is the default route.

    EEXIST (address or route already there) is success.
    """
    op = "configure"
    with _iproute(netns) as ip:
        try:
            link = _require_link(ip, ifname, op, netns)
            index = link["index"]
            for ipc in vif.ips:
                iface = ipaddress.ip_interface(ipc.address)
                op = "add address %s to" % iface
                kwargs = {"index": index, "address": str(iface.ip),
                          "prefixlen": iface.network.prefixlen}
                if iface.version == 4:
                    kwargs["family"] = socket.AF_INET
                    if iface.network.prefixlen < 31:
                        kwargs["broadcast"] = str(
                            iface.network.broadcast_address)
                else:
                    kwargs["family"] = socket.AF_INET6
                    kwargs["flags"] = IFA_F_NODAD
                try:
                    ip.addr("add", **kwargs)
                except NetlinkError as e:
                    if e.code != errno.EEXIST:
                        raise
            lo = _get_link(ip, "lo")
            if lo is not None:
                op = "set up"
                _set_up(ip, lo)
            op = "set up"
            _set_up(ip, link)
            for route in vif.routes:
                net, family = _route_key(route.dst)
                op = "add route %s%s via" % (
                    net, " gw %s" % route.gw if route.gw else "")
                kwargs = {"family": family, "oif": index,
                          "dst_len": net.prefixlen}
                if net.prefixlen:
                    kwargs["dst"] = str(net.network_address)
                if route.gw:
                    kwargs["gateway"] = str(route.gw)
                else:
                    kwargs["scope"] = 253       # RT_SCOPE_LINK
                try:
                    ip.route("add", **kwargs)
                except NetlinkError as e:
                    if e.code != errno.EEXIST:
                        raise
        except NetlinkError as e:
            raise _datapath_error(op, ifname, netns, e) from e


def _routes(ip, family):
    out = []
    for r in ip.route("dump", family=family):
        table = r.get("RTA_TABLE") or r.get("table")
        if table != RT_TABLE_MAIN:
            continue
        out.append(r)
    return out


def _route_matches(r, net, index, gw):
    dst = r.get("RTA_DST")
    if r.get("dst_len") != net.prefixlen:
        return False
    if net.prefixlen and (dst is None or ipaddress.ip_address(dst) !=
                          net.network_address):
        return False
    oifs = set()
    gws = set()
    if r.get("RTA_OIF") is not None:
        oifs.add(r.get("RTA_OIF"))
    if r.get("RTA_GATEWAY") is not None:
        gws.add(ipaddress.ip_address(r.get("RTA_GATEWAY")))
    for hop in r.get("RTA_MULTIPATH") or ():
        oifs.add(hop.get("oif"))
        if hop.get("RTA_GATEWAY") is not None:
            gws.add(ipaddress.ip_address(hop.get("RTA_GATEWAY")))
    if index not in oifs:
        return False
    if gw and ipaddress.ip_address(gw) not in gws:
        return False
    return True


def check_container(netns, ifname, vif):
    """Raise CheckFailed naming what differs from what plug+configure made."""
    try:
        with _iproute(netns) as ip:
            link = _get_link(ip, ifname)
            if link is None:
                raise exceptions.CheckFailed(
                    "interface %s is missing in netns %s" % (ifname, netns))
            problems = []
            mac = (link.get("address") or "").lower()
            if vif.mac_address and mac != vif.mac_address.lower():
                problems.append("MAC of %s is %s, port has %s" % (
                    ifname, mac, vif.mac_address.lower()))
            mtu = getattr(vif.network, "mtu", None)
            if mtu and link.get("mtu") != mtu:
                problems.append("MTU of %s is %s, network has %s" % (
                    ifname, link.get("mtu"), mtu))
            if not _is_up(link):
                problems.append("%s is down" % ifname)
            index = link["index"]
            have = set()
            for addr in ip.addr("dump", index=index):
                if addr.get("index") != index:
                    continue
                a = addr.get("IFA_ADDRESS") or addr.get("address")
                if a:
                    have.add(ipaddress.ip_interface(
                        "%s/%s" % (a, addr["prefixlen"])))
            for ipc in vif.ips:
                want = ipaddress.ip_interface(ipc.address)
                if want not in have:
                    problems.append("address %s missing on %s" % (
                        want, ifname))
            routes = {}
            for route in vif.routes:
                net, family = _route_key(route.dst)
                if family not in routes:
                    routes[family] = _routes(ip, family)
                if not any(_route_matches(r, net, index, route.gw)
                           for r in routes[family]):
                    problems.append("route %s%s dev %s missing" % (
                        net, " via %s" % route.gw if route.gw else "",
                        ifname))
    except exceptions.ContainerUnknown as e:
        raise exceptions.CheckFailed(
            "network namespace %s is gone" % (netns,), details=e.msg) from e
    except NetlinkError as e:
        raise _datapath_error("check", ifname, netns, e) from e
    if problems:
        raise exceptions.CheckFailed(
            "%s in %s: %s" % (ifname, netns, "; ".join(problems)))


def container_link_info(netns, ifname):
    """dict(mac=..., mtu=..., index=...) of ``ifname`` in ``netns``."""
    with _iproute(netns) as ip:
        try:
            link = _require_link(ip, ifname, "read", netns)
        except NetlinkError as e:
            raise _datapath_error("read", ifname, netns, e) from e
        return {"mac": link.get("address"), "mtu": link.get("mtu"),
                "index": link["index"]}
