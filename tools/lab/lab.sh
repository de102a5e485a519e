#!/bin/bash
# skynet test lab: a real OpenStack Neutron (Debian 12 neutron 2:21.0.0, Zed) + the Kubernetes part
# (tools/lab/kube/kube.sh), everything on 127.0.0.1 and in nlab-* network namespaces.
#
#   lab.sh up       (default) install what is missing, start everything, create the fixtures,
#                   write <repo>/.lab/env (its existence means "the lab is up")
#   lab.sh down     stop everything this lab started, remove its links/netns/netfilter leftovers
#   lab.sh status   say what is up; exit 0 only if everything is
#
# Run as root. Usually through `tox -e lab -- up|down|status`. See tools/lab/README.md.
# Environment knobs:
#   NEUTRON_PORT=9696 DB_PORT=3306 AMQP_PORT=5672   listening ports (127.0.0.1 only)
#   KEEP_DATA=1      down: keep the MariaDB datadir (default: wiped, next up starts from an empty DB)
#   NO_INSTALL=1     up: skip the apt step
#   LAB_SKIP_KUBE=1  DEVELOPER ONLY: do not run tools/lab/kube/kube.sh (.lab/env then lacks the kube
#                    variables and tests needing Kubernetes skip/fail). Never set it in CI.
set -uo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)          # <repo>/tools/lab
REPO=$(cd "$LAB/../.." && pwd)
STATE=$REPO/.lab
RUN=$STATE/run
ENV_FILE=$STATE/env
KUBE_ENV=$STATE/kube.env
KUBE_SH=$LAB/kube/kube.sh
NLAB=$LAB/neutron
CACHE=${LAB_CACHE:-/var/cache/skynet-lab}
LOGDIR=$RUN/log
PIDDIR=$RUN/pids
. "$LAB/lib/proc.sh"   # alive, lab_pid, daemon, wait_for, stop_pid
HOST=$(hostname)
NEUTRON_PORT=${NEUTRON_PORT:-9696}
DB_PORT=${DB_PORT:-3306}
AMQP_PORT=${AMQP_PORT:-5672}
NEUTRON_URL=http://127.0.0.1:$NEUTRON_PORT
PY=/usr/bin/python3               # Debian's python: a pyenv python3 may shadow it in PATH
export RABBITMQ_NODENAME=rabbit@localhost
export DEBIAN_FRONTEND=noninteractive
PKGS=(neutron-server neutron-linuxbridge-agent mariadb-server rabbitmq-server jq curl ipset ebtables
      iptables ethtool tcpdump iputils-ping iproute2 containernetworking-plugins)

# ------------------------------------------------------------------ helpers
T0=$(date +%s.%N); TL=$T0
mark() { local t; t=$(date +%s.%N)
  awk -v t="$t" -v l="$TL" -v z="$T0" -v m="$*" 'BEGIN{printf "[+%6.1fs %6.1fs] %s\n", t-l, t-z, m}'; TL=$t; }
since() { awk -v t="$(date +%s.%N)" -v s="$1" 'BEGIN{printf "%.1fs", t-s}'; }
note() { echo "$*" >>"$RUN/.step-note"; echo "NOTE: $*"; }        # shown on the step's progress line
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true; }
owned_by_lab() { # PID: the process refers to this lab's run dir (cmdline or environment)
  { tr '\0' '\n' </proc/"$1"/cmdline; tr '\0' '\n' </proc/"$1"/environ; } 2>/dev/null | grep -qF -- "$RUN/"; }
port_free_or_ours() { # port_free_or_ours PORT NAME: ok if free; an orphan of this lab (its leader died,
  # pidfile lost) is stopped; a foreign listener is an error
  local o; o=$(port_owner "$1"); [ -z "$o" ] && return 0
  if owned_by_lab "$o"; then
    echo "port $1: stopping orphaned lab process $o ($(tr '\0' ' ' </proc/"$o"/cmdline | cut -c1-80))"
    kill -TERM "$o" 2>/dev/null; wait_for 20 "orphan $o to exit" bash -c "! kill -0 $o 2>/dev/null || grep -q '^State:.*Z' /proc/$o/status"
    alive "$o" && kill -KILL "$o"; sleep 0.5; return 0
  fi
  echo "port 127.0.0.1:$1 is held by pid $o ($(tr '\0' ' ' </proc/"$o"/cmdline | cut -c1-100)), not by this lab's $2" >&2
  return 1; }
