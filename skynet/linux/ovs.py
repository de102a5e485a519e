"""OVSDB helpers: the only skynet module that talks to ovsdb-server.

Through ovsdbapp (OpenStack's OVSDB library, as os-vif's
``vif_plug_ovs/ovsdb/ovsdb_lib.py`` and Neutron's OVS agent use it), never
by running ``ovs-vsctl``:

* ovsdbapp is imported lazily (~0.2 s), only by the first call that needs
  it, so loading the driver costs nothing on other verbs.
* One connection per (connection string, timeout) per process, cached (the
  daemon keeps it warm). Before the IDL connects, the socket is probed with
  ``timeout``: an ovsdb-server that is not running gives a clear
  ``OvsdbUnavailable`` at once instead of a hang or a bare "Could not
  retrieve schema".
* Only the tables skynet uses are monitored (Open_vSwitch, Bridge, Port,
  Interface), so a node with thousands of flows or QoS rows costs nothing.
* One transaction per change: ``add_port`` creates the Port/Interface
  (``may_exist=True``) and sets its ``external_ids`` in a single
  transaction, ``del_port`` removes it (``if_exists=True``) in another.
  ovsdbapp's Open_vSwitch transactions wait, like ``ovs-vsctl``, until
  ovs-vswitchd has applied them (``next_cfg``/``cur_cfg``), within
  ``timeout``.
* Ownership: every port skynet adds carries ``external_ids:skynet-owner``
  (``OWNER_KEY``/``OWNER_VALUE``). ``del_port(owned_only=True)`` refuses
  to touch a port without that mark, so DEL and GC never remove an OVS port
  someone else made, even if it has the name skynet would have used.
* No VLAN tag, trunk or OpenFlow rule is ever set: the Neutron OVS agent
  (or ovn-controller) owns the port's wiring once ``iface-id`` names it.
"""

import errno
import os
import socket
import threading

from oslo_log import log as logging

from skynet import exceptions

LOG = logging.getLogger(__name__)

DEFAULT_CONNECTION = "unix:/var/run/openvswitch/db.sock"
DEFAULT_TIMEOUT = 10
OWNER_KEY = "skynet-owner"
OWNER_VALUE = "skynet"
TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")

_CLIENTS = {}
_LOCK = threading.Lock()


class OvsdbUnavailable(exceptions.DatapathError):
    """ovsdb-server does not answer at the configured connection."""


class BridgeNotFound(exceptions.DatapathError):
    """The OVS bridge does not exist."""


class PortNotOwned(exceptions.DatapathError):
    """An OVS port of the name skynet wants exists and is not skynet's."""


def _probe(connection, timeout):
    """Connect to each remote of ``connection`` once; raise if none answers.

    ovsdbapp would otherwise block in ``Stream.open_block`` without a
    timeout (tcp) or fail with a generic exception (unix).
    """
    errors = []
    for remote in [c.strip() for c in connection.split(",") if c.strip()]:
        proto, _, address = remote.partition(":")
        try:
            if proto == "unix":
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(timeout)
                try:
                    s.connect(address)
                finally:
                    s.close()
            elif proto == "tcp":
                host, _, port = address.rpartition(":")
                socket.create_connection((host.strip("[]"), int(port)),
                                         timeout=timeout).close()
            else:
                return      # ssl:, punix: ... left to ovsdbapp
            return
        except (OSError, ValueError) as e:
            reason = (os.strerror(e.errno) if getattr(e, "errno", None)
                      else str(e) or type(e).__name__)
            errors.append("%s: %s" % (remote, reason))
    raise OvsdbUnavailable(
        "ovsdb-server is not reachable at %s (%s): is Open vSwitch running "
        "on this node? ([datapath_openvswitch] ovsdb_connection)"
        % (connection, "; ".join(errors)))


def get_client(connection=DEFAULT_CONNECTION, timeout=DEFAULT_TIMEOUT):
    """The cached OvsdbClient for ``connection``; connects on first use."""
    key = (connection, timeout)
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None or not client.connected:
            client = OvsdbClient(connection, timeout)
            client.connect()
            _CLIENTS[key] = client
        return client


def reset_clients():
    """Forget cached connections (tests; a daemon after ovsdb-server restarts)."""
    with _LOCK:
        for client in _CLIENTS.values():
            client.close()
        _CLIENTS.clear()


def is_owned(external_ids):
    return (external_ids or {}).get(OWNER_KEY) == OWNER_VALUE


