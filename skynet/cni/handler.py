"""ADD / DEL / CHECK / STATUS / GC: the orchestration, callable in-process
(direct mode) and, later, from the node daemon.

Every resource acquired during ADD registers its undo on an ExitStack whose
callbacks are dropped only once the result is ready (Go bridge plugin's
rollback discipline): a failure at any step leaves no port and no link.
"""

import contextlib
import ipaddress
import os
import re

from oslo_config import cfg
from oslo_log import log as logging

from skynet.clients import kube as kube_client
from skynet.cni import annotations
from skynet.cni import result as cni_result
from skynet import conf as skynet_conf
from skynet.drivers import loader
from skynet import exceptions
from skynet.linux import ip_lib
from skynet import model
from skynet import state

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
DEFAULT_CONFIG_FILE = "/etc/skynet/skynet.conf"
_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CONFIGURED = []


def configure(netconf, conf=CONF):
    """Load skynet.conf, apply the netconf's overrides, set up logging."""
    skynet_conf.register_opts(conf)
    config_file = netconf.config_file or DEFAULT_CONFIG_FILE
    files = [config_file] if os.path.exists(config_file) else []
    if netconf.config_file and not files:
        raise exceptions.InvalidConfig("config_file", netconf.config_file,
                                       "does not exist")
    if not _CONFIGURED:
        try:
            conf(args=[], project="skynet", default_config_files=files)
        except cfg.Error as exc:
            raise exceptions.InvalidConfig(
                "skynet.conf", config_file, "is invalid: %s" % exc)
        _CONFIGURED.append(True)
    for group, option, value in netconf.overrides:
        conf.set_override(option, value,
                          group=None if group == "DEFAULT" else group)
    skynet_conf.check_values(conf)
    conf.set_override("use_stderr", not conf.log_file)
    logging.setup(conf, "skynet")
    import logging as std_logging
    std_logging.getLogger().setLevel(conf.log_level.upper())


