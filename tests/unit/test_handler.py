"""ADD/DEL/CHECK/STATUS/GC orchestration with fakes at the boundaries
(IPAM backend, datapath driver, Kubernetes client, ip_lib)."""

import types as pytypes

from oslo_config import cfg
import pytest

from skynet.cni import handler as handler_mod
from skynet.cni import netconf
from skynet.cni import types
from skynet import conf as skynet_conf
from skynet.drivers import base
from skynet import exceptions
from skynet import model
from skynet import state

NET = "11111111-1111-4111-8111-111111111111"
NET2 = "22222222-2222-4222-8222-222222222222"
SUB = "33333333-3333-4333-8333-333333333333"
SG = "44444444-4444-4444-8444-444444444444"
SG2 = "55555555-5555-4555-8555-555555555555"
UID = "66666666-6666-4666-8666-666666666666"


class FakeIpam(base.IpamDriver):
    def __init__(self):
        super().__init__(None)
        self.ports = {}         # key -> [VIF]
        self.calls = []
        self.fail_find = None

    def get_target(self, network_id=None, subnet_id=None):
        self.calls.append(("get_target", network_id, subnet_id))
        if (network_id or subnet_id) == "00000000-0000-4000-8000-000000000000":
            raise exceptions.ResourceNotFound("network", network_id)
        return model.NetworkTarget(
            network=model.Network(id=network_id or NET, network_type="vxlan",
                                  mtu=1450, segmentation_id=1001),
            subnets=[model.Subnet(id=SUB, cidr="10.30.0.0/24", ip_version=4,
                                  gateway_ip="10.30.0.1")])

    def allocate(self, request, target):
        self.calls.append(("allocate", request))
        if SG2 in request.security_groups:
            raise exceptions.ResourceNotFound("security group", SG2)
        vif = model.VIF(
            port_id="port-%d" % len(self.calls), mac_address="fa:16:3e:00:00:01",
            network=target.network,
            ips=[model.IPConfig(request.ip_address and request.ip_address + "/24"
                                or "10.30.0.10/24", "10.30.0.1", SUB)],
            routes=[model.Route("0.0.0.0/0", "10.30.0.1")],
            binding_host=request.node, vif_type="bridge")
        self.ports.setdefault(request.attachment.key, []).append(vif)
        return vif

    def find(self, attachment):
        if self.fail_find:
            raise self.fail_find
        return [model.VIF(port_id=v.port_id, mac_address=v.mac_address,
                          network=model.Network(v.network.id, None, None),
                          binding_host=v.binding_host, vif_type=v.vif_type)
                for v in self.ports.get(attachment.key, [])]

    def describe(self, vif):
        for vifs in self.ports.values():
            for v in vifs:
                if v.port_id == vif.port_id:
                    return model.VIF.from_dict(v.to_dict())

    def release(self, vifs):
        self.calls.append(("release", [v.port_id for v in vifs]))
        ids = {v.port_id for v in vifs}
        for key in list(self.ports):
            self.ports[key] = [v for v in self.ports[key] if v.port_id not in ids]
            if not self.ports[key]:
                del self.ports[key]

    def list_attachments(self, node, netconf_name):
        return {k: list(v) for k, v in self.ports.items()}

    def ping(self):
        if self.fail_find:
            raise self.fail_find


class FakeDatapath(base.DatapathDriver):
    def __init__(self):
        super().__init__(None, None)
        self.calls = []
        self.fail_plug = None

    def validate(self, network):
        self.calls.append(("validate", network.network_type))

    def plug(self, vif, netns, ifname):
        self.calls.append(("plug", vif.port_id, netns, ifname))
        if self.fail_plug:
            raise self.fail_plug
        vif.host_ifname = "tap" + vif.port_id[:11]

    def unplug(self, vif, netns, ifname):
        self.calls.append(("unplug", vif.port_id, netns, ifname))

    def check(self, vif, netns, ifname):
        self.calls.append(("check", vif.port_id))


class FakeKube:
    def __init__(self, pods):
        self.pods = pods

    def get_pod(self, namespace, name):
        return self.pods.get((namespace, name))

    def ping(self):
        pass


