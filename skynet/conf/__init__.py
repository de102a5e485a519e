"""skynet's oslo.config options: one group per concern.

  [DEFAULT]      node identity, state directory, log level
  [neutron]      keystoneauth session/auth/adapter options (connection),
                 clouds.yaml cloud, Keystone token cache
  [pod_network]  default network, subnet, security groups, service route
  [kubernetes]   API server, credentials, timeout
  [datapath]     datapath driver and the node's NICs
  [ipam]         IPAM backend
  [security]     security backends
"""

import re
import socket

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log as logging

NEUTRON_GROUP = "neutron"

default_opts = [
    cfg.StrOpt("node_name", default=socket.gethostname(),
               sample_default="<host name>",
               help="This node's name: Neutron binding:host_id of the pods' "
                    "ports and the Kubernetes Node name."),
    cfg.StrOpt("state_dir", default="/var/lib/skynet",
               help="Where skynet keeps one small file per attachment, so "
                    "that DEL can clean the host side when Neutron is "
                    "unreachable."),
    cfg.StrOpt("log_level", default="info",
               choices=["debug", "info", "warning", "error", "critical"],
               help="Log level (the seed netconf's log_level)."),
]

pod_network_opts = [
    cfg.StrOpt("default_network_id",
               help="Network of pods that name none in their annotations."),
    cfg.StrOpt("default_subnet_id",
               help="Subnet of pods that name none (overrides "
                    "default_network_id, like the skynet/subnet_id "
                    "annotation)."),
    cfg.ListOpt("default_security_group_ids", default=[],
                help="Security groups of pods whose skynet/"
                     "security_group_ids annotation is absent."),
    cfg.StrOpt("external_router_gateway_ip",
               help="Next hop of the route to service_cluster_ip_cidr."),
    cfg.StrOpt("service_cluster_ip_cidr",
               help="Kubernetes service CIDR, routed via "
                    "external_router_gateway_ip when both are set."),
]

neutron_opts = [
    cfg.StrOpt("cloud",
               help="Name of a cloud in clouds.yaml whose auth, region, "
                    "interface and CA/cert settings reach Neutron (instead "
                    "of auth_type & co. here). clouds.yaml is "
                    "clouds_file if set, else the first of "
                    "$OS_CLIENT_CONFIG_FILE, ./clouds.yaml, "
                    "~/.config/openstack/clouds.yaml, "
                    "/etc/openstack/clouds.yaml (secure.yaml beside it is "
                    "merged)."),
    cfg.StrOpt("clouds_file",
               help="clouds.yaml to read the cloud option from (overrides "
                    "the standard search path)."),
    cfg.BoolOpt("token_cache", default=True,
                help="Keep the Keystone token (keystoneauth auth state) in "
                     "a root-only 0600 file so that consecutive CNI calls "
                     "reuse it instead of authenticating each time."),
    cfg.StrOpt("token_cache_dir",
               help="Directory (created 0700) of the token cache files; "
                    "default: <state_dir>/keystone-tokens."),
    cfg.IntOpt("token_cache_margin", default=300, min=0,
               help="A cached token is reused only while it is valid for "
                    "more than this many seconds."),
]

kubernetes_opts = [
    cfg.StrOpt("api_root",
               help="Kubernetes API URL (the seed's k8s_api_root), e.g. "
                    "https://10.0.0.1:6443. Overrides the kubeconfig's "
                    "server."),
    cfg.StrOpt("kubeconfig",
               help="kubeconfig file (current context is used). When "
                    "neither this nor api_root is set, the in-cluster "
                    "service account is used."),
    cfg.StrOpt("token_file",
               help="Bearer token file for api_root (re-read each call)."),
    cfg.StrOpt("ca_file",
               help="CA bundle to verify api_root. Without it (and without "
                    "insecure) the python-requests bundle (certifi) is "
                    "used; REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE are ignored."),
    cfg.StrOpt("cert_file",
               help="Client certificate (PEM) presented to api_root."),
    cfg.StrOpt("key_file",
               help="Private key of cert_file (if not inside cert_file)."),
    cfg.StrOpt("service_account_dir",
               default="/var/run/secrets/kubernetes.io/serviceaccount",
               help="In-cluster service account directory (token, ca.crt), "
                    "used when neither api_root nor kubeconfig is set; the "
                    "token is re-read on every call (rotation)."),
    cfg.BoolOpt("insecure", default=False,
                help="Do not verify the API server's certificate."),
    cfg.FloatOpt("timeout", default=10.0, min=0.1,
                 help="Timeout in seconds of each Kubernetes API call."),
]

datapath_opts = [
    cfg.StrOpt("driver", default="linuxbridge",
               help="Datapath driver (entry point in skynet.datapath): "
                    "linuxbridge, openvswitch, macvlan or a third party's."),
    cfg.StrOpt("trunk_nic",
               help="NIC carrying flat and vlan networks (the seed's "
                    "plugin.trunk_nic)."),
    cfg.StrOpt("tunnel_nic",
               help="NIC carrying the vxlan underlay (the seed's "
                    "plugin.tunnel_nic)."),
]

ipam_opts = [
    cfg.StrOpt("driver", default="neutron",
               help="IPAM backend (entry point in skynet.ipam)."),
]

security_opts = [
    cfg.ListOpt("drivers", default=["neutron"],
                help="Security backends (entry points in skynet.security), "
                     "applied in order."),
]

NEUTRON_TIMEOUT = 10.0


def register_opts(conf=cfg.CONF):
    """Register every core option (idempotent)."""
    if "pod_network" in conf:
        return
    conf.register_opts(default_opts)
    conf.register_opts(pod_network_opts, group="pod_network")
    conf.register_opts(kubernetes_opts, group="kubernetes")
    conf.register_opts(datapath_opts, group="datapath")
    conf.register_opts(ipam_opts, group="ipam")
    conf.register_opts(security_opts, group="security")
    ks_loading.register_session_conf_options(conf, NEUTRON_GROUP)
    ks_loading.register_auth_conf_options(conf, NEUTRON_GROUP)
    ks_loading.register_adapter_conf_options(conf, NEUTRON_GROUP)
    conf.register_opts(neutron_opts, group=NEUTRON_GROUP)
    conf.set_default("timeout", NEUTRON_TIMEOUT, group=NEUTRON_GROUP)
    conf.set_default("service_type", "network", group=NEUTRON_GROUP)
    logging.register_options(conf)


_BAD_VALUE = re.compile(r"'([^']*)'\s*$")


def check_values(conf, group=None):
    """Read every option (of ``group``, or all) now, so that a bad value in
    skynet.conf is a configuration error naming the option -- not an
    exception from deep inside the first code that reads it."""
    if group is None:
        names = [(None, key) for key in conf]
    else:
        names = [(group, key) for key in conf[group]]
    for grp, name in names:
        try:
            value = conf[grp][name] if grp else conf[name]
        except (cfg.ConfigFileValueError, ValueError) as exc:
            _raise_invalid(grp, name, exc)
        if grp is None and isinstance(value, cfg.ConfigOpts.GroupAttr):
            check_values(conf, name)


def _raise_invalid(group, name, exc):
    from skynet import exceptions
    found = _BAD_VALUE.search(str(exc))
    raise exceptions.InvalidConfig(
        "[%s] %s" % (group or "DEFAULT", name),
        found.group(1) if found else None,
        "is not valid: %s" % str(exc).rsplit(" is not valid: ", 1)[-1])
