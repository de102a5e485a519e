"""Netconf parsing: the seed's config as written, and every bad value named."""

import json

from hypothesis import given
from hypothesis import strategies as st
import pytest

from skynet.cni import netconf
from skynet import exceptions

SEED = {
    "name": "skynet",
    "type": "skynet",
    "neutron": {
        "neutron_url": "http://192.168.7.211:9696",
        "default_network_id": "e5e7478a-53ec-4063-a4dc-f3ca3ba3e98b",
        "default_security_group_ids": "31a8f352-580e-4136-9f91-fa8829aa179c",
        "external_router_gateway_ip": "192.168.7.160",
        "service_cluster_ip_cidr": "10.254.0.0/16",
    },
    "plugin": {"plugin_type": "linuxbridge", "trunk_nic": "ens192",
               "tunnel_nic": "ens160"},
    "kubernetes": {"k8s_api_root": "http://192.168.7.203:8080"},
    "log_level": "info",
    "cniVersion": "1.0",
}


def _with(path, value):
    conf = json.loads(json.dumps(SEED))
    node = conf
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return conf


def test_seed_accepted_as_written():
    nc = netconf.parse(netconf.loads(json.dumps(SEED)))
    assert nc.version == "1.0.0"
    got = {(g, o): v for g, o, v in nc.overrides}
    assert got == {
        ("neutron", "endpoint_override"): "http://192.168.7.211:9696",
        ("pod_network", "default_network_id"):
            "e5e7478a-53ec-4063-a4dc-f3ca3ba3e98b",
        ("pod_network", "default_security_group_ids"):
            ["31a8f352-580e-4136-9f91-fa8829aa179c"],
        ("pod_network", "external_router_gateway_ip"): "192.168.7.160",
        ("pod_network", "service_cluster_ip_cidr"): "10.254.0.0/16",
        ("datapath", "driver"): "linuxbridge",
        ("datapath", "trunk_nic"): "ens192",
        ("datapath", "tunnel_nic"): "ens160",
        ("kubernetes", "api_root"): "http://192.168.7.203:8080",
        ("DEFAULT", "log_level"): "info",
    }


@pytest.mark.parametrize("path,value,override", [
    ("neutron.default_security_group_ids",
     "31a8f352-580e-4136-9f91-fa8829aa179c, 4b0c9a2e-1111-4222-8333-444455556666",
     ("pod_network", "default_security_group_ids",
      ["31a8f352-580e-4136-9f91-fa8829aa179c",
       "4b0c9a2e-1111-4222-8333-444455556666"])),
    ("neutron.default_subnet_id", "76aa33bc-c9c1-4834-bcfc-aefd28206997",
     ("pod_network", "default_subnet_id",
      "76aa33bc-c9c1-4834-bcfc-aefd28206997")),
    ("neutron.timeout", 3, ("neutron", "timeout", 3.0)),
    ("kubernetes.kubeconfig", "/etc/skynet/kubeconfig",
     ("kubernetes", "kubeconfig", "/etc/skynet/kubeconfig")),
    ("kubernetes.timeout", 2.5, ("kubernetes", "timeout", 2.5)),
    ("node_name", "node-1.example", ("DEFAULT", "node_name", "node-1.example")),
    ("log_file", "/var/log/skynet.log", ("DEFAULT", "log_file", "/var/log/skynet.log")),
    ("log_level", "DEBUG", ("DEFAULT", "log_level", "debug")),
    ("plugin.plugin_type", "my-thirdparty", ("datapath", "driver", "my-thirdparty")),
])
def test_additions_map_onto_options(path, value, override):
    nc = netconf.parse(_with(path, value))
    assert override in nc.overrides