class FakeIpLib:
    def __init__(self):
        self.calls = []
        self.fail_configure = None

    def configure_container(self, netns, ifname, vif):
        self.calls.append(("configure", ifname, [r.dst for r in vif.routes]))
        if self.fail_configure:
            raise self.fail_configure

    def check_container(self, netns, ifname, vif):
        self.calls.append(("check_container", ifname))

    def get_link(self, name, netns=None):
        return {"mac": "aa:aa:aa:aa:aa:aa"}

    def delete_link(self, name, netns=None):
        self.calls.append(("delete_link", name, netns))
        return False


@pytest.fixture
def env(tmp_path, monkeypatch):
    conf = cfg.ConfigOpts()
    skynet_conf.register_opts(conf)
    conf([])
    conf.set_override("state_dir", str(tmp_path / "state"))
    conf.set_override("node_name", "node1")
    conf.set_override("default_network_id", NET, group="pod_network")
    conf.set_override("default_security_group_ids", [SG], group="pod_network")
    ns = tmp_path / "netns"
    ns.write_text("")
    fakes = pytypes.SimpleNamespace(
        conf=conf, ipam=FakeIpam(), datapath=FakeDatapath(), iplib=FakeIpLib(),
        kube=FakeKube({("default", "p"): {"metadata": {"uid": UID, "annotations": {}}}}),
        netns=str(ns))
    monkeypatch.setattr(handler_mod.loader, "get_datapath_driver", lambda c: fakes.datapath)
    monkeypatch.setattr(handler_mod.loader, "get_ipam_driver", lambda c: fakes.ipam)
    monkeypatch.setattr(handler_mod.loader, "get_security_drivers",
                        lambda c: [_Security()])
    monkeypatch.setattr(handler_mod, "ip_lib", fakes.iplib)
    monkeypatch.setattr(handler_mod.kube_client, "get_client", lambda c: fakes.kube)
    return fakes


class _Security(base.SecurityDriver):
    def __init__(self):
        super().__init__(None)

    def security_groups(self, pod, requested):
        return list(requested)


def _call(fakes, command, annotations=None, raw=None, cid="c1", ifname="eth0",
          uid=None):
    if annotations is not None:
        fakes.kube.pods[("default", "p")]["metadata"]["annotations"] = annotations
    args = "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p"
    if uid:
        args += ";K8S_POD_UID=" + uid
    params = types.CniParams.from_env({
        "CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname,
        "CNI_NETNS": fakes.netns, "CNI_ARGS": args})
    nc = netconf.parse(dict({"cniVersion": "1.1.0", "name": "skynet"}, **(raw or {})))
    h = handler_mod.Handler(nc, conf=fakes.conf)
    return getattr(h, {"ADD": "add", "DEL": "delete", "CHECK": "check",
                       "STATUS": "status", "GC": "gc"}[command])(params)


def test_add_returns_full_result_and_saves_state(env):
    res = _call(env, "ADD")
    assert res["interfaces"][0] == {"name": "tapport-2", "mac": "aa:aa:aa:aa:aa:aa"}
    assert res["interfaces"][1]["sandbox"] == env.netns
    assert res["ips"] == [{"address": "10.30.0.10/24", "gateway": "10.30.0.1",
                           "interface": 1}]
    req = env.ipam.calls[1][1]
    assert (req.node, req.security_groups, req.attachment.pod_uid) == (
        "node1", [SG], UID)
    assert state.keys(env.conf.state_dir) == [model.attachment_key("c1", "eth0")]


@pytest.mark.parametrize("annots,conf_subnet,expect", [
    ({}, None, (NET, None)),
    ({}, SUB, (None, SUB)),
    ({"skynet/network_id": NET2}, SUB, (NET2, None)),
    ({"skynet/subnet_id": SUB, "skynet/network_id": NET2}, None, (None, SUB)),
])
def test_target_precedence(env, annots, conf_subnet, expect):
    if conf_subnet:
        env.conf.set_override("default_subnet_id", conf_subnet, group="pod_network")
    _call(env, "ADD", annotations=annots)
    assert env.ipam.calls[0] == ("get_target",) + expect


