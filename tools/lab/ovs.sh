#!/bin/bash
# The lab's Open vSwitch part (behind an option of lab.sh: LAB_OVS=1, plus LAB_OVN=1 for OVN).
# Runs on top of a lab that is up (tools/lab/lab.sh up): it reuses that lab's MariaDB, RabbitMQ and
# rendered neutron.conf, and adds
#   * ovsdb-server + ovs-vswitchd (userspace datapath: bridges have datapath_type=netdev, this kernel
#     has no openvswitch module), DB in .lab/run/ovs/conf.db, socket /var/run/openvswitch/db.sock,
#     plus ptcp:6640 on 127.0.0.1 for the agent;
#   * br-phys with veth nlab-ophys0, whose peer nlab-ophys1 lives in the lab's physical netns
#     nlab-phys and holds 10.20.0.253 (answered through a source-policy route, so that the
#     linuxbridge path's 10.20.0.254 on nlab-phys1 keeps its routing);
#   * underlay veth nlab-ul2 172.31.253.1/30, peer nlab-ul3 172.31.253.2 in netns nlab-underlay;
#   * neutron-openvswitch-agent, host "<hostname>-ovs", datapath_type netdev, firewall openvswitch,
#     vxlan + l2population, bridge_mappings physnet1:br-phys, registered with the main neutron-server;
#   * with LAB_OVN=1: OVN NB/SB + ovn-northd (tcp 127.0.0.1:6641/6642), ovn-controller (chassis
#     "<hostname>", integration bridge br-ovn, netdev) and a 2nd neutron-server with the OVN mechanism
#     driver on 127.0.0.1:9697 using its own database neutron_ovn in the lab's MariaDB;
#   * the Neutron fixtures of tools/lab/ovs/fixtures.py, and .lab/ovs.env for the tests.
#
#   ovs.sh up | down | status        (root; LAB_OVN=1 for the OVN part; NO_INSTALL=1 skips apt)
#
# `down` stops and removes only what `up` made (recorded under .lab/run/ovs): an Open vSwitch that was
# already running is used but never stopped. Run `down` before lab.sh down (lab.sh down deletes the
# nlab-* namespaces; the daemons here would keep running).
set -uo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)          # <repo>/tools/lab
REPO=$(cd "$LAB/../.." && pwd)
STATE=$REPO/.lab
RUN=$STATE/run
OVS_RUN=$RUN/ovs
LOGDIR=$RUN/log
PIDDIR=$OVS_RUN/pids
. "$LAB/lib/proc.sh"   # alive, lab_pid, daemon, wait_for, stop_pid
ETC=$RUN/etc/ovs
TPL=$LAB/ovs
ENV_FILE=$STATE/ovs.env
LAB_ENV=$STATE/env
CACHE=${LAB_CACHE:-/var/cache/skynet-lab}
HOST=$(hostname)
OVS_HOST=$HOST-ovs
LAB_OVN=${LAB_OVN:-0}
NEUTRON_PORT=${NEUTRON_PORT:-9696}
NEUTRON_OVN_PORT=${NEUTRON_OVN_PORT:-9697}
DB_PORT=${DB_PORT:-3306}
OVSDB_TCP_PORT=${OVSDB_TCP_PORT:-6640}
NEUTRON_URL=http://127.0.0.1:$NEUTRON_PORT
OVN_URL=http://127.0.0.1:$NEUTRON_OVN_PORT
OVS_SOCK=/var/run/openvswitch/db.sock
OVN_CTL=/usr/share/ovn/scripts/ovn-ctl
PHYS_NS=nlab-phys
PHYS_IP=10.20.0.253
PHYS_TABLE=1020                  # policy-routing table in nlab-phys for $PHYS_IP
PY=/usr/bin/python3
export DEBIAN_FRONTEND=noninteractive
VSCTL=(ovs-vsctl --timeout=10 --db=unix:$OVS_SOCK)

