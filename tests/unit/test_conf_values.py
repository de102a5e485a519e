"""A bad value in skynet.conf is a configuration error (code 7) naming the
option and the value -- never an internal error at first use."""

from oslo_config import cfg
import pytest

from skynet import conf as skynet_conf
from skynet.drivers import loader
from skynet import exceptions


def _conf(tmp_path, text):
    path = tmp_path / "skynet.conf"
    path.write_text(text)
    c = cfg.ConfigOpts()
    skynet_conf.register_opts(c)
    c([], default_config_files=[str(path)])
    return c


@pytest.mark.parametrize("text,field,value", [
    ("[kubernetes]\ntimeout = abc\n", "[kubernetes] timeout", "abc"),
    ("[kubernetes]\ntimeout = 0\n", "[kubernetes] timeout", None),
    ("[DEFAULT]\nlog_level = verbose\n", "[DEFAULT] log_level", "verbose"),
    ("[neutron]\ntimeout = soon\n", "[neutron] timeout", "soon"),
    ("[kubernetes]\ninsecure = maybe\n", "[kubernetes] insecure", "maybe"),
])
def test_bad_values_are_named(tmp_path, text, field, value):
    c = _conf(tmp_path, text)
    with pytest.raises(exceptions.InvalidConfig) as err:
        skynet_conf.check_values(c)
    assert err.value.code == 7
    assert err.value.field == field
    if value is not None:
        assert err.value.value == value


def test_good_file_passes(tmp_path):
    c = _conf(tmp_path, "[kubernetes]\ntimeout = 2.5\n[datapath]\ndriver = macvlan\n")
    skynet_conf.check_values(c)
    assert c.kubernetes.timeout == 2.5


def test_driver_options_checked_when_the_driver_loads(tmp_path):
    c = _conf(tmp_path, "[datapath_linuxbridge]\nvxlan_udp_port = x\n")
    loader.reset_cache()
    try:
        with pytest.raises(exceptions.InvalidConfig) as err:
            loader.get_datapath_driver(c)
    finally:
        loader.reset_cache()
    assert err.value.field == "[datapath_linuxbridge] vxlan_udp_port"
