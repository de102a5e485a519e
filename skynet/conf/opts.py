"""list_opts() for oslo-config-generator (etc/oslo-config-generator)."""

import copy

from keystoneauth1 import loading as ks_loading

from skynet import conf


def list_opts():
    neutron_opts = (ks_loading.get_session_conf_options()
                    + ks_loading.get_adapter_conf_options()
                    + ks_loading.get_auth_common_conf_options()
                    + ks_loading.get_auth_plugin_conf_options("password"))
    neutron_opts = copy.deepcopy(neutron_opts) + copy.deepcopy(conf.neutron_opts)
    for opt in neutron_opts:
        if opt.dest == "timeout":
            opt.default = conf.NEUTRON_TIMEOUT
        elif opt.dest == "service_type":
            opt.default = "network"
    return [
        ("DEFAULT", copy.deepcopy(conf.default_opts)),
        ("pod_network", copy.deepcopy(conf.pod_network_opts)),
        ("neutron", neutron_opts),
        ("kubernetes", copy.deepcopy(conf.kubernetes_opts)),
        ("datapath", copy.deepcopy(conf.datapath_opts)),
        ("ipam", copy.deepcopy(conf.ipam_opts)),
        ("security", copy.deepcopy(conf.security_opts)),
    ]