T0=$(date +%s.%N); TL=$T0
mark() { local t; t=$(date +%s.%N)
  awk -v t="$t" -v l="$TL" -v z="$T0" -v m="$*" 'BEGIN{printf "[+%6.1fs %6.1fs] %s\n", t-l, t-z, m}'; TL=$t; }
render() { # render TEMPLATE.in -> $ETC/TEMPLATE
  sed -e "s#@RUN@#$RUN#g; s#@OVS_HOST@#$OVS_HOST#g; s#@NEUTRON_OVN_PORT@#$NEUTRON_OVN_PORT#g" \
      -e "s#@DB_PORT@#$DB_PORT#g; s#@OVSDB_TCP_PORT@#$OVSDB_TCP_PORT#g; s#@SHIM_DIR@#$LAB/neutron/bin#g" \
      "$TPL/$1.in" >"$ETC/$1"; }
made() { touch "$OVS_RUN/made.$1"; }          # remember what up created, for down
did_make() { [ -e "$OVS_RUN/made.$1" ]; }
MY() { echo "--defaults-file=$RUN/etc/my.cnf"; }
ovsdb_up() { "${VSCTL[@]}" show >/dev/null 2>&1; }
api_up() { curl -sf -o /dev/null -m 5 "$1/v2.0/networks"; }
agent_alive() { curl -sf -m 5 "$NEUTRON_URL/v2.0/agents?agent_type=Open%20vSwitch%20agent&host=$OVS_HOST" |
  jq -e '[.agents[]|select(.alive)]|length>0' >/dev/null; }
chassis_up() { ovn-sbctl --timeout=3 --db=tcp:127.0.0.1:6642 --bare --columns=name list Chassis | grep -qx "$HOST"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# ------------------------------------------------------------------ up
s_packages() {
  local want=(openvswitch-switch neutron-openvswitch-agent tcpdump ethtool jq curl) missing=() p
  [ "$LAB_OVN" = 1 ] && want+=(ovn-central ovn-host)
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && { mark "packages: all installed"; return 0; }
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then     # keep maintainer scripts from starting the daemons
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
             -o Dpkg::Options::=--force-confold) i ok=0
  for i in 1 2 3; do "${apt[@]}" update -qq && break; sleep 5; done
  for i in 1 2 3; do
    "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >"$LOGDIR/ovs-apt.log" 2>&1 && { ok=1; break; }
    sleep 5; dpkg --configure -a || true
  done
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $ok = 1 ] || fail "apt-get install ${missing[*]} (log $LOGDIR/ovs-apt.log)"
  mark "packages: installed ${missing[*]}"
}

mkveth() { # mkveth HOST_END PEER_END NETNS : (re)create if either end is missing
  if [ -e "/sys/class/net/$1" ] && ip -n "$3" link show "$2" >/dev/null 2>&1; then return 0; fi
  ip link del "$1" 2>/dev/null || true; ip -n "$3" link del "$2" 2>/dev/null || true
  ip link add "$1" type veth peer name "$2" && ip link set "$2" netns "$3"; }
