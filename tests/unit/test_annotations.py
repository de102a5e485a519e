"""Pod annotations: the seed's meaning, malformed values named."""

from hypothesis import given
from hypothesis import strategies as st
import pytest

from skynet.cni import annotations
from skynet import exceptions

NET = "e5e7478a-53ec-4063-a4dc-f3ca3ba3e98b"
SUB = "76aa33bc-c9c1-4834-bcfc-aefd28206997"
SG1 = "31a8f352-580e-4136-9f91-fa8829aa179c"
SG2 = "4b0c9a2e-1111-4222-8333-444455556666"


@pytest.mark.parametrize("annots,expect", [
    ({}, (None, None, None, None)),
    (None, (None, None, None, None)),
    ({"skynet/network_id": NET}, (NET, None, None, None)),
    ({"skynet/subnet_id": SUB, "skynet/network_id": NET}, (NET, SUB, None, None)),
    ({"skynet/ip": "10.30.0.5"}, (None, None, "10.30.0.5", None)),
    ({"skynet/ip": " fd00:30::0005 "}, (None, None, "fd00:30::5", None)),
    ({"skynet/security_group_ids": "%s,%s" % (SG1, SG2)},
     (None, None, None, [SG1, SG2])),
    ({"skynet/security_group_ids": "%s, %s,%s" % (SG1, SG2, SG1)},
     (None, None, None, [SG1, SG2])),
    ({"skynet/network_id": NET.upper()}, (NET, None, None, None)),
    ({"other/annotation": "x"}, (None, None, None, None)),
])
def test_parse(annots, expect):
    req = annotations.parse(annots, "default/p")
    assert (req.network_id, req.subnet_id, req.ip_address,
            req.security_group_ids) == expect


@pytest.mark.parametrize("name,value,reason", [
    ("skynet/network_id", "net1", "is not a UUID"),
    ("skynet/subnet_id", "", "is not a UUID"),
    ("skynet/ip", "10.30.0.300", "is not an IP address"),
    ("skynet/ip", "10.30.0.5/24", "is not an IP address"),
    ("skynet/security_group_ids", "%s,nope" % SG1, "is not a UUID"),
    ("skynet/security_group_ids", " , ", "is empty"),
])
def test_malformed_named(name, value, reason):
    with pytest.raises(exceptions.InvalidConfig) as err:
        annotations.parse({name: value}, "default/p")
    assert err.value.code == 7
    assert "pod default/p annotation %s" % name in err.value.msg
    assert repr(value) in err.value.msg or repr("nope") in err.value.msg
    assert reason in err.value.msg


def test_ip_in_subnets():
    subs = [("s4", "10.30.0.0/24"), ("s6", "fd00:30::/64")]
    assert annotations.check_ip_in_subnets("p", "10.30.0.9", subs) == "s4"
    assert annotations.check_ip_in_subnets("p", "fd00:30::9", subs) == "s6"
    with pytest.raises(exceptions.InvalidConfig) as err:
        annotations.check_ip_in_subnets("p", "10.31.0.9", subs)
    assert "10.30.0.0/24" in err.value.msg and "skynet/ip" in err.value.msg


@given(st.dictionaries(
    st.sampled_from(["skynet/network_id", "skynet/subnet_id", "skynet/ip",
                     "skynet/security_group_ids", "x"]),
    st.text(max_size=80)))
def test_fuzz_parse_never_crashes(annots):
    try:
        annotations.parse(annots, "ns/p")
    except exceptions.InvalidConfig as exc:
        assert exc.field.startswith("pod ns/p annotation skynet/")
