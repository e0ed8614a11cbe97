#!/usr/bin/env bash
# Stops and/or starts only kube-apiserver of a running control plane, with the
# exact command line up.sh saved (same ports, certificates, etcd, audit log).
# For fault tests: clients see the API server vanish and come back while the
# cluster state in etcd is kept.
#
#   e2e/controlplane/apiserver.sh STATE_DIR stop|start|restart
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 STATE_DIR stop|start|restart" >&2
  exit 2
fi
dir="$(cd "$1" && pwd -P)"
action="$2"
[[ -f "$dir/kube-apiserver.args" ]] || { cp_log "no control plane in $dir (run up.sh first)"; exit 1; }

stop() {
  cp_stop_pidfile "$dir/kube-apiserver.pid" "$dir" 15
}

start() {
  if cp_pid_ours "$dir/kube-apiserver.pid" "$dir"; then
    cp_log "kube-apiserver already running (pid $(cat "$dir/kube-apiserver.pid"))"
  else
    cp_start_from_args "$dir" kube-apiserver
  fi
  cp_wait_apiserver_ready "$dir"
}

case "$action" in
  stop) stop ;;
  start) start ;;
  restart) stop; start ;;
  *) echo "usage: $0 STATE_DIR stop|start|restart" >&2; exit 2 ;;
esac
