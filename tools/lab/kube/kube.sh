#!/usr/bin/env bash
# skynet lab: a minimal, real Kubernetes control plane (etcd + kube-apiserver)
# on 127.0.0.1, built from pinned Go modules (see go.mod in this directory).
#
#   bash tools/lab/kube/kube.sh [up|down|status]     (default: up)
#
# State lives in <repo>/.lab/kube/ (git-ignored), the environment for tests in
# <repo>/.lab/kube.env, binaries + Go caches in $SKYNET_LAB_CACHE
# (default /var/cache/skynet-lab) so fresh clones on this machine reuse them.
set -euo pipefail

# This machine exports CA-bundle variables that would override --cacert.
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)

K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$HERE/go.mod")
ETCD_VERSION=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$HERE/go.mod")
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" ]] || { echo "kube.sh: cannot read versions from $HERE/go.mod" >&2; exit 2; }

CACHE=${SKYNET_LAB_CACHE:-/var/cache/skynet-lab}
BIN_DIR=$CACHE/kube/$K8S_VERSION
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

STATE=$REPO/.lab/kube
PKI=$STATE/pki
LOGS=$STATE/logs
RUN=$STATE/run
ETCD_DATA=$STATE/etcd
ENV_FILE=$REPO/.lab/kube.env

HOST=127.0.0.1
ETCD_CLIENT_PORT=${SKYNET_KUBE_ETCD_PORT:-12379}   # not 2379: devstack/neutron may run etcd
ETCD_PEER_PORT=${SKYNET_KUBE_ETCD_PEER_PORT:-12380}
API_PORT=${SKYNET_KUBE_API_PORT:-6443}
API=https://$HOST:$API_PORT
SERVICE_CIDR=10.254.0.0/16
SA_ISSUER=https://kubernetes.default.svc.cluster.local
TOKEN_SECONDS=31536000   # 1 year; apiserver --service-account-max-token-expiration=8760h
NODE_NAME=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
NODE_NAME=${NODE_NAME,,}  # Node names must be lower-case DNS subdomains

T0=$(date +%s.%N)
log() { printf '[kube] %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1fs", b - a}'; }

# ---------------------------------------------------------------- processes
# alive PIDFILE BINARY-NAME: pid file names a live, non-zombie process running BINARY-NAME.
alive() {
    local pid
    [[ -s "$1" ]] || return 1
    pid=$(<"$1")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/status ]] || return 1
    grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
    local argv0
    IFS= read -r -d '' argv0 <"/proc/$pid/cmdline" 2>/dev/null || [[ -n "${argv0:-}" ]] || return 1
    [[ "${argv0##*/}" == "$2" ]] || return 1
}

stop_proc() { # stop_proc NAME
    local pidfile=$RUN/$1.pid pid i
    if alive "$pidfile" "$1"; then
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do alive "$pidfile" "$1" || break; sleep 0.2; done
        if alive "$pidfile" "$1"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
        log "stopped $1 (pid $pid)"
    fi
    rm -f "$pidfile"
}