class OvsdbClient:
    """A connection to one ovsdb-server's Open_vSwitch database."""

    def __init__(self, connection=DEFAULT_CONNECTION, timeout=DEFAULT_TIMEOUT):
        self.connection = connection
        self.timeout = timeout
        self.api = None
        self._conn = None

    # -------------------------------------------------------------- setup

    @property
    def connected(self):
        return self.api is not None and bool(
            getattr(self._conn, "is_running", False))

    def connect(self):
        _probe(self.connection, self.timeout)
        # lazy: ovsdbapp (and the ovs bindings) only when OVS is really used
        from ovsdbapp.backend.ovs_idl import connection as ovs_connection
        from ovsdbapp.schema.open_vswitch import impl_idl
        try:
            idl = ovs_connection.OvsdbIdl.from_server(
                self.connection, "Open_vSwitch", helper_tables=TABLES)
            conn = ovs_connection.Connection(idl=idl, timeout=self.timeout)
            api = impl_idl.OvsdbIdl(conn)
            conn.start()
        except Exception as e:
            raise OvsdbUnavailable(
                "cannot connect to ovsdb-server at %s: %s"
                % (self.connection, str(e) or type(e).__name__),
                details=repr(e)) from e
        self._conn, self.api = conn, api
        LOG.debug("connected to ovsdb-server at %s", self.connection)

    def close(self):
        if self._conn is not None:
            try:
                self._conn.stop(timeout=1)
            except Exception:       # best effort: the process may be exiting
                LOG.debug("closing the OVSDB connection failed",
                          exc_info=True)
        self._conn = self.api = None

    def _execute(self, op, command):
        try:
            return command.execute(check_error=True, log_errors=False)
        except exceptions.SkynetError:
            raise
        except Exception as e:
            name = type(e).__name__
            if "Timeout" in name:
                reason = ("no answer within %ss (ovsdb-server or "
                          "ovs-vswitchd busy or stopped?)" % self.timeout)
            else:
                reason = str(e) or name
            raise exceptions.DatapathError(
                "OVSDB %s failed: %s" % (op, reason), details=repr(e)) from e

    # -------------------------------------------------------------- reads

    def bridge_exists(self, bridge):
        return bool(self._execute("look up bridge %s" % bridge,
                                  self.api.br_exists(bridge)))

    def require_bridge(self, bridge, hint=None):
        if not self.bridge_exists(bridge):
            msg = "OVS bridge %s does not exist in ovsdb-server at %s" % (
                bridge, self.connection)
            if hint:
                msg = "%s (%s)" % (msg, hint)
            exc = BridgeNotFound(msg)
            exc.errno = errno.ENODEV
            raise exc

    def bridge_datapath_type(self, bridge):
        """The bridge's datapath_type ('' = the default, kernel 'system')."""
        rows = self._execute(
            "read datapath_type of %s" % bridge,
            self.api.db_list("Bridge", [bridge], columns=["datapath_type"],
                             if_exists=True))
        if not rows:
            raise BridgeNotFound("OVS bridge %s does not exist" % bridge)
        return rows[0].get("datapath_type") or ""

    def get_interface(self, name):
        """dict(name, external_ids, ofport, error, bridge) or None."""
        rows = self._execute(
            "look up interface %s" % name,
            self.api.db_list("Interface", [name],
                             columns=["name", "external_ids", "ofport",
                                      "error"], if_exists=True))
        if not rows:
            return None
        row = dict(rows[0])
        row["external_ids"] = dict(row.get("external_ids") or {})
        row["bridge"] = self._execute("look up the bridge of %s" % name,
                                      self.api.port_to_br(name))
        return row

    # -------------------------------------------------------------- writes

    def add_port(self, bridge, name, iface_id, mac, vm_uuid=None,
                 external_ids=None):
        """Add ``name`` to ``bridge`` with Neutron's external_ids, one txn.

        Refuses (PortNotOwned) when a port of that name exists without
        skynet's owner mark. Raises DatapathError naming the interface when
        ovs-vswitchd could not open it (ofport -1).
        """
        existing = self.get_interface(name)
        if existing is not None and not is_owned(existing["external_ids"]):
            raise PortNotOwned(
                "OVS port %s already exists on bridge %s and was not made by "
                "skynet (no external_ids:%s): not touching it"
                % (name, existing.get("bridge"), OWNER_KEY))
        ids = {"iface-id": iface_id, "iface-status": "active",
               "attached-mac": mac, OWNER_KEY: OWNER_VALUE}
        if vm_uuid:
            ids["vm-uuid"] = vm_uuid
        ids.update(external_ids or {})
        op = "add port %s to %s" % (name, bridge)
        try:
            with self.api.transaction(check_error=True) as txn:
                txn.add(self.api.add_port(bridge, name, may_exist=True))
                txn.add(self.api.db_set("Interface", name,
                                        ("external_ids", ids)))
        except exceptions.SkynetError:
            raise
        except Exception as e:
            if "RowNotFound" in type(e).__name__ and bridge in str(e):
                raise BridgeNotFound(
                    "%s failed: OVS bridge %s does not exist" % (op, bridge),
                    details=repr(e)) from e
            raise exceptions.DatapathError(
                "OVSDB %s failed: %s" % (op, str(e) or type(e).__name__),
                details=repr(e)) from e
        iface = self.get_interface(name)
        if iface is None or iface.get("bridge") != bridge:
            raise exceptions.DatapathError(
                "OVSDB %s: the port is on %s after the transaction"
                % (op, iface and iface.get("bridge")))
        ofport = iface.get("ofport")
        if isinstance(ofport, list):
            ofport = ofport[0] if ofport else None
        if ofport == -1:
            raise exceptions.DatapathError(
                "ovs-vswitchd could not open interface %s on %s: %s"
                % (name, bridge, iface.get("error") or "ofport -1"))
        LOG.debug("OVS port %s on %s, external_ids %s", name, bridge, ids)
        return iface

    def del_port(self, name, owned_only=True):
        """Remove port ``name`` (any bridge); True if removed.

        Idempotent: a missing port is success (False). With ``owned_only``,
        a port lacking skynet's owner mark is left alone (False, logged).
        """
        iface = self.get_interface(name)
        if iface is None:
            return False
        if owned_only and not is_owned(iface["external_ids"]):
            LOG.warning("OVS port %s on %s was not made by skynet (no "
                        "external_ids:%s): leaving it", name,
                        iface.get("bridge"), OWNER_KEY)
            return False
        with_txn = "delete port %s" % name
        try:
            with self.api.transaction(check_error=True) as txn:
                txn.add(self.api.del_port(name, if_exists=True))
        except Exception as e:
            raise exceptions.DatapathError(
                "OVSDB %s failed: %s" % (with_txn, str(e) or
                                         type(e).__name__),
                details=repr(e)) from e
        LOG.debug("deleted OVS port %s from %s", name, iface.get("bridge"))
        return True
