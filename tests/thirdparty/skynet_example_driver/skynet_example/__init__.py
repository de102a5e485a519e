"""Example third-party datapath: a plain veth pair, host end left unbridged,
and a JSON line per call in ``[datapath_example-veth] record_file``."""

import json

from oslo_config import cfg

from skynet.drivers import base
from skynet.linux import ip_lib


class ExampleVethDriver(base.DatapathDriver):
    CONFIG_OPTS = [
        cfg.StrOpt("record_file", help="Where each call is recorded."),
    ]

    def _record(self, verb, vif):
        if self.conf.record_file:
            with open(self.conf.record_file, "a") as f:
                f.write(json.dumps({"verb": verb, "port": vif.port_id}) + "\n")

    def plug(self, vif, netns, ifname):
        vif.host_ifname = "sk3p" + vif.port_id[:11]
        ip_lib.create_veth_into_netns(vif.host_ifname, netns, ifname,
                                      vif.mac_address, vif.network.mtu)
        self._record("plug", vif)

    def unplug(self, vif, netns, ifname):
        ip_lib.delete_link("sk3p" + vif.port_id[:11])
        self._record("unplug", vif)

    def check(self, vif, netns, ifname):
        self._record("check", vif)


def list_opts():
    return [("datapath_example-veth", ExampleVethDriver.CONFIG_OPTS)]
