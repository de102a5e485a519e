#!/bin/bash
# skynet lab, Keystone part (optional: lab.sh runs it with LAB_KEYSTONE=1): a real Keystone v3
# (Debian 12 keystone 2:22.0.2, Zed) and a SECOND, keystone-authenticated neutron-server, both behind
# haproxy TLS with the lab's own CA, beside the main lab (which must be up: .lab/env).
#
#   keystone.sh up       install what is missing, start what is down, (re)create the Keystone and
#                        Neutron objects, write <repo>/.lab/keystone.env (its existence = "up")
#   keystone.sh down     stop what up started (by pidfile); PURGE=1 also deletes the data
#   keystone.sh status   exit 0 only if everything answers
#
#   http://127.0.0.1:5001/v3    Keystone (uwsgi, keystone-wsgi-public; SQLite WAL; memcached :11212)
#   https://127.0.0.1:5443/v3   Keystone via haproxy TLS                        catalog: public
#   http://127.0.0.1:9699       neutron-server #2, auth_strategy = keystone      catalog: internal/admin
#   https://127.0.0.1:9443      the same via haproxy TLS                         catalog: public
# neutron-server #2 loads copies of the main lab's neutron.conf + ml2_conf.ini plus the overlay
# keystone/neutron-ks.conf.in: same MariaDB database `neutron`, same RabbitMQ, so its ports are bound
# and wired by the main lab's linuxbridge agent (pods really get connectivity). 5 processes,
# ~830 MiB RSS (2 API workers, 1 RPC worker, 1 periodic worker).
#
# Objects: users skynet (admin on project skynet: may set binding:host_id), skynet-nopriv (member:
# may not), neutron (service user); application credential skynet-appcred; network skynet-ks-net
# (vxlan, project skynet, subnet 10.60.0.0/24); clouds.yaml (clouds skynet-lab, skynet-lab-appcred,
# skynet-lab-nopriv, skynet-lab-http). State in .lab/keystone (pki/, log/, clouds.yaml);
# bootstrapped Keystone DB cached in /var/cache/skynet-lab/keystone-<hash>.
# Knobs: KS_TOKEN_EXPIRATION=3600 (s), TOKEN_CACHE_TIME=5 (neutron's keystonemiddleware token cache,
# s; short so that revoked tokens are refused quickly), KS_WORKERS=2, NO_INSTALL=1, PURGE=1 (down),
# ports KS_PORT KS_TLS_PORT NEUTRON_KS_PORT NEUTRON_KS_TLS_PORT MEMCACHED_PORT.
set -uo pipefail
unset CURL_CA_BUNDLE REQUESTS_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR || true   # never override --cacert

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB/../.." && pwd)
TPL=$LAB/keystone
KRUN=$REPO/.lab/keystone
MAIN_RUN=$REPO/.lab/run
MAIN_ENV=$REPO/.lab/env
ENV_FILE=$REPO/.lab/keystone.env
CACHE=${LAB_CACHE:-/var/cache/skynet-lab}
PIDDIR=$KRUN/pids
. "$LAB/lib/proc.sh"   # alive, lab_pid, daemon, wait_for, stop_pid
LOGDIR=$KRUN/log
KS_PORT=${KS_PORT:-5001}
KS_TLS_PORT=${KS_TLS_PORT:-5443}
NEUTRON_KS_PORT=${NEUTRON_KS_PORT:-9699}
NEUTRON_KS_TLS_PORT=${NEUTRON_KS_TLS_PORT:-9443}
MEMCACHED_PORT=${MEMCACHED_PORT:-11212}
KS_WORKERS=${KS_WORKERS:-2}
KS_TOKEN_EXPIRATION=${KS_TOKEN_EXPIRATION:-3600}
TOKEN_CACHE_TIME=${TOKEN_CACHE_TIME:-5}
ADMIN_PASSWORD=admin-lab-pw
NEUTRON_PASSWORD=neutron-lab-pw
SKYNET_PASSWORD=skynet-lab-pw-$(printf %s "$REPO" | sha1sum | cut -c1-8)
NOPRIV_PASSWORD=nopriv-lab-pw
APPCRED_NAME=skynet-appcred
APPCRED_SECRET=skynet-appcred-secret-$(printf %s "$REPO" | sha1sum | cut -c9-16)
PY=/usr/bin/python3             # Debian's python (keystoneclient); a pyenv python3 may shadow it
KSM=(keystone-manage --config-file "$KRUN/etc/keystone.conf")
PKGS=(keystone haproxy memcached)