render() { # render TEMPLATE(.in) -> $RUN/etc/NAME
  sed -e "s#@RUN@#$RUN#g; s#@HOST@#$HOST#g; s#@NEUTRON_PORT@#$NEUTRON_PORT#g; s#@DB_PORT@#$DB_PORT#g" \
      -e "s#@AMQP_PORT@#$AMQP_PORT#g; s#@SHIM_DIR@#$NLAB/bin#g" "$NLAB/etc/$1.in" >"$RUN/etc/$1"; }
MY() { echo "--defaults-file=$RUN/etc/my.cnf"; }
api_up() { curl -sf -o /dev/null -m 5 "$NEUTRON_URL/v2.0/networks"; }
agent_alive() { curl -sf -m 5 "$NEUTRON_URL/v2.0/agents?agent_type=Linux%20bridge%20agent&host=$HOST" |
  jq -e '[.agents[]|select(.alive)]|length>0' >/dev/null; }
rabbit_up() { rabbitmqctl -q status >/dev/null 2>&1; }

# step NAME FUNC [ARGS...]: run FUNC in a subshell with `set -e`, output to $LOGDIR/step-NAME.log;
# print one progress line; on failure print the step name, its log and the log's tail, then exit 1.
CUR_STEP=
step() { local name=$1; shift; local log=$LOGDIR/step-$name.log; CUR_STEP=$name
  : >"$RUN/.step-note"
  ( set -euo pipefail; "$@" ) >"$log" 2>&1
  local rc=$?
  if [ $rc != 0 ]; then
    echo "FAILED: step '$name' (exit $rc) - log: $log" >&2
    tail -n 25 "$log" | sed 's/^/    | /' >&2
    fail_exit 1
  fi
  local n; n=$(paste -sd';' "$RUN/.step-note" 2>/dev/null)
  mark "$name${n:+ ($n)}"; }

# ------------------------------------------------------------------ kube part (background)
KUBE_PID= ; TAIL_PID= ; KUBE_T0=
kube_start() {
  if [ "${LAB_SKIP_KUBE:-0}" = 1 ]; then mark "kube part SKIPPED (LAB_SKIP_KUBE=1: developer only)"; return; fi
  if [ ! -f "$KUBE_SH" ]; then mark "kube part missing ($KUBE_SH): will fail at the end"; return; fi
  KUBE_T0=$(date +%s.%N)
  rm -f "$LOGDIR/kube-up.end"
  setsid bash -c 'bash "$1" up; rc=$?; date +%s.%N >"$2"; exit $rc' kube-up "$KUBE_SH" "$LOGDIR/kube-up.end" \
    >"$LOGDIR/kube-up.log" 2>&1 </dev/null & KUBE_PID=$!
  echo "$KUBE_PID $(starttime "$KUBE_PID")" >"$PIDDIR/kube-up"
  # stream its progress (prefixed) while the Neutron steps run; tail exits when kube.sh does
  tail -n +1 -F --pid="$KUBE_PID" "$LOGDIR/kube-up.log" 2>/dev/null |
    sed -u -e '/^\[kube\]/!s/^/[kube] /' -e 's/^/            /' &
  TAIL_PID=$!
  mark "kube part started in background: bash tools/lab/kube/kube.sh up (log $LOGDIR/kube-up.log)"; }
