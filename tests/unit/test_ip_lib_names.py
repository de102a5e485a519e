"""Device naming: what neutron-linuxbridge-agent expects (no root)."""

import hashlib

import pytest

from skynet import exceptions
from skynet.linux import ip_lib
from skynet_drivers.datapath import linuxbridge as lb

PORT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
NET = "ffff2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.mark.parametrize("func,arg,expected", [
    (lb.tap_name, PORT, "tap0f1e2d3c-4b"),
    (lb.bridge_name, NET, "brqffff2d3c-4b"),
    (lb.vxlan_name, 1056, "vxlan-1056"),
    (lb.vxlan_name, 16777215, "vxlan-16777215"),
])
def test_linuxbridge_names(func, arg, expected):
    assert func(arg) == expected
    assert len(func(arg)) <= ip_lib.IFNAMSIZ_MAX


def _agent_hashed(nic):
    # neutron_lib.plugins.utils.get_interface_name(nic, max_len=10)
    return nic[:4] + hashlib.sha1(nic.encode()).hexdigest()[:6]


@pytest.mark.parametrize("nic,vlan,expected", [
    ("eth0", 100, "eth0.100"),
    ("nlab-phys0", 100, "nlab-phys0.100"),
    ("enp0s31f6", 4094, "enp0s31f6.4094"),
    ("mix_interface", 1, "mix_interface.1"),
    ("mix_interface", 1111, _agent_hashed("mix_interface") + ".1111"),
    ("long_interface0", 7, _agent_hashed("long_interface0") + ".7"),
])
def test_vlan_device_name_matches_agent(nic, vlan, expected):
    name = ip_lib.vlan_device_name(nic, vlan)
    assert name == expected
    assert len(name) <= ip_lib.IFNAMSIZ_MAX


@pytest.mark.parametrize("name", ["", "a" * 16, "a/b", "a b"])
def test_invalid_names_rejected(name):
    with pytest.raises(exceptions.DatapathError, match="invalid interface"):
        ip_lib.ensure_bridge(name)
