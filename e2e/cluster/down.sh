#!/usr/bin/env bash
# Stops the cluster tier started by up.sh in STATE_DIR and leaves nothing
# behind: no process (kubelets, runtimes and their shims, containers, control
# plane, registry, forwarders), no mount (they live in the nodes' own mount
# namespaces, which end with their last process), no cgroup, no network
# namespace. Data goes; logs stay unless --purge, which removes STATE_DIR.
#
#   e2e/cluster/down.sh [STATE_DIR] [--purge] [--quiet]
#
# Safe to run any number of times, also after a crash or kill -9 of any part:
# processes are found by the namespaces and cgroups recorded at start-up,
# never by name.
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
    -*) cl_log "unknown option $arg"; exit 2 ;;
    *) state="$arg" ;;
  esac
done
state="${state:-$repo/.cluster}"
[[ -d "$state" ]] || exit 0
dir="$(cd "$state" && pwd -P)"
started=$SECONDS

if [[ "$(cat "$dir/watchdog.pid" 2>/dev/null)" == "$$" ]]; then
  rm -f "$dir/watchdog.pid"
else
  cp_stop_pidfile "$dir/watchdog.pid" "$dir" 1
fi

netns="$(cat "$dir/netns.inode" 2>/dev/null || true)"
[[ -n "$netns" ]] || netns="$(cl_ns_of "$(cat "$dir/netns.pid" 2>/dev/null || echo 0)" net)"

# Nodes first (their Pods call the API server), then the control plane.
for n in "$dir"/nodes/*/; do
  [[ -d "$n" ]] && "$here/node.sh" stop "$dir" "$(basename "$n")"
done
for name in kube-scheduler kube-controller-manager registry forward-host forward-netns; do
  cp_stop_pidfile "$dir/$name.pid" "$dir" 5
done
if [[ -d "$dir/controlplane" ]]; then
  "$repo/e2e/controlplane/down.sh" "$dir/controlplane" --quiet
fi
cp_stop_pidfile "$dir/netns.pid" "$dir" 1
# Anything still in the cluster's network namespace or naming the state dir.
cl_kill_namespace net "$netns"
for pid in $(cl_pids_mentioning "$dir/"); do kill -KILL "$pid" 2>/dev/null || true; done
for cg in /sys/fs/cgroup/pids/image-mirror-"$(basename "$dir")"-*; do
  [[ -d "$cg" ]] && cl_kill_cgroup_tree "/$(basename "$cg")"
done

# Data: container layers, etcd, keys. A mount still below the state dir would
# mean a namespace survived: refuse to delete through it.
if grep -qF -- " $dir/" /proc/self/mountinfo; then
  cl_log "mounts remain below $dir; not removing data"
  exit 1
fi
if $purge; then
  rm -rf --one-file-system "$dir"
else
  for n in "$dir"/nodes/*/; do
    [[ -d "$n" ]] && rm -rf --one-file-system "$n"/{var,run,etc,opt,kubelet,crio}
  done
  rm -rf --one-file-system "$dir/registry/storage" "$dir/kcm"
  rm -f "$dir"/{kubeconfig,cluster.env,*.sock,owner.pid,netns.inode}
fi
$quiet || cl_log "stopped in $((SECONDS - started))s; removed data in $dir"