kube_wait() { # -> 0 ok, 1 failed / missing
  if [ "${LAB_SKIP_KUBE:-0}" = 1 ]; then return 0; fi
  if [ ! -f "$KUBE_SH" ]; then
    echo "FAILED: step 'kube' - kube part missing: $KUBE_SH does not exist (tools/lab/kube is written" \
         "separately; developers can run LAB_SKIP_KUBE=1 to test the Neutron part alone)" >&2
    return 1; fi
  [ -n "$KUBE_PID" ] || return 1
  wait "$KUBE_PID"; local rc=$?; KUBE_PID=
  [ -n "$TAIL_PID" ] && { wait "$TAIL_PID" 2>/dev/null; TAIL_PID=; }
  rm -f "$PIDDIR/kube-up"
  if [ $rc != 0 ]; then
    echo "FAILED: step 'kube' (kube.sh up exit $rc after $(since "$KUBE_T0")) - log: $LOGDIR/kube-up.log" >&2
    return 1; fi
  if [ ! -s "$KUBE_ENV" ]; then
    echo "FAILED: step 'kube' - kube.sh up succeeded but did not write $KUBE_ENV" >&2; return 1; fi
  local took; took=$(awk -v e="$(cat "$LOGDIR/kube-up.end" 2>/dev/null)" -v s="$KUBE_T0" 'BEGIN{printf "%.1fs", e-s}')
  mark "kube part up (kube.sh up took $took, in parallel)"; }
fail_exit() { # on a failed step: let a running kube.sh finish (it may be inside apt/dpkg), then exit
  if [ -n "$KUBE_PID" ] && alive "$KUBE_PID"; then
    echo "waiting for the background kube.sh up to finish before exiting (log $LOGDIR/kube-up.log)" >&2
    wait "$KUBE_PID" 2>/dev/null; fi
  [ -n "$TAIL_PID" ] && wait "$TAIL_PID" 2>/dev/null
  rm -f "$PIDDIR/kube-up"
  echo "lab up FAILED at step '${CUR_STEP:-?}' after $(since "$T0"); fix and re-run 'lab.sh up' (it resumes)." >&2
  exit "${1:-1}"; }
on_signal() {
  echo "interrupted" >&2
  [ -n "$KUBE_PID" ] && alive "$KUBE_PID" && kill -TERM -- "-$KUBE_PID" 2>/dev/null
  exit 130; }

# ------------------------------------------------------------------ up steps
s_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} = 0 ]; then note "all installed"; return 0; fi
  # keep maintainer scripts from starting daemons (Debian docker images already ship this file)
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
             -o Dpkg::Options::=--force-confold)
  dpkg --configure -a || true          # recover from an interrupted earlier install
  local i
  for i in 1 2 3; do "${apt[@]}" update -qq && break; sleep 5; done   # the kube part may run apt too
  for i in 1 2 3; do
    "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" && break
    [ $i = 3 ] && return 1; sleep 5; dpkg --configure -a || true
  done
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  note "installed ${missing[*]}"
}

mkveth() { # mkveth HOST_END PEER_END NETNS : (re)create if either end is missing
  if [ -e "/sys/class/net/$1" ] && ip -n "$3" link show "$2" >/dev/null 2>&1; then return 0; fi
  ip link del "$1" 2>/dev/null || true; ip -n "$3" link del "$2" 2>/dev/null || true
  ip link add "$1" type veth peer name "$2"
  ip link set "$2" netns "$3"; }