@pytest.mark.parametrize("annots,field", [
    ({"skynet/network_id": "nope"}, "annotation skynet/network_id"),
    ({"skynet/network_id": "00000000-0000-4000-8000-000000000000"},
     "annotation skynet/network_id"),
    ({"skynet/ip": "10.99.0.5"}, "annotation skynet/ip"),
    ({"skynet/security_group_ids": SG2}, "annotation skynet/security_group_ids"),
])
def test_bad_annotation_leaves_nothing(env, annots, field):
    with pytest.raises(exceptions.InvalidConfig) as err:
        _call(env, "ADD", annotations=annots)
    assert field in err.value.msg
    assert env.ipam.ports == {}
    assert not any(c[0] == "plug" for c in env.datapath.calls)
    assert state.keys(env.conf.state_dir) == []


def test_uid_mismatch_is_container_unknown(env):
    with pytest.raises(exceptions.ContainerUnknown):
        _call(env, "ADD", uid="77777777-7777-4777-8777-777777777777")
    assert not any(c[0] == "allocate" for c in env.ipam.calls)


@pytest.mark.parametrize("where", ["plug", "configure"])
def test_failure_after_port_rolls_back(env, where):
    boom = exceptions.DatapathError("boom")
    if where == "plug":
        env.datapath.fail_plug = boom
    else:
        env.iplib.fail_configure = boom
    with pytest.raises(exceptions.DatapathError):
        _call(env, "ADD")
    assert env.ipam.ports == {}
    assert ("release", ["port-2"]) in env.ipam.calls
    assert state.keys(env.conf.state_dir) == []
    unplugged = any(c[0] == "unplug" for c in env.datapath.calls)
    assert unplugged == (where == "configure")


def test_service_route_when_both_set(env):
    env.conf.set_override("service_cluster_ip_cidr", "10.254.0.0/16",
                          group="pod_network")
    env.conf.set_override("external_router_gateway_ip", "10.30.0.254",
                          group="pod_network")
    res = _call(env, "ADD")
    assert {"dst": "10.254.0.0/16", "gw": "10.30.0.254"} in res["routes"]


def test_del_is_idempotent(env):
    _call(env, "ADD")
    assert _call(env, "DEL") is None
    assert env.ipam.ports == {}
    assert ("unplug", "port-2", env.netns, "eth0") in env.datapath.calls
    assert _call(env, "DEL") is None
    assert state.keys(env.conf.state_dir) == []


def test_del_with_neutron_down_cleans_host_side(env):
    _call(env, "ADD")
    env.ipam.fail_find = exceptions.TryAgainLater("Neutron unreachable")
    assert _call(env, "DEL") is None
    assert ("unplug", "port-2", env.netns, "eth0") in env.datapath.calls
    assert env.ipam.ports    # the port stays (tagged) for GC


def test_check(env):
    _call(env, "ADD")
    _call(env, "CHECK")
    assert ("check", "port-2") in env.datapath.calls
    env.ipam.ports.clear()
    with pytest.raises(exceptions.CheckFailed):
        _call(env, "CHECK")


def test_status_unavailable_is_code_50(env):
    _call(env, "STATUS")
    env.ipam.fail_find = exceptions.TryAgainLater("down")
    with pytest.raises(exceptions.NotAvailable) as err:
        _call(env, "STATUS")
    assert err.value.code == 50


def test_gc_keeps_valid_and_releases_stale(env):
    _call(env, "ADD", cid="keep")
    _call(env, "ADD", cid="gone")
    _call(env, "GC", raw={"cni.dev/valid-attachments": [
        {"containerID": "keep", "ifname": "eth0"}]})
    assert list(env.ipam.ports) == [model.attachment_key("keep", "eth0")]
    assert state.keys(env.conf.state_dir) == [model.attachment_key("keep", "eth0")]


def test_create_that_failed_after_neutron_made_the_port_is_released(env):
    """A POST that timed out (or was interrupted) after Neutron created the
    port: the attachment tag finds it and the port is given back."""
    real = env.ipam.allocate

    def allocate_then_time_out(request, target):
        real(request, target)
        raise exceptions.TryAgainLater("Neutron timed out")
    env.ipam.allocate = allocate_then_time_out
    with pytest.raises(exceptions.TryAgainLater):
        _call(env, "ADD")
    assert env.ipam.ports == {}
    assert not any(c[0] == "plug" for c in env.datapath.calls)
