"""list_opts() of the built-in drivers, for oslo-config-generator.

Entry point ``oslo.config.opts``: ``skynet.datapath =
skynet_drivers.opts:list_opts``. The groups are the ones the loader
registers each driver's CONFIG_OPTS in: ``[datapath_<name>]``.
"""

import copy


def list_opts():
    from skynet_drivers.datapath import linuxbridge
    from skynet_drivers.datapath import macvlan
    from skynet_drivers.datapath import openvswitch
    return [
        ("datapath_linuxbridge",
         copy.deepcopy(linuxbridge.LinuxBridgeDriver.CONFIG_OPTS)),
        ("datapath_macvlan", copy.deepcopy(macvlan.MacvlanDriver.CONFIG_OPTS)),
        ("datapath_openvswitch",
         copy.deepcopy(openvswitch.OpenVSwitchDriver.CONFIG_OPTS)),
    ]
