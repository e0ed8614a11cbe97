#!/usr/bin/env bash
# Stops the control plane started by up.sh in STATE_DIR (SIGTERM, then SIGKILL
# after a grace period) and removes its data: etcd data, certificates, keys,
# kubeconfig, pid files. Logs (etcd.log, kube-apiserver.log, audit.log) stay
# for post-mortems unless --purge is given, which removes STATE_DIR itself.
#
#   e2e/controlplane/down.sh [STATE_DIR] [--purge] [--quiet]
#
# Safe to run any number of times, also after a crash or kill -9: pid files
# are only trusted when the process still runs with STATE_DIR on its
# command line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

purge=false quiet=false state=""
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    --quiet) quiet=true ;;
    -*) cp_log "unknown option $arg"; exit 2 ;;
    *) state="$arg" ;;
  esac
done
state="${state:-$repo/.controlplane}"
[[ -d "$state" ]] || exit 0
dir="$(cd "$state" && pwd -P)"

# The watchdog runs this script via exec, so its pid may be our own.
if [[ "$(cat "$dir/watchdog.pid" 2>/dev/null)" == "$$" ]]; then
  rm -f "$dir/watchdog.pid"
else
  cp_stop_pidfile "$dir/watchdog.pid" "$dir" 1
fi
# API server first, so it does not log etcd connection errors while stopping.
cp_stop_pidfile "$dir/kube-apiserver.pid" "$dir" 15
cp_stop_pidfile "$dir/etcd.pid" "$dir" 10

if $purge; then
  rm -rf "$dir"
else
  rm -rf "$dir/etcd" "$dir/pki"
  rm -f "$dir"/{kubeconfig,kubeconfig.tmp,ports.env,etcd.args,kube-apiserver.args,audit-policy.yaml}
fi
$quiet || cp_log "stopped; removed data in $dir"
