# Shared helpers for up.sh, down.sh and apiserver.sh; sourced, not executed.
#
# State directory layout (all paths absolute, everything a run creates lives here):
#   pki/                 CA, serving cert, admin client cert, service-account key pair
#   etcd/                etcd data
#   etcd.pid, kube-apiserver.pid, watchdog.pid
#   etcd.args, kube-apiserver.args   exact command lines, NUL-separated (used to restart)
#   etcd.log, kube-apiserver.log, audit.log, audit-policy.yaml
#   ports.env            ETCD_PORT, ETCD_PEER_PORT, APISERVER_PORT
#   kubeconfig           admin credentials (O=system:masters)

cp_log() { echo "controlplane: $*" >&2; }

cp_abs_dir() {
  mkdir -p "$1"
  (cd "$1" && pwd -P)
}

# True when the pid in $1 is alive AND its command line mentions the state dir:
# a pid file left by a crash may point at an unrelated process by now.
cp_pid_ours() {
  local pidfile="$1" dir="$2" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  cp_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"
}

# kill -0 also succeeds for zombies, which nobody may reap in a container.
cp_alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# SIGTERM, wait up to ${2:-10}s, then SIGKILL; removes the pid file.
cp_stop_pidfile() {
  local pidfile="$1" dir="$2" grace="${3:-10}" pid i
  if cp_pid_ours "$pidfile" "$dir"; then
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      cp_alive "$pid" || break
      sleep 0.1
    done
    if cp_alive "$pid"; then
      cp_log "$(basename "$pidfile" .pid) (pid $pid) ignored SIGTERM for ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do cp_alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$pidfile"
}

# Starts the command stored in $dir/$name.args in its own session (so a
# Ctrl-C aimed at the caller does not reach it), logging to $dir/$name.log.
cp_start_from_args() {
  local dir="$1" name="$2" args=()
  mapfile -d '' args <"$dir/$name.args"
  setsid "${args[@]}" >>"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# Writes argv ($3...) NUL-separated to $dir/$name.args.
cp_save_args() {
  local dir="$1" name="$2"
  shift 2
  printf '%s\0' "$@" >"$dir/$name.args"
}

cp_curl_admin() {
  local dir="$1" path="$2"
  # shellcheck disable=SC1091
  source "$dir/ports.env"
  curl -fsS --max-time 2 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "https://127.0.0.1:${APISERVER_PORT}${path}"
}

# Polls until $2 (a command) succeeds, failing early when the process in
# $dir/$name.pid has exited. Bounded by $4 seconds.
cp_wait_for() {
  local dir="$1" name="$2" check="$3" timeout="$4" deadline
  deadline=$((SECONDS + timeout))
  until eval "$check" >/dev/null 2>&1; do
    if ! cp_pid_ours "$dir/$name.pid" "$dir"; then
      cp_log "$name exited during start-up; last lines of $dir/$name.log:"
      tail -n 20 "$dir/$name.log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      cp_log "$name not ready after ${timeout}s; last lines of $dir/$name.log:"
      tail -n 20 "$dir/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

cp_wait_apiserver_ready() {
  local dir="$1" timeout="${2:-${CONTROLPLANE_TIMEOUT:-90}}"
  cp_wait_for "$dir" kube-apiserver "cp_curl_admin '$dir' /readyz" "$timeout"
}