s_network() {
  local ns
  for ns in nlab-underlay "$PHYS_NS"; do
    [ -e "/run/netns/$ns" ] || fail "netns $ns missing: is the lab up (tools/lab/lab.sh up)?"; done
  mkveth nlab-ul2 nlab-ul3 nlab-underlay || fail "veth nlab-ul2"
  ip addr replace 172.31.253.1/30 dev nlab-ul2
  ip -n nlab-underlay addr replace 172.31.253.2/30 dev nlab-ul3
  mkveth nlab-ophys0 nlab-ophys1 "$PHYS_NS" || fail "veth nlab-ophys0"
  ip link set nlab-ul2 up; ip link set nlab-ophys0 up
  ip -n nlab-underlay link set nlab-ul3 up; ip -n "$PHYS_NS" link set nlab-ophys1 up
  # 10.20.0.253 answers on nlab-ophys1 only: /32 (no connected route that would compete with
  # nlab-phys1's 10.20.0.0/24) + "from 10.20.0.253 lookup $PHYS_TABLE" for the replies
  ip -n "$PHYS_NS" addr replace $PHYS_IP/32 dev nlab-ophys1
  ip -n "$PHYS_NS" route replace 10.20.0.0/24 dev nlab-ophys1 src $PHYS_IP table $PHYS_TABLE ||
    fail "route 10.20.0.0/24 table $PHYS_TABLE in $PHYS_NS"
  ip -n "$PHYS_NS" rule show | grep -q "from $PHYS_IP lookup $PHYS_TABLE" ||
    ip -n "$PHYS_NS" rule add from $PHYS_IP lookup $PHYS_TABLE priority 100
  ip netns exec "$PHYS_NS" sysctl -qw net.ipv4.conf.nlab-ophys1.rp_filter=0
  if [ "$LAB_OVN" = 1 ]; then
    mkveth nlab-ovphys0 nlab-ovphys1 "$PHYS_NS" || fail "veth nlab-ovphys0"
    ip link set nlab-ovphys0 up; ip -n "$PHYS_NS" link set nlab-ovphys1 up
  fi
  mark "network: nlab-ul2 172.31.253.1/30, nlab-ophys0 <-> $PHYS_NS/nlab-ophys1 $PHYS_IP"
}

s_ovs() {
  mkdir -p /var/run/openvswitch
  if ovsdb_up; then
    lab_pid ovsdb-server >/dev/null && { mark "ovs: already running (ours)"; return 0; }
    lab_pid ovs-vswitchd >/dev/null || echo "NOTE: using an Open vSwitch that ovs.sh did not start"
    mark "ovs: using the running ovsdb-server"; return 0
  fi
  [ -s "$OVS_RUN/conf.db" ] || ovsdb-tool create "$OVS_RUN/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  daemon ovsdb-server "$LOGDIR/ovsdb-server.out" ovsdb-server "$OVS_RUN/conf.db" \
    --remote=punix:$OVS_SOCK --remote=ptcp:$OVSDB_TCP_PORT:127.0.0.1 \
    --pidfile=/var/run/openvswitch/ovsdb-server.pid --log-file="$LOGDIR/ovsdb-server.log"
  wait_for 20 "ovsdb-server ($LOGDIR/ovsdb-server.log)" test -S $OVS_SOCK || exit 1
  "${VSCTL[@]}" --no-wait init
  "${VSCTL[@]}" --no-wait set Open_vSwitch . external_ids:hostname="$HOST" external_ids:system-id="$HOST"
  daemon ovs-vswitchd "$LOGDIR/ovs-vswitchd.out" ovs-vswitchd unix:$OVS_SOCK \
    --pidfile=/var/run/openvswitch/ovs-vswitchd.pid --log-file="$LOGDIR/ovs-vswitchd.log"
  wait_for 20 "ovs-vswitchd ($LOGDIR/ovs-vswitchd.log)" ovs-appctl -t ovs-vswitchd version || exit 1
  mark "ovs: ovsdb-server + ovs-vswitchd up (userspace datapath)"
}

s_ovs_agent() {
  render openvswitch_agent.ini
  "${VSCTL[@]}" -- --may-exist add-br br-phys -- set Bridge br-phys datapath_type=netdev \
    -- --may-exist add-port br-phys nlab-ophys0
  made bridge-br-phys
  if ! lab_pid ovs-agent >/dev/null; then
    daemon ovs-agent "$LOGDIR/ovs-agent.out" neutron-openvswitch-agent \
      --config-file="$RUN/etc/neutron.conf" --config-file="$ETC/openvswitch_agent.ini" \
      --log-file="$LOGDIR/ovs-agent.log"
  fi
  wait_for 120 "Open vSwitch agent alive for host $OVS_HOST (log $LOGDIR/ovs-agent.log)" agent_alive || exit 1
  # the agent makes br-int (netdev); wait for it so skynet's validate() finds it
  wait_for 60 "br-int" "${VSCTL[@]}" br-exists br-int || exit 1
  mark "neutron-openvswitch-agent alive (host $OVS_HOST)"
}