class Handler:
    def __init__(self, netconf, conf=CONF):
        self.netconf = netconf
        self.conf = conf
        self.name = netconf.name or "skynet"

    # -- helpers -----------------------------------------------------------

    @property
    def kube(self):
        return kube_client.get_client(self.conf)

    def _attachment(self, params):
        args = params.args
        att = model.Attachment(container_id=params.container_id,
                               ifname=params.ifname, netns=params.netns)
        namespace = args.get("K8S_POD_NAMESPACE")
        name = args.get("K8S_POD_NAME")
        if namespace or name:
            if not namespace or not _NAMESPACE_RE.match(namespace):
                raise exceptions.InvalidEnvironment(
                    "CNI_ARGS K8S_POD_NAMESPACE: %r is not a namespace name"
                    % namespace)
            if not name or not _NAME_RE.match(name):
                raise exceptions.InvalidEnvironment(
                    "CNI_ARGS K8S_POD_NAME: %r is not a pod name" % name)
            att.pod_namespace, att.pod_name = namespace, name
        att.pod_uid = args.get("K8S_POD_UID") or None
        return att

    def _pod(self, att):
        """Read the pod named by CNI_ARGS and check its UID."""
        if not att.pod_name:
            return None
        pod = self.kube.get_pod(att.pod_namespace, att.pod_name)
        label = "%s/%s" % (att.pod_namespace, att.pod_name)
        if pod is None:
            raise exceptions.ContainerUnknown(
                "pod %s does not exist in the Kubernetes API" % label)
        uid = pod["metadata"]["uid"]
        if att.pod_uid and att.pod_uid != uid:
            raise exceptions.ContainerUnknown(
                "pod %s has UID %s, CNI_ARGS K8S_POD_UID says %s: the pod "
                "was replaced" % (label, uid, att.pod_uid))
        att.pod_uid = uid
        return pod

    def _target(self, ipam, req, pod_label):
        """Pick network/subnet: annotation subnet > annotation network >
        configured default subnet > configured default network."""
        pn = self.conf.pod_network
        if req.subnet_id:
            field, network_id, subnet_id = (
                "pod %s annotation %s" % (pod_label, annotations.SUBNET_ID),
                None, req.subnet_id)
        elif req.network_id:
            field, network_id, subnet_id = (
                "pod %s annotation %s" % (pod_label, annotations.NETWORK_ID),
                req.network_id, None)
        elif pn.default_subnet_id:
            field, network_id, subnet_id = (
                "neutron.default_subnet_id", None, pn.default_subnet_id)
        elif pn.default_network_id:
            field, network_id, subnet_id = (
                "neutron.default_network_id", pn.default_network_id, None)
        else:
            raise exceptions.InvalidConfig(
                "neutron.default_network_id", None,
                "is not set and pod %s names no network" % pod_label)
        try:
            return ipam.get_target(network_id=network_id, subnet_id=subnet_id)
        except exceptions.ResourceNotFound as exc:
            raise exceptions.InvalidConfig(field, exc.resource_id,
                                           "is not a known Neutron %s"
                                           % exc.kind)

    def _extra_routes(self, vif):
        pn = self.conf.pod_network
        if not (pn.service_cluster_ip_cidr and pn.external_router_gateway_ip):
            return
        cidr = ipaddress.ip_network(pn.service_cluster_ip_cidr)
        gw = ipaddress.ip_address(pn.external_router_gateway_ip)
        # only where the router is on-link: a pod on another network would
        # get "Nexthop has invalid gateway" from the kernel
        if any(gw in ip.interface.network for ip in vif.ips):
            vif.routes.append(model.Route(dst=str(cidr), gw=str(gw)))
        else:
            LOG.debug("no route to %s: %s is not on the pod's subnets",
                      cidr, gw)

    # -- verbs -------------------------------------------------------------

    def add(self, params):
        att = self._attachment(params)
        datapath = loader.get_datapath_driver(self.conf)
        ipam = loader.get_ipam_driver(self.conf)
        security = loader.get_security_drivers(self.conf)
        if not os.path.exists(att.netns):
            raise exceptions.ContainerUnknown(
                "CNI_NETNS %s does not exist" % att.netns)

        pod = self._pod(att)
        pod_label = ("%s/%s" % (att.pod_namespace, att.pod_name)
                     if pod else att.container_id[:12])
        req = annotations.parse(
            (pod or {}).get("metadata", {}).get("annotations"), pod_label)
        target = self._target(ipam, req, pod_label)
        datapath.validate(target.network)
        if req.ip_address:
            annotations.check_ip_in_subnets(
                pod_label, req.ip_address,
                [(s.id, s.cidr) for s in target.subnets])
        sg_field = ("pod %s annotation %s" % (pod_label,
                                              annotations.SECURITY_GROUP_IDS)
                    if req.security_group_ids is not None
                    else "neutron.default_security_group_ids")
        groups = (req.security_group_ids
                  if req.security_group_ids is not None
                  else list(self.conf.pod_network.default_security_group_ids))
        for drv in security:
            groups = drv.security_groups(pod, groups)

        port_req = model.PortRequest(
            attachment=att, node=self.conf.node_name,
            network_id=target.network.id, subnet_id=req.subnet_id,
            ip_address=req.ip_address, security_groups=groups,
            netconf_name=self.name, holder_is_stale=self._stale_holder)

        with contextlib.ExitStack() as undo:
            try:
                vif = ipam.allocate(port_req, target)
            except exceptions.ResourceNotFound as exc:
                raise exceptions.InvalidConfig(
                    sg_field, exc.resource_id, "is not a known Neutron %s"
                    % exc.kind)
            except BaseException:
                # a create that timed out or was interrupted may still have
                # made the port: it carries the attachment tag, find it
                self._undo("port", self._release_attachment, ipam, att)
                raise
            undo.callback(self._undo, "port", ipam.release, [vif])
            LOG.info("ADD %s: port %s %s on network %s", pod_label,
                     vif.port_id, [i.address for i in vif.ips],
                     vif.network.id)
            self._extra_routes(vif)
            state.save(self.conf.state_dir, att, vif, self.name)
            undo.callback(state.remove, self.conf.state_dir, att.key)
            datapath.plug(vif, att.netns, att.ifname)
            undo.callback(self._undo, "link", datapath.unplug, vif,
                          att.netns, att.ifname)
            state.save(self.conf.state_dir, att, vif, self.name)
            ip_lib.configure_container(att.netns, att.ifname, vif)
            host_link = (ip_lib.get_link(vif.host_ifname)
                         if vif.host_ifname else None)
            host_mac = host_link["mac"] if host_link else None
            res = cni_result.build(vif, att.ifname, att.netns, host_mac,
                                   prev=self.netconf.prev_result)
            undo.pop_all()
        return res

    @staticmethod
    def _release_attachment(ipam, att):
        vifs = ipam.find(att)
        if vifs:
            LOG.warning("releasing ports %s of a failed create",
                        [v.port_id for v in vifs])
            ipam.release(vifs)

    @staticmethod
    def _undo(what, func, *args):
        try:
            func(*args)
        except Exception:
            LOG.exception("rollback of %s failed", what)

    def _stale_holder(self, namespace, name, uid):
        """Is the pod that owned a skynet port gone (IP reclaimable)?"""
        if not (namespace and name and uid):
            return False
        pod = self.kube.get_pod(namespace, name)
        return pod is None or pod["metadata"]["uid"] != uid

    def delete(self, params):
        att = self._attachment(params)
        datapath = loader.get_datapath_driver(self.conf)
        ipam = loader.get_ipam_driver(self.conf)
        _, saved = state.load(self.conf.state_dir, att.key)
        try:
            vifs = ipam.find(att)
        except exceptions.TryAgainLater as exc:
            LOG.warning("DEL %s/%s: Neutron unreachable (%s): cleaning the "
                        "host side only; the port stays tagged for GC",
                        att.container_id[:12], att.ifname, exc.msg)
            vifs = None
        for vif in (vifs or ([saved] if saved else [])):
            if saved and saved.port_id == vif.port_id:
                vif = saved     # has host_ifname and the network type
            datapath.unplug(vif, att.netns, att.ifname)
        if not vifs and not saved and att.netns:
            ip_lib.delete_link(att.ifname, netns=att.netns)
        if vifs:
            ipam.release(vifs)
            LOG.info("DEL %s/%s: released %s", att.container_id[:12],
                     att.ifname, [v.port_id for v in vifs])
        if vifs is not None:
            state.remove(self.conf.state_dir, att.key)
        return None

    def check(self, params):
        att = self._attachment(params)
        datapath = loader.get_datapath_driver(self.conf)
        ipam = loader.get_ipam_driver(self.conf)
        vifs = ipam.find(att)
        if not vifs:
            raise exceptions.CheckFailed(
                "no Neutron port for container %s interface %s"
                % (att.container_id, att.ifname))
        vif = ipam.describe(vifs[0])
        if vif.binding_host != self.conf.node_name:
            raise exceptions.CheckFailed(
                "port %s is bound to host %r, not this node %r"
                % (vif.port_id, vif.binding_host, self.conf.node_name))
        if vif.vif_type in ("binding_failed", "unbound"):
            raise exceptions.CheckFailed(
                "port %s binding:vif_type is %s" % (vif.port_id,
                                                    vif.vif_type))
        _, saved = state.load(self.conf.state_dir, att.key)
        vif.host_ifname = saved.host_ifname if saved else None
        self._extra_routes(vif)
        if not os.path.exists(att.netns):
            raise exceptions.CheckFailed("CNI_NETNS %s does not exist"
                                         % att.netns)
        ip_lib.check_container(att.netns, att.ifname, vif)
        datapath.check(vif, att.netns, att.ifname)
        return None

    def status(self, params):
        ipam = loader.get_ipam_driver(self.conf)
        loader.get_datapath_driver(self.conf)
        for name, probe in (("Neutron", ipam.ping),
                            ("Kubernetes API", self.kube.ping)):
            try:
                probe()
            except exceptions.SkynetError as exc:
                raise exceptions.NotAvailable(
                    "%s is not available: %s" % (name, exc.msg))
        return None

    def gc(self, params):
        if self.netconf.valid_attachments is None:
            raise exceptions.InvalidConfig(
                "cni.dev/valid-attachments", None, "is required for GC")
        valid = {model.attachment_key(a["containerID"], a["ifname"])
                 for a in self.netconf.valid_attachments}
        datapath = loader.get_datapath_driver(self.conf)
        ipam = loader.get_ipam_driver(self.conf)
        found = ipam.list_attachments(self.conf.node_name, self.name)
        for key, vifs in found.items():
            if key in valid:
                continue
            data, saved = state.load(self.conf.state_dir, key)
            if saved:
                self._undo("link", datapath.unplug, saved, data.get("netns"),
                           data.get("ifname"))
            LOG.info("GC: releasing stale ports %s",
                     [v.port_id for v in vifs])
            ipam.release(vifs)
            state.remove(self.conf.state_dir, key)
        # host-side leftovers whose port is already gone
        for key in state.keys(self.conf.state_dir):
            if key in valid or key in found:
                continue
            data, saved = state.load(self.conf.state_dir, key)
            if data and data.get("network_name", self.name) != self.name:
                continue
            if saved:
                self._undo("link", datapath.unplug, saved, data.get("netns"),
                           data.get("ifname"))
            state.remove(self.conf.state_dir, key)
        return None


def run(params, netconf):
    """Entry point of the in-process (direct) mode."""
    configure(netconf)
    handler = Handler(netconf)
    verb = {"ADD": handler.add, "DEL": handler.delete,
            "CHECK": handler.check, "STATUS": handler.status,
            "GC": handler.gc}[params.command]
    try:
        return verb(params)
    finally:
        _log_api_calls(params.command)


def _log_api_calls(command):
    """One line per call with the API calls it made (benchmarks read it)."""
    from skynet.clients import neutron as neutron_client
    counts = []
    for name, clients in (("neutron", neutron_client._CLIENTS),
                          ("kubernetes", kube_client._CLIENTS)):
        calls = [c for client in clients.values() for c in client.calls]
        counts.append("%s=%d %s" % (name, len(calls),
                                    " ".join("%s:%s" % c for c in calls)))
    LOG.info("%s API calls: %s", command, "; ".join(counts))
