"""CNI environment, version conversion and result shaping."""

import pytest

from skynet.cni import result
from skynet.cni import types
from skynet import exceptions
from skynet import model

ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/x",
       "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin",
       "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p"}


def test_env_ok():
    p = types.CniParams.from_env(ENV)
    assert (p.command, p.container_id, p.netns, p.ifname) == (
        "ADD", "c1", "/run/netns/x", "eth0")
    assert p.args == {"IgnoreUnknown": "1", "K8S_POD_NAMESPACE": "default",
                      "K8S_POD_NAME": "p"}


@pytest.mark.parametrize("change,needle", [
    ({"CNI_COMMAND": None}, "CNI_COMMAND is not set"),
    ({"CNI_COMMAND": "ATTACH"}, "CNI_COMMAND: 'ATTACH'"),
    ({"CNI_CONTAINERID": None}, "CNI_CONTAINERID is required"),
    ({"CNI_IFNAME": None}, "CNI_IFNAME is required"),
    ({"CNI_NETNS": None}, "CNI_NETNS is required"),
    ({"CNI_IFNAME": "a-very-long-ifname0"}, "CNI_IFNAME: "),
    ({"CNI_ARGS": "K8S_POD_NAME"}, "CNI_ARGS: 'K8S_POD_NAME'"),
])
def test_env_errors_are_code_4(change, needle):
    env = dict(ENV)
    for k, v in change.items():
        if v is None:
            env.pop(k)
        else:
            env[k] = v
    with pytest.raises(exceptions.InvalidEnvironment) as err:
        types.CniParams.from_env(env)
    assert err.value.code == 4
    assert needle in err.value.msg


def test_del_needs_no_netns():
    env = dict(ENV, CNI_COMMAND="DEL")
    env.pop("CNI_NETNS")
    assert types.CniParams.from_env(env).netns is None


@pytest.mark.parametrize("command,version,ok", [
    ("CHECK", "0.3.1", False), ("CHECK", "0.4.0", True),
    ("STATUS", "1.0.0", False), ("STATUS", "1.1.0", True),
    ("GC", "1.0.0", False), ("GC", "1.1.0", True), ("ADD", "0.3.0", True),
])
def test_command_versions(command, version, ok):
    if ok:
        types.check_command_version(command, version)
    else:
        with pytest.raises(exceptions.IncompatibleVersion):
            types.check_command_version(command, version)


def _vif():
    return model.VIF(
        port_id="p1", mac_address="fa:16:3e:00:00:01",
        network=model.Network(id="n1", network_type="vxlan", mtu=1450),
        ips=[model.IPConfig("10.30.0.5/24", "10.30.0.1", "s4"),
             model.IPConfig("fd00:30::5/64", "fd00:30::1", "s6")],
        routes=[model.Route("0.0.0.0/0", "10.30.0.1"),
                model.Route("10.99.0.0/16", "10.30.0.254")],
        dns_nameservers=["10.30.0.2"], host_ifname="tapp1")


def test_result_shape_and_conversion():
    res = result.build(_vif(), "eth0", "/run/netns/x", host_mac="aa:bb:cc:dd:ee:ff")
    assert res["interfaces"] == [
        {"name": "tapp1", "mac": "aa:bb:cc:dd:ee:ff"},
        {"name": "eth0", "mac": "fa:16:3e:00:00:01", "mtu": 1450,
         "sandbox": "/run/netns/x"}]
    assert res["ips"][0] == {"address": "10.30.0.5/24", "gateway": "10.30.0.1",
                             "interface": 1}
    assert res["dns"] == {"nameservers": ["10.30.0.2"]}
    old = types.convert_result(res, "0.3.1")
    assert old["cniVersion"] == "0.3.1"
    assert [i["version"] for i in old["ips"]] == ["4", "6"]
    new = types.convert_result(res, "1.0.0")
    assert "version" not in new["ips"][0]


def test_result_chains_prev_result():
    prev = {"cniVersion": "0.4.0",
            "interfaces": [{"name": "lo0"}],
            "ips": [{"version": "4", "address": "192.0.2.2/24", "interface": 0}],
            "routes": [{"dst": "192.0.2.0/24"}],
            "dns": {"nameservers": ["192.0.2.53"], "search": ["cluster.local"]}}
    res = result.build(_vif(), "eth0", "/run/netns/x", prev=prev)
    assert [i["name"] for i in res["interfaces"]] == ["lo0", "tapp1", "eth0"]
    assert res["ips"][0] == {"address": "192.0.2.2/24", "interface": 0}
    assert res["ips"][1]["interface"] == 2
    assert res["routes"][0] == {"dst": "192.0.2.0/24"}
    assert res["dns"] == {"nameservers": ["192.0.2.53", "10.30.0.2"],
                          "search": ["cluster.local"]}


def test_attachment_tags_fit_neutron():
    att = model.Attachment(container_id="c" * 64, ifname="eth0")
    tags = att.tags("skynet-" + "n" * 80)
    assert all(len(t) <= model.MAX_TAG_LEN for t in tags)
    assert "skynet" in tags
    assert model.TAG_ATTACHMENT + att.key in tags
    other = model.Attachment(container_id="c" * 64, ifname="net1")
    assert other.key != att.key