@pytest.mark.parametrize("path,value,reason", [
    ("neutron.neutron_url", "ftp://x", "URL"),
    ("neutron.neutron_url", 9696, "URL"),
    ("neutron.default_network_id", "net-1", "UUID"),
    ("neutron.default_subnet_id", "", None),     # empty: not set, accepted
    ("neutron.default_security_group_ids", "a,b", "UUID"),
    ("neutron.external_router_gateway_ip", "192.168.7.300", "IP address"),
    ("neutron.service_cluster_ip_cidr", "10.254.0.1/16", "CIDR"),
    ("neutron.timeout", 0, "between"),
    ("neutron.timeout", "5", "number"),
    ("neutron.timeout", True, "number"),
    ("neutron.default_netowrk_id", "e5e7478a-53ec-4063-a4dc-f3ca3ba3e98b",
     "not a known field"),
    ("plugin.trunk_nic", "a-very-long-interface-name", "interface name"),
    ("plugin.plugin_type", "../../bin/sh", "driver name"),
    ("kubernetes.k8s_api_root", "192.168.7.203:8080", "URL"),
    ("kubernetes.kubeconfig", "relative/path", "absolute path"),
    ("log_level", "verbose", "one of"),
    ("neutron", "not-an-object", "must be an object"),
])
def test_bad_values_name_field_and_value(path, value, reason):
    conf = _with(path, value)
    if reason is None:
        netconf.parse(conf)
        return
    with pytest.raises(exceptions.InvalidConfig) as err:
        netconf.parse(conf)
    assert err.value.code == 7
    assert path in err.value.msg
    assert repr(value) in err.value.msg
    assert reason in err.value.msg


def test_gateway_and_cidr_versions_must_match():
    conf = _with("neutron.external_router_gateway_ip", "fd00::1")
    with pytest.raises(exceptions.InvalidConfig) as err:
        netconf.parse(conf)
    assert "external_router_gateway_ip" in err.value.msg


@pytest.mark.parametrize("version,expect", [
    ("1.0", "1.0.0"), ("1.1.0", "1.1.0"), ("0.3.1", "0.3.1"),
    ("0.4.0", "0.4.0"), ("0.3.0", "0.3.0"),
])
def test_versions(version, expect):
    assert netconf.parse(_with("cniVersion", version)).version == expect


@pytest.mark.parametrize("version,code", [
    ("0.2.0", 1), ("2.0.0", 1), ("x", 1), (None, 7), (1.0, 7),
])
def test_bad_versions(version, code):
    with pytest.raises(exceptions.SkynetError) as err:
        netconf.parse(_with("cniVersion", version))
    assert err.value.code == code


@pytest.mark.parametrize("data,code", [
    (b"", 6), (b"{", 6), (b"[]", 6), (b"\xff\xfe", 6), (b'"x"', 6),
])
def test_undecodable_is_code_6(data, code):
    with pytest.raises(exceptions.SkynetError) as err:
        netconf.loads(data)
    assert err.value.code == code


def test_valid_attachments_shape():
    conf = dict(SEED)
    conf["cni.dev/valid-attachments"] = [{"containerID": "c", "ifname": "eth0"}]
    assert netconf.parse(conf).valid_attachments == [
        {"containerID": "c", "ifname": "eth0"}]
    conf["cni.dev/valid-attachments"] = [{"ifname": 1}]
    with pytest.raises(exceptions.InvalidConfig):
        netconf.parse(conf)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=12)


@given(path=st.sampled_from(sorted(netconf.FIELDS)), value=json_values)
def test_fuzz_any_value_is_accepted_or_named(path, value):
    """Whatever the value, parsing either succeeds or names the field."""
    if path == "config_file":
        path = "config_file"
    try:
        netconf.parse(_with(path, value))
    except exceptions.InvalidConfig as exc:
        assert exc.code == 7
        assert exc.field.startswith(path.split(".")[0])


@given(st.binary(max_size=200))
def test_fuzz_stdin_bytes(data):
    try:
        netconf.parse(netconf.loads(data))
    except exceptions.SkynetError as exc:
        assert exc.code in (1, 6, 7)
