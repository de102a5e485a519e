# Process helpers shared by the lab's scripts (lab.sh, ovs.sh, keystone.sh).
# Source it after setting PIDDIR. Pidfiles hold "pid starttime", so a reused
# pid is never taken for ours; zombies (state Z) count as gone: detached
# daemons are re-parented to PID 1, which reaps them late.

alive() { local s; s=$(awk '/^State:/{print $2}' /proc/"$1"/status 2>/dev/null) && [ "$s" != Z ]; }
starttime() { awk '{print $22}' /proc/"$1"/stat 2>/dev/null; }

# lab_pid NAME -> prints the PID if the recorded process is still the same one and alive
lab_pid() { local f=$PIDDIR/$1 pid st; [ -f "$f" ] || return 1; read -r pid st <"$f" || return 1
  [ -n "$pid" ] && alive "$pid" && [ "$(starttime "$pid")" = "$st" ] && echo "$pid"; }

# daemon NAME LOG CMD... : start detached in its own session/process group; record "pid starttime"
daemon() { local name=$1 log=$2; shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null & local pid=$!
  sleep 0.05; echo "$pid $(starttime "$pid")" >"$PIDDIR/$name"; }

# wait_for SECONDS DESC CMD... : poll CMD until it succeeds
wait_for() { local secs=$1 desc=$2; shift 2; local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$end" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.3; done
  echo "timeout after ${secs}s waiting for $desc" >&2; return 1; }

# descendants PID -> PID and all its descendants (su/setsid children leave the process group)
descendants() {
  ps -eo pid=,ppid= | awk -v r="$1" '{p[$1]=$2} END{k[r]=1; do {c=0; for (x in p) if (!(x in k) && (p[x] in k)) {k[x]=1; c=1}} while (c); for (x in k) print x}'; }

# stop_pid NAME [TIMEOUT]: SIGTERM the process group and every descendant, SIGKILL what is
# left after TIMEOUT seconds
stop_pid() {
  local name=$1 t=${2:-20} pid; pid=$(lab_pid "$name") || { rm -f "$PIDDIR/$name"; return 0; }
  local pg set p left; pg=$(ps -o pgid= -p "$pid" | tr -d ' ')
  set=$( { descendants "$pid"; [ "$pg" = "$pid" ] && ps -eo pid=,pgid= | awk -v g="$pid" '$2==g{print $1}'; } | sort -u)
  if [ "$pg" = "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null; fi
  for p in $set; do kill -TERM "$p" 2>/dev/null; done
  local end=$(( $(date +%s) + t ))
  while :; do
    left=; for p in $set; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    [ "$(date +%s)" -ge "$end" ] && break
    sleep 0.2; done
  if [ -n "$left" ]; then kill -KILL $left 2>/dev/null; echo "stopped $name ($pid), SIGKILL for:$left"
  else echo "stopped $name ($pid, $(wc -w <<<"$set") processes)"; fi
  rm -f "$PIDDIR/$name"; }
