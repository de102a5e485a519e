#!/usr/bin/python3
"""Idempotently create the skynet keystone lab's objects and print them as JSON (stdout).

Run by tools/lab/keystone.sh with Debian's python3 (keystoneclient). Talks to Keystone over the
plain-http port KS_URL; creates the Neutron objects through the keystone-authenticated Neutron
(TLS, lab CA) as user skynet, so they belong to project skynet.

  projects  service, skynet
  roles     service (admin/member/reader come from keystone-manage bootstrap)
  users     neutron (admin+service on service), skynet (admin on skynet: may set
            binding:host_id), skynet-nopriv (member on skynet: may NOT set binding:host_id)
  appcred   skynet-appcred, owned by skynet, project skynet, fixed secret (recreated if the
            secret no longer authenticates: its id then changes)
  catalog   identity + network (public = https via haproxy, internal/admin = http), RegionOne
  neutron   network skynet-ks-net (vxlan, project skynet) + subnet skynet-ks-v4 10.60.0.0/24
Passwords are only set at creation (a password change revokes the user's tokens).
"""
import json
import os
import sys
import time

from keystoneauth1 import exceptions as ka_exc
from keystoneauth1 import session as ka_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

E = os.environ
KS_URL = E["KS_URL"]
REGION = "RegionOne"
DOM = "default"


def sess(**kw):
    if "application_credential_id" in kw:
        auth = v3.ApplicationCredential(auth_url=KS_URL, **kw)
    else:
        auth = v3.Password(auth_url=KS_URL, user_domain_id=DOM, project_domain_id=DOM, **kw)
    return ka_session.Session(auth=auth)


def one(items):
    return items[0] if items else None


admin = client.Client(session=sess(username="admin", password=E["ADMIN_PASSWORD"],
                                   project_name="admin"), interface="internal")
out = {}
projects = {}
for name, desc in (("service", "service users"), ("skynet", "skynet CNI")):
    p = one(admin.projects.list(name=name, domain=DOM)) or \
        admin.projects.create(name, DOM, description=desc)
    projects[name] = p
    out["project_" + name] = p.id

roles = {}
for name in ("admin", "member", "reader", "service"):
    roles[name] = one(admin.roles.list(name=name)) or admin.roles.create(name)

users = {}
for name, pw, project, grant in (
        ("neutron", E["NEUTRON_PASSWORD"], "service", ("admin", "service")),
        ("skynet", E["SKYNET_PASSWORD"], "skynet", ("admin",)),
        ("skynet-nopriv", E["NOPRIV_PASSWORD"], "skynet", ("member",))):
    u = one(admin.users.list(name=name, domain=DOM))
    if u is None:
        u = admin.users.create(name, domain=DOM, password=pw, default_project=projects[project])
    users[name] = u
    out["user_" + name.replace("-", "_")] = u.id
    for r in grant:
        admin.roles.grant(roles[r], user=u, project=projects[project])

# application credential: created with skynet's own project-scoped token
AC_NAME, AC_SECRET = E["APPCRED_NAME"], E["APPCRED_SECRET"]
sk = client.Client(session=sess(username="skynet", password=E["SKYNET_PASSWORD"],
                                project_name="skynet"), interface="internal")
ac = one([a for a in sk.application_credentials.list(user=users["skynet"].id) if a.name == AC_NAME])
if ac is not None:
    try:
        sess(application_credential_id=ac.id, application_credential_secret=AC_SECRET).get_token()
    except ka_exc.Unauthorized:
        sk.application_credentials.delete(ac, user=users["skynet"].id)
        ac = None
if ac is None:
    ac = sk.application_credentials.create(
        AC_NAME, user=users["skynet"].id, secret=AC_SECRET,
        description="skynet CNI lab (roles of skynet on project skynet)")
out["appcred_id"] = ac.id


def ensure_endpoints(service, urls):
    for iface, url in urls.items():
        eps = admin.endpoints.list(service=service, interface=iface, region=REGION)
        for extra in eps[1:]:
            admin.endpoints.delete(extra)
        if eps and eps[0].url != url:
            admin.endpoints.update(eps[0], url=url)
        elif not eps:
            admin.endpoints.create(service, url, interface=iface, region=REGION)


ks_svc = one(admin.services.list(type="identity"))
ensure_endpoints(ks_svc, {"public": E["KS_PUBLIC_URL"], "internal": E["KS_URL"],
                          "admin": E["KS_URL"]})
net_svc = one(admin.services.list(type="network")) or \
    admin.services.create("neutron", "network", description="OpenStack Networking")
ensure_endpoints(net_svc, {"public": E["NEUTRON_PUBLIC_URL"], "internal": E["NEUTRON_INTERNAL_URL"],
                           "admin": E["NEUTRON_INTERNAL_URL"]})

# ---- Neutron objects of project skynet, through the keystone-authenticated Neutron (TLS)
nsess = ka_session.Session(
    auth=v3.Password(auth_url=E["KS_PUBLIC_URL"], username="skynet",
                     password=E["SKYNET_PASSWORD"], project_name="skynet",
                     user_domain_id=DOM, project_domain_id=DOM),
    verify=E["CA"])
N = E["NEUTRON_PUBLIC_URL"] + "/v2.0/"


def neutron(method, path, body=None, ok=(200, 201)):
    for attempt in range(60):          # the API may still be booting
        try:
            r = nsess.request(N + path, method, json=body, raise_exc=False)
            if r.status_code in ok:
                return r.json() if r.content else None
            if r.status_code < 500 and r.status_code != 401:
                raise RuntimeError("%s %s -> %s %s" % (method, path, r.status_code, r.text))
        except ka_exc.ConnectFailure:
            pass
        time.sleep(1)
    raise RuntimeError("%s %s: Neutron not answering" % (method, path))


# a Keystone reset (keystone.sh down PURGE=1) leaves the old project's network in the shared DB
for stale in neutron("GET", "networks?name=skynet-ks-net")["networks"]:
    if stale["project_id"] != projects["skynet"].id:
        neutron("DELETE", "networks/" + stale["id"], ok=(204, 404, 409))
net = one(neutron("GET", "networks?name=skynet-ks-net&project_id=" + projects["skynet"].id)["networks"])
if net is None:
    net = neutron("POST", "networks", {"network": {"name": "skynet-ks-net"}})["network"]
sub = one(neutron("GET", "subnets?name=skynet-ks-v4&network_id=" + net["id"])["subnets"])
if sub is None:
    sub = neutron("POST", "subnets", {"subnet": {
        "name": "skynet-ks-v4", "network_id": net["id"], "ip_version": 4,
        "cidr": "10.60.0.0/24", "gateway_ip": "10.60.0.1",
        "allocation_pools": [{"start": "10.60.0.10", "end": "10.60.0.250"}]}})["subnet"]
out["ks_net"] = net["id"]
out["ks_net_type"] = net.get("provider:network_type")
out["ks_subnet"] = sub["id"]
json.dump(out, sys.stdout, indent=1)
print()
