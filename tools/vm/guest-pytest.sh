#!/bin/sh
# Runs INSIDE the VM (started by run-tests.sh through vm-run.sh), as root, cwd = the project.
# Env from the host: SKYNET_VM_PYTHON (the tox env's python), SKYNET_VM_RESULTS (a shared dir).
set -u
: "${SKYNET_VM_PYTHON:?SKYNET_VM_PYTHON unset}"
RES=${SKYNET_VM_RESULTS:-/tmp}
uname -r > "$RES/kernel-release"
cat /proc/version > "$RES/proc-version"
echo "guest: kernel $(uname -r), $(nproc) cpu, $(awk '/MemTotal/{print $2" kB"}' /proc/meminfo)"
[ -x "$SKYNET_VM_PYTHON" ] || { echo "guest: ERROR: $SKYNET_VM_PYTHON is not visible in the VM (9p share missing?)"; exit 3; }
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# tests/vm is always collected; extra pytest arguments (tox -e vm -- ARGS) follow
exec "$SKYNET_VM_PYTHON" -m pytest -p no:cacheprovider -v -rs --durations=0 \
  --junitxml="$RES/junit.xml" tests/vm "$@"