s_network() {
  local ns
  for ns in nlab-underlay nlab-phys nlab-mphys; do
    [ -e "/run/netns/$ns" ] || ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  mkveth nlab-ul0 nlab-ul1 nlab-underlay          # VXLAN underlay: this host's VTEP + a "remote" one
  ip addr replace 172.31.254.1/30 dev nlab-ul0
  ip -n nlab-underlay addr replace 172.31.254.2/30 dev nlab-ul1
  mkveth nlab-phys0 nlab-phys1 nlab-phys           # physnet1 trunk NIC + "a host on the physical net"
  ip -n nlab-phys addr replace 10.20.0.254/24 dev nlab-phys1
  ip -n nlab-phys addr replace fd00:20::fe/64 dev nlab-phys1 nodad
  ip link set nlab-ul0 up; ip link set nlab-phys0 up
  ip -n nlab-underlay link set nlab-ul1 up; ip -n nlab-phys link set nlab-phys1 up
  # a second physnet1 NIC for the macvlan datapath (nlab-phys0 is a bridge port
  # under linuxbridge, and a macvlan cannot sit on a bridge port)
  mkveth nlab-mv0 nlab-mv1 nlab-mphys
  ip -n nlab-mphys addr replace 10.20.0.253/24 dev nlab-mv1
  ip link set nlab-mv0 up; ip -n nlab-mphys link set nlab-mv1 up
  ip -o addr show dev nlab-ul0; ip -n nlab-phys -o addr show dev nlab-phys1
}

s_rabbit_start() { # started early, waited for in s_neutron (boot takes ~10-13 s)
  if lab_pid rabbitmq >/dev/null; then note "already running"; return 0; fi
  port_free_or_ours "$AMQP_PORT" rabbitmq
  # queues are transient for the lab: start from an empty mnesia so a crashed earlier run can't bite
  rm -rf "$RUN/rabbit"; mkdir -p "$RUN/rabbit"; chown rabbitmq:rabbitmq "$RUN/rabbit"
  local had_epmd=0; [ -n "$(port_owner 4369)" ] && had_epmd=1
  : >"$LOGDIR/rabbitmq.out"
  daemon rabbitmq "$LOGDIR/rabbitmq.out" env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$AMQP_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_MNESIA_BASE="$RUN/rabbit/mnesia" RABBITMQ_LOG_BASE="$RUN/rabbit/log" \
    /usr/sbin/rabbitmq-server
  echo "$had_epmd" >"$RUN/rabbit/.had-epmd"
  note "starting"
}

s_mariadb() {
  render my.cnf
  if mariadb-admin "$(MY)" ping >/dev/null 2>&1; then
    note "already running"
  else
    port_free_or_ours "$DB_PORT" mariadbd
    if [ ! -f "$RUN/mysql/.installed" ]; then       # no datadir, or an interrupted install: redo
      rm -rf "$RUN/mysql"; mkdir -p "$RUN/mysql/data"; chown -R mysql:mysql "$RUN/mysql"
      mariadb-install-db "$(MY)" --auth-root-authentication-method=socket --skip-test-db \
        >"$LOGDIR/mariadb-install-db.log" 2>&1
      touch "$RUN/mysql/.installed"; note "datadir initialised"
    fi
    daemon mariadbd "$LOGDIR/mariadbd.out" /usr/sbin/mariadbd "$(MY)"
    wait_for 60 mariadbd mariadb-admin "$(MY)" ping; note "started"
  fi
  # the neutron DB is only trusted once its schema load completed (marker in the datadir)
  if [ ! -f "$RUN/mysql/.neutron-schema-ok" ]; then
    mariadb "$(MY)" -e "DROP DATABASE IF EXISTS neutron; CREATE DATABASE neutron;
      CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutron';
      GRANT ALL ON neutron.* TO 'neutron'@'127.0.0.1';"
    local ver dump; ver=$(dpkg-query -W -f='${Version}' neutron-common | tr ':~+' '___')
    dump=$CACHE/neutron-schema-$ver.sql
    if [ -s "$dump" ]; then              # ~2 s instead of ~10-15 s of alembic migrations
      mariadb "$(MY)" neutron <"$dump"; note "schema from cache $dump"
    else
      render neutron.conf; render ml2_conf.ini
      neutron-db-manage --config-file="$RUN/etc/neutron.conf" --config-file="$RUN/etc/ml2_conf.ini" \
        upgrade heads >"$LOGDIR/neutron-db-manage.log" 2>&1
      mkdir -p "$CACHE"
      mariadb-dump "$(MY)" --skip-comments --single-transaction neutron >"$dump.tmp.$$"
      mv -f "$dump.tmp.$$" "$dump"; note "neutron-db-manage upgrade heads, cached to $dump"
    fi
    touch "$RUN/mysql/.neutron-schema-ok"
  fi
}