s_ovn() {
  mkdir -p "$OVS_RUN/ovn" "$OVS_RUN/ovn-state" "$OVS_RUN/ovn-lock"
  if ! ovn-nbctl --timeout=2 --db=tcp:127.0.0.1:6641 show >/dev/null 2>&1; then
    "$OVN_CTL" --db-nb-addr=127.0.0.1 --db-sb-addr=127.0.0.1 --db-nb-create-insecure-remote=yes \
      --db-sb-create-insecure-remote=yes --db-nb-file="$OVS_RUN/ovn/ovnnb_db.db" \
      --db-sb-file="$OVS_RUN/ovn/ovnsb_db.db" start_northd </dev/null >"$LOGDIR/ovn-northd-start.log" 2>&1 ||
      fail "ovn-ctl start_northd (log $LOGDIR/ovn-northd-start.log)"
    made northd
  fi
  "${VSCTL[@]}" set Open_vSwitch . external_ids:ovn-remote=tcp:127.0.0.1:6642 \
    external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=172.31.253.1 \
    external_ids:ovn-bridge=br-ovn external_ids:ovn-bridge-datapath-type=netdev \
    external_ids:ovn-bridge-mappings=physnet1:br-ovnphys
  "${VSCTL[@]}" -- --may-exist add-br br-ovnphys -- set Bridge br-ovnphys datapath_type=netdev \
    -- --may-exist add-port br-ovnphys nlab-ovphys0
  made bridge-br-ovnphys
  if ! "$OVN_CTL" status_controller >/dev/null 2>&1; then
    "$OVN_CTL" start_controller </dev/null >"$LOGDIR/ovn-controller-start.log" 2>&1 ||
      fail "ovn-ctl start_controller (log $LOGDIR/ovn-controller-start.log)"
    made controller
  fi
  wait_for 30 "OVN chassis $HOST" chassis_up || exit 1
  # neutron Zed's OVN driver reads the chassis' physnets from Chassis external_ids, OVN 23.03
  # writes them to other_config only: without this, flat/vlan ports end up binding_failed
  ovn-sbctl --timeout=5 --db=tcp:127.0.0.1:6642 set Chassis "$HOST" \
    external_ids:ovn-bridge-mappings=physnet1:br-ovnphys || fail "chassis bridge mappings"
  wait_for 30 "br-ovn" "${VSCTL[@]}" br-exists br-ovn || exit 1
  mark "ovn: northd + NB/SB (tcp 127.0.0.1:6641/6642), ovn-controller, chassis $HOST"

  # the OVN server's database: its own, in the lab's MariaDB
  if [ ! -f "$OVS_RUN/.neutron-ovn-schema-ok" ]; then
    mariadb "$(MY)" -e "DROP DATABASE IF EXISTS neutron_ovn; CREATE DATABASE neutron_ovn;
      CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutron';
      GRANT ALL ON neutron_ovn.* TO 'neutron'@'127.0.0.1';" || fail "create database neutron_ovn"
    made db
    local ver dump; ver=$(dpkg-query -W -f='${Version}' neutron-common | tr ':~+' '___')
    dump=$CACHE/neutron-schema-$ver.sql
    if [ -s "$dump" ]; then mariadb "$(MY)" neutron_ovn <"$dump" || fail "load $dump"
    else
      neutron-db-manage --config-file="$RUN/etc/neutron.conf" --config-file="$ETC/ml2_conf_ovn.ini" \
        --config-file="$ETC/ovn-server.conf" upgrade heads >"$LOGDIR/neutron-db-manage-ovn.log" 2>&1 ||
        fail "neutron-db-manage (log $LOGDIR/neutron-db-manage-ovn.log)"
    fi
    touch "$OVS_RUN/.neutron-ovn-schema-ok"
  fi
  render ovn-server.conf; render ml2_conf_ovn.ini
  if ! lab_pid neutron-server-ovn >/dev/null; then
    api_up "$OVN_URL" && fail "port $NEUTRON_OVN_PORT answers but not through ovs.sh's neutron-server-ovn"
    daemon neutron-server-ovn "$LOGDIR/neutron-server-ovn.out" neutron-server \
      --config-file="$RUN/etc/neutron.conf" --config-file="$ETC/ml2_conf_ovn.ini" \
      --config-file="$ETC/ovn-server.conf" --log-file="$LOGDIR/neutron-server-ovn.log"
  fi
  wait_for 120 "OVN neutron-server API ($OVN_URL; log $LOGDIR/neutron-server-ovn.log)" api_up "$OVN_URL" || exit 1
  mark "ML2/OVN neutron-server up ($OVN_URL/v2.0)"
}

