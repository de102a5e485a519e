"""Per-attachment state on the node: ``<state_dir>/<attachment key>.json``.

Written before the datapath is plugged and removed after it is unplugged,
so that DEL can clean the host side even when Neutron is unreachable, and GC
can find host leftovers. Root-only (0600), written atomically.
"""

import json
import os

from skynet import model


def _path(state_dir, key):
    return os.path.join(state_dir, key + ".json")


def save(state_dir, attachment, vif, netconf_name):
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    data = {"container_id": attachment.container_id,
            "ifname": attachment.ifname,
            "netns": attachment.netns,
            "network_name": netconf_name,
            "vif": vif.to_dict()}
    path = _path(state_dir, attachment.key)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def load(state_dir, key):
    """Return (data, VIF) or (None, None)."""
    try:
        with open(_path(state_dir, key)) as f:
            data = json.load(f)
        return data, model.VIF.from_dict(data["vif"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def remove(state_dir, key):
    try:
        os.unlink(_path(state_dir, key))
    except FileNotFoundError:
        pass


def keys(state_dir):
    try:
        names = os.listdir(state_dir)
    except FileNotFoundError:
        return []
    return [n[:-5] for n in names if n.endswith(".json")]