T0=$(date +%s.%N); TL=$T0
mark() { local t; t=$(date +%s.%N)
  awk -v t="$t" -v l="$TL" -v z="$T0" -v m="$*" 'BEGIN{printf "[ks +%5.1fs %6.1fs] %s\n", t-l, t-z, m}'; TL=$t; }
die() { echo "keystone.sh: FAILED: $*" >&2; exit 1; }
port_free() { ss -Hltn "sport = :$1" | grep -q . &&
  die "port 127.0.0.1:$1 ($2) is in use by something this script did not start: $(ss -Hltnp "sport = :$1")"
  return 0; }
CHANGED=""
render() { # render TEMPLATE.in DEST: @VAR@ -> $VAR; records a changed DEST in $CHANGED
  local src=$TPL/$1 dst=$2 expr="" v
  for v in KRUN KS_PORT KS_TLS_PORT NEUTRON_KS_PORT NEUTRON_KS_TLS_PORT MEMCACHED_PORT \
           KS_TOKEN_EXPIRATION TOKEN_CACHE_TIME NEUTRON_PASSWORD SKYNET_PASSWORD NOPRIV_PASSWORD \
           APPCRED_ID APPCRED_SECRET; do expr+="s#@$v@#${!v:-}#g;"; done
  sed -e "$expr" "$src" >"$dst.new"
  if cmp -s "$dst.new" "$dst"; then rm -f "$dst.new"; else mv "$dst.new" "$dst"; CHANGED+=" $(basename "$dst")"; fi; }