write_env() {
  local tmp=$ENV_FILE.tmp.$$
  {
    echo "# written by tools/lab/ovs.sh up at $(date -Is); read by tests/e2e/test_openvswitch.py"
    echo "export SKYNET_OVS_NODE_NAME=$OVS_HOST"
    echo "export SKYNET_OVS_BRIDGE=br-int"
    echo "export SKYNET_OVS_PHYS_BRIDGE=br-phys"
    echo "export SKYNET_OVS_PHYS_NETNS=$PHYS_NS"
    echo "export SKYNET_OVS_PHYS_NIC=nlab-ophys1"
    echo "export SKYNET_OVS_PHYS_HOST_IP=$PHYS_IP"
    echo "export SKYNET_OVSDB_CONNECTION=unix:$OVS_SOCK"
    if [ "$LAB_OVN" = 1 ]; then
      echo "export SKYNET_OVN_NEUTRON_URL=$OVN_URL"
      echo "export SKYNET_OVN_NODE_NAME=$HOST"
      echo "export SKYNET_OVN_BRIDGE=br-ovn"
    fi
    cat "$OVS_RUN/fixtures.env"
  } >"$tmp" && mv -f "$tmp" "$ENV_FILE"; }

do_up() {
  [ "$(id -u)" = 0 ] || fail "ovs.sh must run as root"
  [ -f "$LAB_ENV" ] && [ -f "$RUN/etc/neutron.conf" ] ||
    fail "the lab is not up ($LAB_ENV missing): run tools/lab/lab.sh up first"
  api_up "$NEUTRON_URL" || fail "neutron-server at $NEUTRON_URL does not answer"
  mkdir -p "$OVS_RUN" "$PIDDIR" "$ETC" "$LOGDIR"
  rm -f "$ENV_FILE"
  [ "${NO_INSTALL:-0}" = 1 ] || s_packages
  s_network
  s_ovs
  s_ovs_agent
  [ "$LAB_OVN" = 1 ] && s_ovn
  local ovn_args=(); [ "$LAB_OVN" = 1 ] && ovn_args=(--ovn-url "$OVN_URL")
  $PY "$TPL/fixtures.py" --url "$NEUTRON_URL" "${ovn_args[@]}" --out "$OVS_RUN/fixtures.env" \
    2>"$LOGDIR/ovs-fixtures.log" || fail "fixtures (log $LOGDIR/ovs-fixtures.log)"
  mark "fixtures"
  write_env
  mark "ovs part up: $ENV_FILE"
}