s_neutron() {
  render neutron.conf; render ml2_conf.ini; render linuxbridge_agent.ini
  if ! lab_pid neutron-server >/dev/null; then
    port_free_or_ours "$NEUTRON_PORT" neutron-server
    daemon neutron-server "$LOGDIR/neutron-server.out" neutron-server \
      --config-file="$RUN/etc/neutron.conf" --config-file="$RUN/etc/ml2_conf.ini" \
      --log-file="$LOGDIR/neutron-server.log"
    note "server started"
  fi
  if ! lab_pid lb-agent >/dev/null; then
    daemon lb-agent "$LOGDIR/lb-agent.out" neutron-linuxbridge-agent \
      --config-file="$RUN/etc/neutron.conf" --config-file="$RUN/etc/linuxbridge_agent.ini" \
      --log-file="$LOGDIR/lb-agent.log"
    note "agent started"
  fi
  # server and agent retry until the broker is up, so everything boots concurrently
  wait_for 120 "rabbitmq (rabbitmqctl status; log $LOGDIR/rabbitmq.out)" rabbit_up
  if [ -f "$RUN/rabbit/.had-epmd" ] && [ "$(cat "$RUN/rabbit/.had-epmd")" = 0 ] && [ ! -f "$PIDDIR/epmd" ]; then
    local e; e=$(port_owner 4369)            # epmd daemonises out of rabbit's process group
    [ -n "$e" ] && echo "$e $(starttime "$e")" >"$PIDDIR/epmd"
  fi
  echo "rabbitmq up"
  wait_for 120 "neutron-server API ($NEUTRON_URL; log $LOGDIR/neutron-server.log)" api_up
  echo "neutron API up"
  local ext; ext=$(curl -sf "$NEUTRON_URL/v2.0/extensions" | jq -r '.extensions[].alias')
  for a in standard-attr-tag standard-attr-description binding port-security security-group provider; do
    grep -qx -- "$a" <<<"$ext" || { echo "neutron extension '$a' missing" >&2; return 1; }
  done
  echo "extensions ok"
  wait_for 120 "linuxbridge agent alive for host $HOST (log $LOGDIR/lb-agent.log)" agent_alive
  echo "agent alive"
}

s_fixtures() {
  $PY "$LAB/fixtures.py" --url "$NEUTRON_URL" --out "$RUN/fixtures.env"
}

write_env() { # atomically: the file's existence means "lab up"
  local tmp=$ENV_FILE.tmp.$$
  {
    echo "# written by tools/lab/lab.sh up at $(date -Is); sourced by tests (tests/labsupport.py)"
    echo "export SKYNET_NEUTRON_URL=$NEUTRON_URL"
    echo "export SKYNET_NODE_NAME=$HOST"
    echo "export SKYNET_TRUNK_NIC=nlab-phys0"
    echo "export SKYNET_TUNNEL_NIC=nlab-ul0"
    echo "export SKYNET_TUNNEL_IP=172.31.254.1"
    echo "export SKYNET_PHYS_NETNS=nlab-phys"
    echo "export SKYNET_PHYS_HOST_IP=10.20.0.254"
    echo "export SKYNET_PHYS_HOST_IP6=fd00:20::fe"
    echo "export SKYNET_MACVLAN_NIC=nlab-mv0"
    echo "export SKYNET_MACVLAN_NETNS=nlab-mphys"
    echo "export SKYNET_MACVLAN_HOST_IP=10.20.0.253"
    echo "export SKYNET_LAB_RUN=$RUN"
    cat "$RUN/fixtures.env"
    if [ "${LAB_SKIP_KUBE:-0}" != 1 ]; then
      echo "# --- from $KUBE_ENV (tools/lab/kube/kube.sh)"
      grep -E '^(export )?[A-Za-z_][A-Za-z0-9_]*=' "$KUBE_ENV" | sed -E 's/^(export )?/export /'
    fi
  } >"$tmp" && mv -f "$tmp" "$ENV_FILE"; }

