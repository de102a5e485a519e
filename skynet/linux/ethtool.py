"""TX checksum offload of an interface inside a pod netns (SIOCETHTOOL).

With Open vSwitch's userspace datapath (``datapath_type=netdev``) a veth
that offloads TX checksums hands OVS packets with partial checksums, which
OVS forwards as they are: TCP between pods fails (ARP and ICMP work). The
fix is ``ethtool -K <ifname> tx off`` inside the pod; this module does that
without running ``ethtool`` (STYLE.md: no shelling out).

How the namespace is entered: the ioctl acts on the network namespace of
the *socket* it is issued on, so we need an AF_INET socket created inside
the pod netns. A short-lived forked child does ``setns(CLONE_NEWNET)``,
creates the socket and passes it back over a socketpair (SCM_RIGHTS), then
exits; the parent issues the ioctls on that socket. The caller's threads
never change namespace (no pushns/popns), which matters in the daemon where
other threads (e.g. the ovsdbapp connection) run; the child only calls
async-signal-safe system calls between fork and _exit. Python 3.11 has no
``os.setns``, so setns comes from libc through ctypes (resolved before the
fork). pyroute2's netns helpers were the alternative, but its ethtool
module offers no way to issue the ioctl on a socket in another namespace.

The legacy ETHTOOL_GTXCSUM/ETHTOOL_STXCSUM commands are used: the kernel
maps them onto the NETIF_F_CSUM features, exactly as ``ethtool -K tx off``
(which also drops the TSO features that depend on them).
"""

import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import struct

from skynet import exceptions

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x00000016
ETHTOOL_STXCSUM = 0x00000017
CLONE_NEWNET = 0x40000000
IFNAMSIZ = 16
_IFREQ_SIZE = 40            # struct ifreq on 64-bit Linux

_libc = None


def _setns_func():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                            use_errno=True)
    return _libc.setns


def _netns_missing(netns, err=None):
    exc = exceptions.ContainerUnknown(
        "network namespace %r does not exist" % (netns,),
        details=repr(err) if err else "")
    exc.errno = errno.ENOENT
    return exc


def netns_socket(netns):
    """An AF_INET datagram socket living in the network namespace ``netns``.

    ``netns`` is a path (CNI_NETNS). Raises ContainerUnknown if it is gone.
    """
    try:
        ns_fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise _netns_missing(netns, e) from e
    except OSError as e:
        raise exceptions.DatapathError(
            "open netns %s failed: %s" % (netns, os.strerror(e.errno)))
    setns = _setns_func()
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        pid = os.fork()
        if pid == 0:        # child: setns, socket, send it, _exit
            code = 1
            try:
                parent.close()
                if setns(ns_fd, CLONE_NEWNET) != 0:
                    code = 2
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socket.send_fds(child, [b"s"], [s.fileno()])
                    code = 0
            finally:
                os._exit(code)
        child.close()
        child = None
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise exceptions.DatapathError(
                "cannot enter network namespace %s (setns failed, exit %s)"
                % (netns, os.waitstatus_to_exitcode(status)))
        _, fds, _, _ = socket.recv_fds(parent, 16, 1)
        if not fds:
            raise exceptions.DatapathError(
                "no socket received from netns %s" % netns)
        return socket.socket(fileno=fds[0])
    finally:
        os.close(ns_fd)
        parent.close()
        if child is not None:
            child.close()


def _ethtool_value(sock, ifname, cmd, value=0):
    if not ifname or len(ifname) >= IFNAMSIZ:
        raise exceptions.DatapathError("invalid interface name %r" % ifname)
    ev = (ctypes.c_uint32 * 2)(cmd, value)        # struct ethtool_value
    ifr = struct.pack("%dsP" % IFNAMSIZ, ifname.encode(),
                      ctypes.addressof(ev)).ljust(_IFREQ_SIZE, b"\0")
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifr)
    return ev[1]


def _error(op, ifname, netns, e):
    reason = os.strerror(e.errno) if e.errno else str(e)
    exc = exceptions.DatapathError(
        "%s on %s in netns %s failed: %s" % (op, ifname, netns, reason),
        details=repr(e))
    exc.errno = e.errno
    return exc


def get_tx_checksum(netns, ifname):
    """True if TX checksum offload is on for ``ifname`` in ``netns``."""
    with netns_socket(netns) as s:
        try:
            return bool(_ethtool_value(s, ifname, ETHTOOL_GTXCSUM))
        except OSError as e:
            raise _error("read TX checksum offload", ifname, netns, e) from e


def set_tx_checksum(netns, ifname, enabled):
    """Turn TX checksum offload of ``ifname`` in ``netns`` on or off.

    Like ``ip netns exec NS ethtool -K IFNAME tx on|off``. Idempotent.
    """
    with netns_socket(netns) as s:
        try:
            if bool(_ethtool_value(s, ifname, ETHTOOL_GTXCSUM)) == enabled:
                return
            _ethtool_value(s, ifname, ETHTOOL_STXCSUM, int(bool(enabled)))
        except OSError as e:
            raise _error("set TX checksum offload %s" %
                         ("on" if enabled else "off"), ifname, netns, e) from e