# ------------------------------------------------------------------ down
do_down() {
  [ "$(id -u)" = 0 ] || fail "ovs.sh must run as root"
  mkdir -p "$PIDDIR"
  rm -f "$ENV_FILE"
  stop_pid neutron-server-ovn 30
  stop_pid ovs-agent
  if did_make controller; then "$OVN_CTL" stop_controller </dev/null >/dev/null 2>&1; echo "stopped ovn-controller"; fi
  if did_make northd; then "$OVN_CTL" stop_northd </dev/null >/dev/null 2>&1; echo "stopped ovn-northd + NB/SB"; fi
  if did_make db; then mariadb "$(MY)" -e "DROP DATABASE IF EXISTS neutron_ovn" 2>/dev/null &&
    echo "dropped database neutron_ovn"; fi
  rm -f "$OVS_RUN/.neutron-ovn-schema-ok"
  if lab_pid ovsdb-server >/dev/null; then
    # our own Open vSwitch: delete its bridges first (with the userspace datapath each
    # bridge is a tap device that outlives ovs-vswitchd), then stop it and drop its DB
    local b; for b in $("${VSCTL[@]}" list-br 2>/dev/null); do "${VSCTL[@]}" --if-exists del-br "$b"; done
    stop_pid ovs-vswitchd; stop_pid ovsdb-server; rm -f "$OVS_RUN/conf.db" "$OVS_RUN"/.conf.db.~lock~
    for b in ovs-netdev br-int br-tun br-phys br-ovn br-ovnphys; do    # leftovers of a crashed vswitchd
      [ -e "/sys/class/net/$b/tun_flags" ] && ip link del "$b" 2>/dev/null && echo "deleted leftover tap $b"; done
  elif ovsdb_up; then
    local b; for b in br-phys br-ovnphys; do did_make "bridge-$b" && "${VSCTL[@]}" --if-exists del-br "$b"; done
    for b in br-int br-tun br-ovn; do         # made by the agent / ovn-controller we ran
      "${VSCTL[@]}" --if-exists del-br "$b"; done
  fi
  local l; for l in nlab-ul2 nlab-ophys0 nlab-ovphys0; do ip link del "$l" 2>/dev/null && echo "deleted $l"; done
  if [ -e "/run/netns/$PHYS_NS" ]; then
    ip -n "$PHYS_NS" rule del from $PHYS_IP lookup $PHYS_TABLE 2>/dev/null
    ip -n "$PHYS_NS" route flush table $PHYS_TABLE 2>/dev/null
  fi
  rm -f "$OVS_RUN"/made.* "$OVS_RUN/fixtures.env"
  rm -rf "$OVS_RUN/ovn" "$OVS_RUN/ovn-state" "$OVS_RUN/ovn-lock"
  mark "ovs part down"
}

# ------------------------------------------------------------------ status
do_status() {
  local ok=0 n pid
  for n in ovsdb-server ovs-vswitchd ovs-agent neutron-server-ovn; do
    [ "$n" = neutron-server-ovn ] && [ ! -f "$PIDDIR/$n" ] && continue
    if pid=$(lab_pid "$n"); then echo "  $n: running (pid $pid)"
    elif [ -f "$PIDDIR/$n" ]; then echo "  $n: DEAD"; ok=1
    else echo "  $n: not started by ovs.sh"; [ "$n" = ovs-agent ] && ok=1; fi
  done
  if ovsdb_up; then echo "  ovsdb-server: answering at unix:$OVS_SOCK"; else echo "  ovsdb-server: NOT answering"; ok=1; fi
  if agent_alive; then echo "  Open vSwitch agent (host $OVS_HOST): alive"; else echo "  Open vSwitch agent (host $OVS_HOST): NOT alive"; ok=1; fi
  if [ -f "$PIDDIR/neutron-server-ovn" ]; then
    if api_up "$OVN_URL"; then echo "  OVN neutron-server: answering at $OVN_URL"; else echo "  OVN neutron-server: NOT answering"; ok=1; fi
    if chassis_up; then echo "  OVN chassis $HOST: registered"; else echo "  OVN chassis $HOST: missing"; ok=1; fi
  fi
  if [ -f "$ENV_FILE" ]; then echo "  env: $ENV_FILE"; else echo "  env: $ENV_FILE absent"; ok=1; fi
  [ $ok = 0 ] && echo "ovs part: UP" || echo "ovs part: NOT (fully) up"
  return $ok
}

case "${1:-up}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  *) echo "usage: $0 [up|down|status]   (LAB_OVN=1 for OVN)" >&2; exit 2 ;;
esac