do_up() {
  [ "$(id -u)" = 0 ] || { echo "lab.sh must run as root" >&2; exit 1; }
  mkdir -p "$LOGDIR" "$PIDDIR" "$RUN/etc" "$RUN/lock" "$RUN/state"
  rm -f "$ENV_FILE"
  trap on_signal INT TERM
  echo "skynet lab up: state in $STATE, logs in $LOGDIR"
  if [ -n "$(lab_pid kube-up)" ]; then
    echo "FAILED: another 'kube.sh up' started by lab.sh is still running (pid $(lab_pid kube-up))" >&2; exit 1; fi
  kube_start
  [ "${NO_INSTALL:-0}" = 1 ] || step packages s_packages
  step network s_network
  step rabbitmq-start s_rabbit_start
  step mariadb s_mariadb
  step neutron s_neutron
  step fixtures s_fixtures
  CUR_STEP=kube
  kube_wait || fail_exit 1
  write_env
  mark "lab up: $(grep -c '^export' "$ENV_FILE") variables in $ENV_FILE"
  # optional parts, each beside the core lab (they read .lab/env)
  if [ "${LAB_OVS:-0}" = 1 ]; then step ovs s_ovs; fi
  if [ "${LAB_KEYSTONE:-0}" = 1 ]; then step keystone s_keystone; fi
  mark "done (LAB_OVS=${LAB_OVS:-0} LAB_OVN=${LAB_OVN:-0} LAB_KEYSTONE=${LAB_KEYSTONE:-0})"
}
s_ovs() { LAB_OVN=${LAB_OVN:-0} bash "$LAB/ovs.sh" up </dev/null; }
s_keystone() { bash "$LAB/keystone.sh" up </dev/null; }
optional_down() { # the optional parts go first: they use MariaDB, RabbitMQ and the nlab-* netns
  local part
  for part in ovs keystone; do
    if [ -f "$STATE/$part.env" ] || [ -d "$RUN/$part" ] || [ -d "$STATE/$part" ]; then
      [ -f "$LAB/$part.sh" ] && bash "$LAB/$part.sh" down </dev/null 2>&1 | sed -u -e "s/^/[$part] /"
    fi
  done; }