changed() { local f; for f; do [[ " $CHANGED " == *" $f "* ]] && return 0; done; return 1; }
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@"; }
ks_up() { [ "$(code "http://127.0.0.1:$KS_PORT/v3")" = 200 ]; }
neutron_up() { [ "$(code "http://127.0.0.1:$NEUTRON_KS_PORT/v2.0/networks")" = 401 ]; }
tls_up() { [ "$(code --cacert "$KRUN/pki/ca.crt" "https://127.0.0.1:$KS_TLS_PORT/v3")" = 200 ] &&
           [ "$(code --cacert "$KRUN/pki/ca.crt" "https://127.0.0.1:$NEUTRON_KS_TLS_PORT/")" = 200 ]; }
mc_up() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MEMCACHED_PORT; printf 'version\r\n' >&3; head -c7 <&3" 2>/dev/null | grep -q VERSION; }

# ------------------------------------------------------------------ up
s_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && { mark "packages: all installed"; return; }
  local made_policy=0       # keep maintainer scripts from starting daemons; keystone's debconf
  if [ ! -e /usr/sbin/policy-rc.d ]; then # questions all default to false (no DB, no bootstrap)
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  "${apt[@]}" update -qq >"$LOGDIR/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" \
    >>"$LOGDIR/apt.log" 2>&1 || { [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install ${missing[*]} (log $LOGDIR/apt.log)"; }
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  mark "packages: installed ${missing[*]}"
}

s_pki() { # the lab's own CA (.lab/keystone/pki/ca.crt) + a server cert for 127.0.0.1/localhost
  local d=$KRUN/pki
  if openssl x509 -in "$d/server.crt" -noout -checkend 86400 >/dev/null 2>&1 &&
     openssl verify -CAfile "$d/ca.crt" "$d/server.crt" >/dev/null 2>&1 && [ -s "$d/server.pem" ]; then
    return; fi
  mkdir -p "$d"; chmod 700 "$d"; rm -f "$d"/*
  ( umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/O=skynet lab/CN=skynet keystone lab CA" \
      -keyout "$d/ca.key" -out "$d/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=skynet lab/CN=127.0.0.1" -keyout "$d/server.key" \
      -out "$d/server.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 825 \
      -sha256 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
    cat "$d/server.crt" "$d/server.key" >"$d/server.pem" )
  chmod 644 "$d/ca.crt"; chmod 755 "$d"      # the CA certificate is public; keys stay 0600
  mark "lab CA + server certificate (SAN IP:127.0.0.1, DNS:localhost) in $d"
}

s_memcached() {
  if lab_pid memcached >/dev/null && mc_up; then return; fi
  port_free "$MEMCACHED_PORT" memcached
  daemon memcached "$LOGDIR/memcached.log" memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -c 1024 -u memcache
  wait_for 10 memcached mc_up || die "memcached did not start (log $LOGDIR/memcached.log)"
  mark "memcached up (127.0.0.1:$MEMCACHED_PORT)"
}

ks_db_ready() { [ "$(sqlite3 "$KRUN/db/keystone.sqlite" "select count(*) from local_user where name='admin'" 2>/dev/null)" = 1 ]; }
s_keystone_db() {
  ks_db_ready && return
  local g; g=$CACHE/keystone-$(printf '%s|%s|%s|%s' "$ADMIN_PASSWORD" "$KS_PORT" "$KS_TLS_PORT" \
    "$(dpkg-query -W -f='${Version}' keystone)" | sha1sum | cut -c1-12)
  rm -rf "$KRUN/db" "$KRUN/fernet-keys" "$KRUN/credential-keys"; mkdir -p "$KRUN/db"
  if [ -s "$g/keystone.sqlite" ]; then
    cp "$g/keystone.sqlite" "$KRUN/db/keystone.sqlite"; cp -a "$g/fernet-keys" "$g/credential-keys" "$KRUN/"
    sqlite3 "$KRUN/db/keystone.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null
    mark "keystone DB (bootstrapped) + fernet/credential keys restored from cache $g"; return
  fi
  : >"$LOGDIR/keystone-manage.log"; local pids=() p    # each call = 4-6 s of imports: in parallel
  "${KSM[@]}" db_sync >>"$LOGDIR/keystone-manage.log" 2>&1 & pids+=($!)
  "${KSM[@]}" fernet_setup --keystone-user root --keystone-group root >>"$LOGDIR/keystone-manage.log" 2>&1 & pids+=($!)
  "${KSM[@]}" credential_setup --keystone-user root --keystone-group root >>"$LOGDIR/keystone-manage.log" 2>&1 & pids+=($!)
  for p in "${pids[@]}"; do wait "$p" || die "keystone-manage (log $LOGDIR/keystone-manage.log)"; done
  sqlite3 "$KRUN/db/keystone.sqlite" 'PRAGMA journal_mode=WAL;' >/dev/null
  mark "keystone-manage db_sync || fernet_setup || credential_setup"
  "${KSM[@]}" bootstrap --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne --bootstrap-public-url "https://127.0.0.1:$KS_TLS_PORT/v3" \
    --bootstrap-internal-url "http://127.0.0.1:$KS_PORT/v3" --bootstrap-admin-url "http://127.0.0.1:$KS_PORT/v3" \
    >>"$LOGDIR/keystone-manage.log" 2>&1 || die "keystone-manage bootstrap (log $LOGDIR/keystone-manage.log)"
  mark "keystone-manage bootstrap"
  mkdir -p "$g"; sqlite3 "$KRUN/db/keystone.sqlite" ".backup '$g/keystone.sqlite'"
  rm -rf "$g/fernet-keys" "$g/credential-keys"; cp -a "$KRUN/fernet-keys" "$KRUN/credential-keys" "$g/"
  chmod 700 "$g"
}

s_keystone() {
  if lab_pid keystone >/dev/null && ks_up; then
    changed keystone.conf || return
    stop_pid keystone; fi
  port_free "$KS_PORT" keystone
  # flush: memcached outlives Keystone, a reset DB must not see stale entries
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MEMCACHED_PORT; printf 'flush_all\r\nquit\r\n' >&3; cat <&3" >/dev/null 2>&1
  # async http router + keep-alive + unix socket to the workers; 1 thread per worker (SQLite)
  daemon keystone "$LOGDIR/keystone-uwsgi.log" uwsgi-core --plugins http,python3 \
    --http "127.0.0.1:$KS_PORT" --http-keepalive --socket "$KRUN/uwsgi.sock" \
    --wsgi-file /usr/bin/keystone-wsgi-public --master --processes "$KS_WORKERS" --threads 1 \
    --lazy-apps --die-on-term --need-app --buffer-size 65535 \
    --env "OS_KEYSTONE_CONFIG_FILES=$KRUN/etc/keystone.conf"
  wait_for 90 keystone ks_up || die "keystone did not answer (log $LOGDIR/keystone-uwsgi.log, $LOGDIR/keystone.log)"
  mark "keystone up (http://127.0.0.1:$KS_PORT/v3, uwsgi $KS_WORKERS x 1 thread)"
}

s_neutron() {
  if lab_pid neutron-ks >/dev/null; then
    changed neutron.conf ml2_conf.ini neutron-ks.conf || return
    stop_pid neutron-ks 30; fi
  port_free "$NEUTRON_KS_PORT" neutron-server-ks
  daemon neutron-ks "$LOGDIR/neutron-ks.out" neutron-server --config-file="$KRUN/etc/neutron.conf" \
    --config-file="$KRUN/etc/ml2_conf.ini" --config-file="$KRUN/etc/neutron-ks.conf" \
    --log-file="$LOGDIR/neutron-ks.log"
  mark "neutron-server #2 starting (:$NEUTRON_KS_PORT, auth_strategy keystone, DB + RabbitMQ of the main lab)"
}

s_haproxy() {
  if lab_pid haproxy >/dev/null && tls_up; then
    changed haproxy.cfg || return
    stop_pid haproxy; fi
  lab_pid haproxy >/dev/null || { port_free "$KS_TLS_PORT" haproxy; port_free "$NEUTRON_KS_TLS_PORT" haproxy; }
  stop_pid haproxy
  haproxy -c -q -f "$KRUN/etc/haproxy.cfg" || die "haproxy -c $KRUN/etc/haproxy.cfg"
  # haproxy sets O_NONBLOCK on its stdout with F_SETFL, which drops O_APPEND: into an
  # existing file it would write from offset 0 over old lines (the tests count its lines)
  mv -f "$LOGDIR/haproxy.log" "$LOGDIR/haproxy.log.1" 2>/dev/null || true
  daemon haproxy "$LOGDIR/haproxy.log" haproxy -db -f "$KRUN/etc/haproxy.cfg"
  wait_for 30 "haproxy" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$KRUN/pki/ca.crt' https://127.0.0.1:$KS_TLS_PORT/v3)\" = 200 ]" ||
    die "haproxy TLS (log $LOGDIR/haproxy.log)"
  mark "haproxy TLS up (https://127.0.0.1:$KS_TLS_PORT -> :$KS_PORT, https://127.0.0.1:$NEUTRON_KS_TLS_PORT -> :$NEUTRON_KS_PORT)"
}

s_objects() {
  wait_for 120 "neutron-server #2 API (log $LOGDIR/neutron-ks.log)" neutron_up || die "neutron-server #2"
  mark "neutron-server #2 API answering (401 without token)"
  KS_URL="http://127.0.0.1:$KS_PORT/v3" KS_PUBLIC_URL="https://127.0.0.1:$KS_TLS_PORT/v3" \
  NEUTRON_PUBLIC_URL="https://127.0.0.1:$NEUTRON_KS_TLS_PORT" NEUTRON_INTERNAL_URL="http://127.0.0.1:$NEUTRON_KS_PORT" \
  CA="$KRUN/pki/ca.crt" ADMIN_PASSWORD=$ADMIN_PASSWORD NEUTRON_PASSWORD=$NEUTRON_PASSWORD \
  SKYNET_PASSWORD=$SKYNET_PASSWORD NOPRIV_PASSWORD=$NOPRIV_PASSWORD APPCRED_NAME=$APPCRED_NAME \
  APPCRED_SECRET=$APPCRED_SECRET $PY "$TPL/ks-setup.py" >"$KRUN/objects.json.tmp" 2>"$LOGDIR/ks-setup.log" ||
    die "ks-setup.py (log $LOGDIR/ks-setup.log)"
  mv "$KRUN/objects.json.tmp" "$KRUN/objects.json"
  APPCRED_ID=$(jq -r .appcred_id "$KRUN/objects.json")
  local um; um=$(umask); umask 077
  render clouds.yaml.in "$KRUN/clouds.yaml"; umask "$um"; chmod 600 "$KRUN/clouds.yaml"
  mark "keystone + neutron objects (users, roles, app credential, catalog, skynet-ks-net: $(jq -r .ks_net_type "$KRUN/objects.json"))"
}

write_env() { # 0600: it holds the lab's secrets
  local j=$KRUN/objects.json tmp=$ENV_FILE.tmp.$$
  ( umask 077; cat >"$tmp" <<EOT
# written by tools/lab/keystone.sh up at $(date -Is); read by tests/e2e/test_keystone.py, tools/bench_keystone.py
export SKYNET_KS_AUTH_URL=https://127.0.0.1:$KS_TLS_PORT/v3
export SKYNET_KS_AUTH_URL_HTTP=http://127.0.0.1:$KS_PORT/v3
export SKYNET_KS_NEUTRON_URL=https://127.0.0.1:$NEUTRON_KS_TLS_PORT
export SKYNET_KS_NEUTRON_URL_HTTP=http://127.0.0.1:$NEUTRON_KS_PORT
export SKYNET_KS_CA=$KRUN/pki/ca.crt
export SKYNET_KS_REGION=RegionOne
export SKYNET_KS_USER=skynet
export SKYNET_KS_PASSWORD=$SKYNET_PASSWORD
export SKYNET_KS_PROJECT=skynet
export SKYNET_KS_PROJECT_ID=$(jq -r .project_skynet "$j")
export SKYNET_KS_USER_DOMAIN=Default
export SKYNET_KS_PROJECT_DOMAIN=Default
export SKYNET_KS_APPCRED_ID=$(jq -r .appcred_id "$j")
export SKYNET_KS_APPCRED_NAME=$APPCRED_NAME
export SKYNET_KS_APPCRED_SECRET=$APPCRED_SECRET
export SKYNET_KS_NOPRIV_USER=skynet-nopriv
export SKYNET_KS_NOPRIV_PASSWORD=$NOPRIV_PASSWORD
export SKYNET_KS_ADMIN_USER=admin
export SKYNET_KS_ADMIN_PASSWORD=$ADMIN_PASSWORD
export SKYNET_KS_ADMIN_PROJECT=admin
export SKYNET_KS_CLOUDS_YAML=$KRUN/clouds.yaml
export SKYNET_KS_CLOUD=skynet-lab
export SKYNET_KS_CLOUD_APPCRED=skynet-lab-appcred
export SKYNET_KS_CLOUD_NOPRIV=skynet-lab-nopriv
export SKYNET_KS_NET=$(jq -r .ks_net "$j")
export SKYNET_KS_SUBNET=$(jq -r .ks_subnet "$j")
export SKYNET_KS_NEUTRON_TOKEN_CACHE_TIME=$TOKEN_CACHE_TIME
export SKYNET_KS_TOKEN_EXPIRATION=$KS_TOKEN_EXPIRATION
export SKYNET_KS_HAPROXY_LOG=$LOGDIR/haproxy.log
export SKYNET_KS_LOG_DIR=$LOGDIR
EOT
  ); mv -f "$tmp" "$ENV_FILE"; }

do_up() {
  [ "$(id -u)" = 0 ] || die "run as root"
  [ -f "$MAIN_ENV" ] && [ -s "$MAIN_RUN/etc/neutron.conf" ] ||
    die "the main lab is not up ($MAIN_ENV missing): run tools/lab/lab.sh up first"
  mkdir -p "$KRUN"/{etc,pids,log,db,neutron-state,neutron-lock}; chmod 700 "$KRUN"
  rm -f "$ENV_FILE"
  echo "skynet keystone lab up: state in $KRUN, logs in $LOGDIR"
  [ "${NO_INSTALL:-0}" = 1 ] || s_packages
  # copies of the main lab's rendered configs (never referenced in place: lab.sh treats processes
  # naming .lab/run/ as its own), then the overlay
  local f; for f in neutron.conf ml2_conf.ini; do
    if ! cmp -s "$MAIN_RUN/etc/$f" "$KRUN/etc/$f"; then cp "$MAIN_RUN/etc/$f" "$KRUN/etc/$f"; CHANGED+=" $f"; fi; done
  render keystone.conf.in "$KRUN/etc/keystone.conf"
  local um; um=$(umask); umask 077      # not a subshell: render records changes in $CHANGED
  render neutron-ks.conf.in "$KRUN/etc/neutron-ks.conf"; umask "$um"
  render haproxy.cfg.in "$KRUN/etc/haproxy.cfg"
  s_pki
  s_neutron                     # boots (~10 s) while Keystone is prepared
  s_memcached
  s_keystone_db
  s_keystone
  s_haproxy
  s_objects
  write_env
  mark "keystone lab up: $ENV_FILE (clouds.yaml $KRUN/clouds.yaml)"
}

do_down() {
  [ "$(id -u)" = 0 ] || die "run as root"
  mkdir -p "$PIDDIR"; rm -f "$ENV_FILE"
  stop_pid neutron-ks 30; stop_pid haproxy; stop_pid keystone; stop_pid memcached
  if [ "${PURGE:-0}" = 1 ]; then
    rm -rf "$KRUN"; echo "data purged ($KRUN; the bootstrapped-DB cache in $CACHE stays)"; fi
  mark "keystone lab down"
}

do_status() {
  local ok=0 n
  for n in memcached keystone haproxy neutron-ks; do
    if lab_pid "$n" >/dev/null; then echo "  $n: running (pid $(lab_pid "$n"))"; else echo "  $n: NOT running"; ok=1; fi; done
  ks_up && echo "  keystone: http://127.0.0.1:$KS_PORT/v3 answers" || { echo "  keystone: NOT answering"; ok=1; }
  neutron_up && echo "  neutron-server #2: 401 without token (keystone auth)" || { echo "  neutron-server #2: NOT answering"; ok=1; }
  tls_up && echo "  TLS: https://127.0.0.1:$KS_TLS_PORT, https://127.0.0.1:$NEUTRON_KS_TLS_PORT verified with the lab CA" ||
    { echo "  TLS: NOT answering"; ok=1; }
  [ -f "$ENV_FILE" ] && echo "  env: $ENV_FILE" || { echo "  env: $ENV_FILE absent"; ok=1; }
  [ $ok = 0 ] && echo "keystone lab status: UP" || echo "keystone lab status: NOT (fully) up"
  return $ok
}

case "${1:-up}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  *) echo "usage: $0 [up|down|status]" >&2; exit 2 ;;
esac
