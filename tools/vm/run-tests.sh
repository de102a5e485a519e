#!/bin/bash
# tools/vm/run-tests.sh [PYTEST ARGS...] -- the host side of `tox -e vm`.
#
# Boots the throw-away VM (stock Debian kernel, see README.md), shares this project, the
# virtualenv and the Python interpreter into it at the same paths, runs tests/vm with pytest
# inside as root, streams the output and exits with pytest's exit code.
#
#   0 all passed | 1-5 pytest's codes (failures, collection errors, no tests)
#   124 the VM timed out | 125 the VM could not run (qemu missing, no boot, panic): the
#   reason and the console tail are printed | 2 bad setup on the host (not root, no python)
#
# Env: SKYNET_VM_PYTHON (default: `python` on PATH, i.e. the tox env's), SKYNET_VM_CACHE
# (default /var/cache/skynet-lab/vm), SKYNET_VM_RESULTS (default $SKYNET_VM_CACHE/results),
# VMRUN_TIMEOUT (default 480 s) and the other VMRUN_* / VMLAB_* knobs of vm-run.sh and
# build-assets.sh.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
export SKYNET_VM_CACHE=${SKYNET_VM_CACHE:-/var/cache/skynet-lab/vm}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
say() { echo "vm-tests: $*" >&2; }
die() { rc=$1; shift; say "ERROR: $*"; exit "$rc"; }
T0=$(now)

[ "$(id -u)" = 0 ] || die 2 "must run as root (the VM's 9p share keeps file ownership; assets live in $SKYNET_VM_CACHE)"
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || die 125 "$QEMU not found: the VM tests cannot run. Install it:
  apt-get install --no-install-recommends qemu-system-x86 kmod xz-utils iproute2 iputils-ping openvswitch-switch tcpdump"

PY=${SKYNET_VM_PYTHON:-python}
info=$("$PY" -c 'import os, sys; print(os.path.abspath(sys.executable)); print(sys.prefix); print(sys.base_prefix)') \
  || die 2 "cannot run $PY"
{ read -r PYEXE; read -r PREFIX; read -r BASE; } <<< "$info"
"$PY" -c 'import pytest, skynet' 2>/dev/null || die 2 "$PY cannot import pytest and skynet (run through tox -e vm)"
say "python $PYEXE (prefix $PREFIX, base $BASE)"

# VM assets: cached outside the repo; rebuilt only when their inputs changed
export VMLAB_LIB_FOR="$BASE $PREFIX"
if "$HERE/build-assets.sh" --check; then
  say "VM assets up to date in $SKYNET_VM_CACHE/assets ($(since "$T0") s)"
else
  say "building VM assets in $SKYNET_VM_CACHE (first run, or inputs changed)"
  TB=$(now)
  "$HERE/build-assets.sh" >&2 || die 125 "building the VM assets failed (see above)"
  say "VM assets built in $(since "$TB") s"
fi

RESULTS=${SKYNET_VM_RESULTS:-$SKYNET_VM_CACHE/results}
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
export SKYNET_VM_PYTHON=$PYEXE SKYNET_VM_RESULTS=$RESULTS
export VMRUN_ENV="SKYNET_VM_PYTHON SKYNET_VM_RESULTS ${VMRUN_ENV:-}"
export VMRUN_SHARES="$BASE $PREFIX $RESULTS:rw ${VMRUN_SHARES:-}"
export VMRUN_TIMEOUT=${VMRUN_TIMEOUT:-480}

TV=$(now)
"$HERE/vm-run.sh" "$TOP" "$HERE/guest-pytest.sh" "$@"
rc=$?
KREL=$(cat "$RESULTS/kernel-release" 2>/dev/null || echo unknown)
say "guest kernel $KREL (Debian $(sed -n 's/^kernel_package: //p' "$SKYNET_VM_CACHE/assets/manifest.txt" 2>/dev/null)); VM run $(since "$TV") s, total $(since "$T0") s; junit: $RESULTS/junit.xml"
case $rc in
  0) say "PASSED" ;;
  124) say "FAILED: the VM timed out after ${VMRUN_TIMEOUT}s (VMRUN_TIMEOUT)" ;;
  125) say "FAILED: the VM could not run the tests (see the console tail above)" ;;
  *) say "FAILED: pytest in the VM exited with $rc" ;;
esac
exit "$rc"