port_busy() { # port_busy PORT -> 0 if something listens on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

start_proc() { # start_proc NAME CMD...  (detached, own session, pid file)
    local name=$1; shift
    # close the lock fds (8, 9) so the daemons do not hold the kube.sh locks
    setsid nohup "$@" </dev/null >>"$LOGS/$name.log" 2>&1 8>&- 9>&- &
    echo $! >"$RUN/$name.pid"
}

# --------------------------------------------------------------------- http
kcurl() { # admin client-cert request against the apiserver
    curl -sS --fail-with-body --max-time 30 --cacert "$PKI/ca.crt" \
        --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"
}

apply() { # apply API-PATH JSON: server-side apply (create or update)
    kcurl -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
        --data-binary "$2" "$API$1?fieldManager=skynet-lab&force=true" >/dev/null
}

# --------------------------------------------------------------------- steps
binary_ok() {
    [[ -x "$BIN_DIR/kube-apiserver" && -x "$BIN_DIR/etcd" ]] || return 1
    # no `cmd | grep -q` here: with pipefail, grep's early exit can SIGPIPE cmd
    local out
    out=$("$BIN_DIR/kube-apiserver" --version 2>/dev/null) || return 1
    [[ "$out" == "Kubernetes $K8S_VERSION" ]] || return 1
    out=$("$BIN_DIR/etcd" --version 2>/dev/null) || return 1
    [[ $'\n'"$out"$'\n' == *$'\n'"etcd Version: ${ETCD_VERSION#v}"$'\n'* ]] || return 1
}

step_build() {
    binary_ok && { echo "cached: $BIN_DIR"; return 0; }
    mkdir -p "$BIN_DIR" "$CACHE/go/mod" "$CACHE/go/build"
    exec 9>"$CACHE/kube/.build.lock"
    flock 9   # another clone/lab may be building the same thing
    binary_ok && { echo "cached (built concurrently): $BIN_DIR"; return 0; }
    [[ -x "$GO" ]] || { echo "go not found (set GO=/path/to/go)"; return 1; }
    export GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
    local v=k8s.io/component-base/version minor=${K8S_VERSION#v1.}
    minor=${minor%%.*}
    local ld="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
    cd "$HERE"
    "$GO" version
    local t=$(date +%s)
    "$GO" build -mod=readonly -p 2 -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
    mv -f "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
    echo "etcd built in $(( $(date +%s) - t ))s"; t=$(date +%s)
    "$GO" build -mod=readonly -p 2 -trimpath -ldflags "$ld" -o "$BIN_DIR/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    mv -f "$BIN_DIR/kube-apiserver.tmp" "$BIN_DIR/kube-apiserver"
    echo "kube-apiserver built in $(( $(date +%s) - t ))s"
    binary_ok || { echo "built binaries do not report $K8S_VERSION / etcd $ETCD_VERSION"; return 1; }
}

cert_ok() { # cert_ok NAME: exists, signed by our CA, valid for >= 1 day
    [[ -s "$PKI/$1.crt" && -s "$PKI/$1.key" ]] || return 1
    openssl x509 -in "$PKI/$1.crt" -noout -checkend 86400 >/dev/null || return 1
    [[ "$1" == ca ]] || openssl verify -CAfile "$PKI/ca.crt" "$PKI/$1.crt" >/dev/null 2>&1
}

sign() { # sign NAME SUBJECT EXTFILE-CONTENT
    openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -subj "$2" -out "$PKI/$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$PKI/$1.ext"
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
        -days 3650 -sha256 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt" 2>/dev/null
    rm -f "$PKI/$1.csr" "$PKI/$1.ext"
}

step_pki() {
    mkdir -p "$PKI"; chmod 700 "$PKI"
    umask 077
    if ! cert_ok ca; then
        echo "new CA"
        rm -f "$PKI"/*.crt "$PKI"/*.key
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
            -subj "/CN=skynet-lab-ca" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    fi
    cert_ok apiserver || { echo "new apiserver cert"; sign apiserver "/CN=kube-apiserver" \
"basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.254.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"; }
    cert_ok admin || { echo "new admin cert"; sign admin "/O=system:masters/CN=skynet-lab-admin" \
"basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"; }
    if [[ ! -s "$PKI/sa.key" || ! -s "$PKI/sa.pub" ]]; then
        echo "new service-account key pair"
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
        openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
    fi
    chmod 644 "$PKI/ca.crt"
    echo "$PKI"
}

etcd_healthy() { [[ "$(curl -sf --max-time 2 "http://$HOST:$ETCD_CLIENT_PORT/health" 2>/dev/null)" == *'"health":"true"'* ]]; }

step_etcd() {
    if alive "$RUN/etcd.pid" etcd; then echo "already running (pid $(<"$RUN/etcd.pid"))"
    else
        rm -f "$RUN/etcd.pid"
        if port_busy "$ETCD_CLIENT_PORT" || port_busy "$ETCD_PEER_PORT"; then
            echo "port $HOST:$ETCD_CLIENT_PORT or $ETCD_PEER_PORT is in use by a process not started by kube.sh"
            return 1
        fi
        mkdir -p "$ETCD_DATA"; chmod 700 "$ETCD_DATA"
        echo "--- start $(date -Is)" >>"$LOGS/etcd.log"
        start_proc etcd "$BIN_DIR/etcd" --name skynet-lab --data-dir "$ETCD_DATA" \
            --listen-client-urls "http://$HOST:$ETCD_CLIENT_PORT" \
            --advertise-client-urls "http://$HOST:$ETCD_CLIENT_PORT" \
            --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
            --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
            --initial-cluster "skynet-lab=http://$HOST:$ETCD_PEER_PORT" \
            --quota-backend-bytes 1073741824 \
            --unsafe-no-fsync --log-level warn
    fi
    local i
    for i in $(seq 1 150); do
        etcd_healthy && {
            echo "healthy (pid $(<"$RUN/etcd.pid"))"; return 0; }
        alive "$RUN/etcd.pid" etcd || { echo "etcd exited; see $LOGS/etcd.log"; tail -n 20 "$LOGS/etcd.log"; return 1; }
        sleep 0.2
    done
    echo "etcd not healthy after 30s; see $LOGS/etcd.log"; return 1
}

readyz() { [[ "$(kcurl --max-time 5 "$API/readyz" 2>/dev/null)" == ok ]]; }

step_apiserver() {
    if alive "$RUN/kube-apiserver.pid" kube-apiserver; then echo "already running (pid $(<"$RUN/kube-apiserver.pid"))"
    else
        rm -f "$RUN/kube-apiserver.pid"
        if port_busy "$API_PORT"; then
            echo "port $HOST:$API_PORT is in use by a process not started by kube.sh"; return 1
        fi
        echo "--- start $(date -Is)" >>"$LOGS/kube-apiserver.log"
        start_proc kube-apiserver "$BIN_DIR/kube-apiserver" \
            --bind-address=$HOST --advertise-address=$HOST --secure-port=$API_PORT \
            --etcd-servers="http://$HOST:$ETCD_CLIENT_PORT" \
            --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
            --client-ca-file="$PKI/ca.crt" --anonymous-auth=false \
            --authorization-mode=Node,RBAC \
            --service-account-issuer="$SA_ISSUER" \
            --service-account-key-file="$PKI/sa.pub" \
            --service-account-signing-key-file="$PKI/sa.key" \
            --service-account-max-token-expiration=8760h \
            --service-cluster-ip-range=$SERVICE_CIDR \
            --enable-admission-plugins=NamespaceLifecycle,ServiceAccount,NodeRestriction \
            --disable-admission-plugins=MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,ResourceQuota,DefaultStorageClass,DefaultIngressClass,StorageObjectInUseProtection,PersistentVolumeClaimResize \
            --endpoint-reconciler-type=none \
            --allow-privileged=true --profiling=false \
            --v=1
    fi
    local i
    for i in $(seq 1 300); do
        readyz && { echo "ready (pid $(<"$RUN/kube-apiserver.pid"))"; return 0; }
        alive "$RUN/kube-apiserver.pid" kube-apiserver || {
            echo "kube-apiserver exited; see $LOGS/kube-apiserver.log"; tail -n 30 "$LOGS/kube-apiserver.log"; return 1; }
        sleep 0.3
    done
    echo "kube-apiserver not ready after 90s; see $LOGS/kube-apiserver.log"
    kcurl "$API/readyz?verbose" || true
    return 1
}

b64() { base64 -w0 <"$1"; }

step_rbac() {
    umask 077
    cat >"$STATE/admin.kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: skynet-lab
  cluster:
    server: $API
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: skynet-lab-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
contexts:
- name: skynet-lab-admin
  context: {cluster: skynet-lab, user: skynet-lab-admin, namespace: default}
current-context: skynet-lab-admin
EOF
    mv -f "$STATE/admin.kubeconfig.tmp" "$STATE/admin.kubeconfig"

    # No kube-controller-manager runs in the lab, so nobody creates the "default"
    # ServiceAccount that ServiceAccount admission requires for pods.
    local ns
    for ns in default kube-system kube-public; do
        apply "/api/v1/namespaces/$ns/serviceaccounts/default" \
            "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"default\",\"namespace\":\"$ns\"}}"
    done
    apply /api/v1/namespaces/kube-system/serviceaccounts/skynet \
        '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"skynet","namespace":"kube-system","labels":{"app.kubernetes.io/name":"skynet"}}}'
    apply /apis/rbac.authorization.k8s.io/v1/clusterroles/skynet-cni '{
      "apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"skynet-cni","labels":{"app.kubernetes.io/name":"skynet"}},
      "rules":[
        {"apiGroups":[""],"resources":["pods","nodes"],"verbs":["get","list","watch"]},
        {"apiGroups":[""],"resources":["namespaces"],"verbs":["get"]}]}'
    apply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/skynet-cni '{
      "apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
      "metadata":{"name":"skynet-cni","labels":{"app.kubernetes.io/name":"skynet"}},
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"skynet-cni"},
      "subjects":[{"kind":"ServiceAccount","name":"skynet","namespace":"kube-system"}]}'

    # Reuse the current token if it is still accepted, else request a new one.
    local token=""
    if [[ -s "$STATE/skynet.token" ]] && curl -sf --max-time 10 --cacert "$PKI/ca.crt" \
        -H "Authorization: Bearer $(<"$STATE/skynet.token")" \
        "$API/api/v1/namespaces/kube-system/pods?limit=1" >/dev/null; then
        echo "existing skynet token still valid"
        token=$(<"$STATE/skynet.token")
    else
        token=$(kcurl -X POST -H 'Content-Type: application/json' \
            --data "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":$TOKEN_SECONDS}}" \
            "$API/api/v1/namespaces/kube-system/serviceaccounts/skynet/token" |
            python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"]["token"]); print("expires", d["status"]["expirationTimestamp"], file=sys.stderr)')
        [[ -n "$token" ]] || { echo "empty token"; return 1; }
        printf '%s' "$token" >"$STATE/skynet.token.tmp"
        mv -f "$STATE/skynet.token.tmp" "$STATE/skynet.token"
    fi
    cat >"$STATE/skynet.kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: skynet-lab
  cluster:
    server: $API
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: skynet
  user:
    token: $token
contexts:
- name: skynet
  context: {cluster: skynet-lab, user: skynet, namespace: kube-system}
current-context: skynet
EOF
    mv -f "$STATE/skynet.kubeconfig.tmp" "$STATE/skynet.kubeconfig"
    chmod 600 "$STATE/skynet.token" "$STATE/skynet.kubeconfig" "$STATE/admin.kubeconfig"
    # sanity: the token works and is read-only
    curl -sf --max-time 10 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $token" \
        "$API/api/v1/nodes?limit=1" >/dev/null || { echo "skynet token rejected"; return 1; }
}

step_node() {
    apply "/api/v1/nodes/$NODE_NAME" "{
      \"apiVersion\":\"v1\",\"kind\":\"Node\",
      \"metadata\":{\"name\":\"$NODE_NAME\",\"labels\":{
        \"kubernetes.io/hostname\":\"$NODE_NAME\",\"kubernetes.io/os\":\"linux\",
        \"kubernetes.io/arch\":\"amd64\",\"skynet.lab/node\":\"true\"}}}"
    # No kubelet: publish a static Ready status so the node looks normal.
    local now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    kcurl -X PATCH -H 'Content-Type: application/merge-patch+json' --data "{\"status\":{
        \"addresses\":[{\"type\":\"Hostname\",\"address\":\"$NODE_NAME\"}],
        \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"SkynetLab\",
          \"message\":\"static status written by tools/lab/kube/kube.sh (no kubelet)\",
          \"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" \
        "$API/api/v1/nodes/$NODE_NAME/status" >/dev/null
    echo "node $NODE_NAME"
}

step_env() {
    local tmp=$ENV_FILE.tmp
    {
        echo "# written by tools/lab/kube/kube.sh up; removed by kube.sh down"
        printf 'export KUBECONFIG=%q\n' "$STATE/admin.kubeconfig"
        printf 'export SKYNET_KUBECONFIG=%q\n' "$STATE/skynet.kubeconfig"
        printf 'export SKYNET_K8S_API=%q\n' "$API"
        printf 'export SKYNET_K8S_CA=%q\n' "$PKI/ca.crt"
        printf 'export SKYNET_K8S_TOKEN_FILE=%q\n' "$STATE/skynet.token"
        printf 'export SKYNET_K8S_VERSION=%q\n' "$K8S_VERSION"
        printf 'export SKYNET_K8S_NODE=%q\n' "$NODE_NAME"
    } >"$tmp"
    mv -f "$tmp" "$ENV_FILE"
    echo "$ENV_FILE"
}

# run_step N NAME FUNCTION [PROCESS-LOG]
run_step() {
    local n=$1 name=$2 fn=$3 extra=${4:-} t rc slog=$LOGS/step-$2.log
    t=$(date +%s.%N)
    set +e
    ( set -e; "$fn" ) >"$slog" 2>&1
    rc=$?
    set -e
    if (( rc != 0 )); then
        printf '[kube] %d/7 %-12s FAILED after %s (rc=%d)\n' "$n" "$name" "$(elapsed "$t")" "$rc" >&2
        echo "[kube]   step log: $slog" >&2
        [[ -n "$extra" ]] && echo "[kube]   process log: $extra" >&2
        tail -n 15 "$slog" | sed 's/^/[kube]   | /' >&2
        exit 1
    fi
    printf '[kube] %d/7 %-12s ok %7s  (total %s)  %s\n' "$n" "$name" "$(elapsed "$t")" "$(elapsed "$T0")" \
        "$(tail -n 1 "$slog")"
}

# --------------------------------------------------------------------- verbs
lock() { # serialize up/down of this lab state (lab.sh may run things in parallel)
    mkdir -p "$STATE"
    exec 8>"$STATE/.lock"
    if ! flock -n 8; then
        log "waiting for another kube.sh up/down on $STATE ..."
        flock -w 900 8 || { echo "kube.sh: timed out waiting for $STATE/.lock" >&2; exit 1; }
    fi
}

cmd_up() {
    lock
    mkdir -p "$STATE" "$LOGS" "$RUN"
    run_step 1 build step_build
    run_step 2 pki step_pki
    run_step 3 etcd step_etcd "$LOGS/etcd.log"
    run_step 4 apiserver step_apiserver "$LOGS/kube-apiserver.log"
    run_step 5 rbac step_rbac
    run_step 6 node step_node
    run_step 7 env step_env
    log "up: $API (Kubernetes $K8S_VERSION, etcd $ETCD_VERSION) in $(elapsed "$T0"); env: $ENV_FILE"
}

cmd_down() {
    lock
    rm -f "$ENV_FILE"
    [[ -d "$RUN" ]] || { log "down (nothing running)"; return 0; }
    stop_proc kube-apiserver
    stop_proc etcd
    # Wipe cluster data so the next `up` starts from a clean cluster; PKI,
    # logs and the binary cache are kept.
    rm -rf "$ETCD_DATA" "$STATE/skynet.token" "$STATE/skynet.kubeconfig"
    log "down in $(elapsed "$T0")"
}

cmd_status() {
    local rc=0 p
    log "Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, binaries: $BIN_DIR ($(binary_ok && echo cached || echo MISSING))"
    for p in etcd kube-apiserver; do
        if alive "$RUN/$p.pid" "$p"; then log "$p: running (pid $(<"$RUN/$p.pid")), log $LOGS/$p.log"
        else log "$p: NOT running"; rc=1; fi
    done
    if etcd_healthy; then
        log "etcd http://$HOST:$ETCD_CLIENT_PORT: healthy, $(curl -sf --max-time 3 "http://$HOST:$ETCD_CLIENT_PORT/version")"
    else log "etcd http://$HOST:$ETCD_CLIENT_PORT: not healthy"; rc=1; fi
    if [[ -s "$PKI/admin.crt" ]] && readyz; then
        log "apiserver $API: /readyz ok, version $(kcurl "$API/version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gitVersion"])')"
    else log "apiserver $API: /readyz NOT ok"; rc=1; fi
    [[ -s "$ENV_FILE" ]] && log "env: $ENV_FILE" || { log "env: $ENV_FILE missing"; rc=1; }
    return $rc
}

case "${1:-up}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 [up|down|status]" >&2; exit 2 ;;
esac
