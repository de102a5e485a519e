"""Load drivers from stevedore entry points (kuryr drivers/base.py style)."""

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exc

from skynet import conf as skynet_conf
from skynet.drivers import base
from skynet import exceptions

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

_KINDS = {
    base.NAMESPACE_DATAPATH: ("datapath", base.DatapathDriver),
    base.NAMESPACE_IPAM: ("ipam", base.IpamDriver),
    base.NAMESPACE_SECURITY: ("security", base.SecurityDriver),
}
_CACHE = {}


def _reraise(manager, entrypoint, exc):
    raise exc


def _driver_group(conf, kind, name, driver_cls):
    """Register the driver's CONFIG_OPTS in [<kind>_<name>]; return the group."""
    opts = list(getattr(driver_cls, "CONFIG_OPTS", ()))
    if not opts:
        return None
    group = "%s_%s" % (kind, name)
    conf.register_opts(opts, group=group)
    skynet_conf.check_values(conf, group)
    return conf[group]


def _load_one(conf, namespace, name, extra_args=()):
    kind, contract = _KINDS[namespace]
    try:
        mgr = stevedore_driver.DriverManager(
            namespace, name, invoke_on_load=False,
            on_load_failure_callback=_reraise)
    except stevedore_exc.NoMatches:
        raise exceptions.DriverNotFound(
            "[%s] driver: no %r driver is installed (entry point namespace "
            "%s)" % (kind, name, namespace))
    cls = mgr.driver
    if not (isinstance(cls, type) and issubclass(cls, contract)):
        raise TypeError("%s driver %r (%r) is not a %s" % (
            kind, name, cls, contract.__name__))
    drv = cls(_driver_group(conf, kind, name, cls), *extra_args)
    LOG.debug("loaded %s driver %s (%s)", kind, name, cls.__module__)
    return drv


def get_datapath_driver(conf=CONF):
    name = conf.datapath.driver
    key = (base.NAMESPACE_DATAPATH, name)
    if key not in _CACHE:
        _CACHE[key] = _load_one(conf, base.NAMESPACE_DATAPATH, name,
                                (conf.datapath,))
    return _CACHE[key]


def get_ipam_driver(conf=CONF):
    name = conf.ipam.driver
    key = (base.NAMESPACE_IPAM, name)
    if key not in _CACHE:
        _CACHE[key] = _load_one(conf, base.NAMESPACE_IPAM, name)
    return _CACHE[key]


def get_security_drivers(conf=CONF):
    """The [security] drivers, in the configured order."""
    names = tuple(conf.security.drivers)
    key = (base.NAMESPACE_SECURITY, names)
    if key not in _CACHE:
        _CACHE[key] = [_load_one(conf, base.NAMESPACE_SECURITY, n)
                       for n in names]
    return _CACHE[key]


def reset_cache():
    _CACHE.clear()
