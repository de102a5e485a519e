"""ip_lib netns handling against the real kernel (root)."""

import os
import tempfile

import pytest

from skynet import exceptions
from skynet.linux import ip_lib
from skynet import model
from tests.functional import datapath_fixtures as fx

pytestmark = fx.requires_root


def test_ip_lib_missing_netns():
    path = "/var/run/netns/skt-nonexistent-%s" % fx.rand_hex()
    with pytest.raises(exceptions.ContainerUnknown, match="does not exist"):
        ip_lib.link_exists("eth0", path)
    with pytest.raises(exceptions.ContainerUnknown):
        ip_lib.create_veth_into_netns("sktap" + fx.rand_hex(), path, "eth0",
                                      fx.port_mac(), 1500)
    with pytest.raises(exceptions.CheckFailed, match="is gone"):
        ip_lib.check_container(path, "eth0", fx.make_vif(
            model.Network(id="n", network_type="flat", mtu=1500),
            "10.251.0.2/24"))
    assert ip_lib.delete_link("eth0", path) is False
    assert ip_lib.delete_link("eth0", "") is False


def test_ip_lib_not_a_netns():
    with tempfile.NamedTemporaryFile() as f:
        with pytest.raises(exceptions.DatapathError,
                           match="not a network namespace"):
            ip_lib.link_exists("eth0", f.name)


def test_ip_lib_configure_idempotent(world):
    pod = world.netns()
    path = fx.netns_path(pod)
    fx.ip("-n", pod, "link", "add", "eth0", "type", "veth", "peer", "name",
          "peer0")
    vif = fx.make_vif(model.Network(id="n", network_type="flat", mtu=1500),
                      "10.251.7.5/24", "fd00:251:7::5/64",
                      [model.Route("0.0.0.0/0", "10.251.7.1"),
                       model.Route("10.99.0.0/16"),
                       model.Route("::/0", "fd00:251:7::1")])
    fx.ip("-n", pod, "link", "set", "eth0", "address", vif.mac_address)
    for _ in range(2):
        ip_lib.configure_container(path, "eth0", vif)
    ip_lib.check_container(path, "eth0", vif)
    addr6 = [a for a in fx.ip_json("-n", pod, "-6", "addr", "show", "eth0")[
        0]["addr_info"] if a["local"] == "fd00:251:7::5"][0]
    assert addr6.get("nodad") is True and not addr6.get("tentative")
    assert ip_lib.container_link_info(path, "eth0") == {
        "mac": vif.mac_address, "mtu": 1500,
        "index": ip_lib.container_link_info(path, "eth0")["index"]}
    assert ip_lib.delete_link("eth0", path) is True
    assert ip_lib.delete_link("eth0", path) is False
    assert os.path.exists(path)