# ------------------------------------------------------------------ down
summary() {
  local pids=0 n
  for n in "$PIDDIR"/*; do [ -f "$n" ] && lab_pid "$(basename "$n")" >/dev/null && pids=$((pids + 1)); done
  printf '%s: links=%s netns=%s nlab-links=%s iptables-neutron=%s ip6tables-neutron=%s ebtables-neutron=%s ipsets=%s NI-ipsets=%s lab-pids=%s\n' \
    "$1" "$(ip -o link | wc -l)" "$(ip netns list | wc -l)" \
    "$(ip -o link | awk -F': ' '{print $2}' | grep -cE '^(nlab-|brq|vxlan-|tap)')" \
    "$(iptables-save 2>/dev/null | grep -c neutron)" "$(ip6tables-save 2>/dev/null | grep -c neutron)" \
    "$( (ebtables -t nat -L; ebtables -t filter -L) 2>/dev/null | grep -c neutron)" \
    "$(ipset list -n 2>/dev/null | wc -l)" "$(ipset list -n 2>/dev/null | grep -c '^NI')" "$pids"; }
do_down() {
  [ "$(id -u)" = 0 ] || { echo "lab.sh must run as root" >&2; exit 1; }
  mkdir -p "$PIDDIR"
  summary "before"
  rm -f "$ENV_FILE"
  optional_down
  # test/pod netns first: their veths vanish with them while the agent still runs
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(skynet-test-|nlab-pod-)'); do ip netns del "$ns"; done
  stop_pid kube-up 5
  stop_pid lb-agent
  # (the agent's privsep-helper daemons are re-parented to PID 1 but stay in its process group)
  stop_pid neutron-server 30
  if lab_pid rabbitmq >/dev/null; then rabbitmqctl -q stop >/dev/null 2>&1; fi
  stop_pid rabbitmq 30
  stop_pid epmd 5
  if pid=$(lab_pid mariadbd); then mariadb-admin "$(MY)" shutdown 2>/dev/null && echo "mariadb-admin shutdown ($pid)"; fi
  stop_pid mariadbd 30
  mark "neutron processes stopped"
  if [ "${LAB_SKIP_KUBE:-0}" != 1 ]; then
    if [ -f "$KUBE_SH" ]; then
      local t=$(date +%s.%N)
      bash "$KUBE_SH" down </dev/null 2>&1 | sed -u -e '/^\[kube\]/!s/^/[kube] /' -e 's/^/            /'
      mark "kube.sh down (exit ${PIPESTATUS[0]}, $(since "$t"))"
    else echo "kube part missing ($KUBE_SH): nothing to stop there"; fi
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^nlab-'); do ip netns del "$ns"; done
  local l
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^nlab-'); do ip link del "$l" 2>/dev/null; done
  bash "$NLAB/clean-host.sh"
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$RUN/mysql" "$RUN/rabbit" "$RUN/state"; fi
  rm -f "$RUN/fixtures.env"
  mark "links, netns, neutron chains and ipsets removed"
  summary "after "
  local left; left=$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/' | grep -F -- "$RUN" | grep -v -e grep -e "lab.sh" || true)
  [ -n "$left" ] && { echo "WARNING: processes still referring to $RUN:"; echo "$left"; }
  echo "lab down"
}

# ------------------------------------------------------------------ status
do_status() {
  local ok=0 n pid
  for n in mariadbd rabbitmq epmd neutron-server lb-agent kube-up; do
    [ -f "$PIDDIR/$n" ] || { [ "$n" = epmd ] || [ "$n" = kube-up ] || { echo "  $n: not started"; ok=1; }; continue; }
    if pid=$(lab_pid "$n"); then echo "  $n: running (pid $pid)"
    else echo "  $n: DEAD (pidfile $PIDDIR/$n)"; ok=1; fi
  done
  if api_up; then echo "  neutron API: answering at $NEUTRON_URL"; else echo "  neutron API: NOT answering"; ok=1; fi
  if agent_alive; then echo "  linuxbridge agent (host $HOST): alive"; else echo "  linuxbridge agent (host $HOST): NOT alive"; ok=1; fi
  for n in nlab-underlay nlab-phys nlab-mphys; do [ -e "/run/netns/$n" ] && echo "  netns $n: present" || { echo "  netns $n: missing"; ok=1; }; done
  if [ "${LAB_SKIP_KUBE:-0}" = 1 ]; then echo "  kube: skipped (LAB_SKIP_KUBE=1)"
  elif [ -f "$KUBE_SH" ]; then
    bash "$KUBE_SH" status </dev/null 2>&1 | sed -e '/^\[kube\]/!s/^/[kube] /' -e 's/^/  /'; [ "${PIPESTATUS[0]}" = 0 ] || ok=1
  else echo "  kube: part missing ($KUBE_SH)"; ok=1; fi
  local part
  for part in ovs keystone; do     # optional parts: reported when they were brought up
    [ -f "$STATE/$part.env" ] || continue
    bash "$LAB/$part.sh" status </dev/null 2>&1 | sed -e "s/^/  [$part] /"; [ "${PIPESTATUS[0]}" = 0 ] || ok=1
  done
  if [ -f "$ENV_FILE" ]; then echo "  env: $ENV_FILE ($(grep -c '^export' "$ENV_FILE") variables)"
  else echo "  env: $ENV_FILE absent (lab not up)"; ok=1; fi
  [ $ok = 0 ] && echo "lab status: UP" || echo "lab status: NOT (fully) up"
  return $ok
}

case "${1:-up}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  *) echo "usage: $0 [up|down|status]" >&2; exit 2 ;;
esac
