#!/usr/bin/env bash
# Starts the cluster tier: the control plane of e2e/controlplane plus
# kube-controller-manager, kube-scheduler, a local image registry and NODES
# nodes (kubelet + containerd each, see node.sh), all inside a network
# namespace of the cluster's own. Prints the path of an admin kubeconfig for
# the machine side (progress goes to stderr).
#
#   e2e/cluster/up.sh [STATE_DIR]        default: <repo>/.cluster
#
# Environment:
#   CLUSTER_NODES=2             number of nodes (127.0.0.1, 127.0.0.2, ...)
#   CLUSTER_OWNER_PID=PID       tear everything down (down.sh --purge) once PID exits
#   CLUSTER_TIMEOUT=120         seconds to wait for each step
#
# Network: the control plane and the registries share a network namespace
# of the cluster's own; each node has a network namespace of its own (its
# "host network", with one bridge for its Pods, 10.244.<node>.0/24). They
# hold only loopbacks and bridges, and nothing is routed between or out of
# them: forwarders (forward.ts) joined by Unix sockets carry the node's
# 127.0.0.1:<api>, 10.0.0.1:443 (the `kubernetes` Service) and the
# registries' ports to the cluster namespace, the API server's
# 127.0.0.<node>:10250 to the kubelet, and the machine's 127.0.0.1 ports to
# the API server and the image registry. No address outside loopback is ever
# contacted.
#
# Start-up order: network namespace, control plane (with CONTROLPLANE_NODES=1),
# forwarders, kube-controller-manager and kube-scheduler, registry, nodes;
# then waits until every node is Ready.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

dir="$(cp_abs_dir "${1:-$repo/.cluster}")"
nodes="${CLUSTER_NODES:-2}"
timeout="${CLUSTER_TIMEOUT:-120}"
started=$SECONDS

case "$dir/" in
  /var/lib/* | /var/log/* | /run/* | /var/run/* | /etc/*)
    cl_log "the state directory may not be under /var/lib, /var/log, /run or /etc (the nodes mount over those)"
    exit 2 ;;
esac
[[ "$(id -u)" == 0 ]] || { cl_log "nodes need root (mount and network namespaces, cgroups)"; exit 1; }
for tool in nsenter unshare ip containerd ctr runc docker-registry openssl curl node; do
  command -v "$tool" >/dev/null || { cl_log "$tool is required (scripts/install-system-deps.sh installs it)"; exit 1; }
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
  { cl_log "the CNI plugins are required in /usr/lib/cni (containernetworking-plugins)"; exit 1; }
[[ -f "$repo/dist/e2e/cluster/forward.js" ]] || { cl_log "dist/ is missing: run make build first"; exit 1; }

bin="${CLUSTER_BIN:-$("$repo/e2e/controlplane/build.sh")}"
export CLUSTER_BIN="$bin"
read -r PAUSE_ARCHIVE PAUSE_IMAGE < <("$here/pause-image.sh" "$bin")
export PAUSE_ARCHIVE PAUSE_IMAGE

"$here/down.sh" "$dir" --quiet
mkdir -p "$dir"
[[ -z "${CLUSTER_OWNER_PID:-}" ]] || echo "$CLUSTER_OWNER_PID" >"$dir/owner.pid"

# A free port on the machine's loopback (the same number is used inside the namespace).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_for() { cp_wait_for "$@"; }

# ------------------------------------------------------------------ network namespace

cl_start "$dir" netns unshare --net -- bash -c '
  ip link set lo up
  ip addr add 10.0.0.1/32 dev lo
  while sleep 3600; do :; done' cluster-netns "$dir"
wait_for "$dir" netns "nsenter --net=/proc/\$(cat '$dir/netns.pid')/ns/net ip -o addr show lo | grep -q 10.0.0.1" 10
cl_ns_of "$(cat "$dir/netns.pid")" net >"$dir/netns.inode"
[[ "$(cat "$dir/netns.inode")" != "$(cl_ns_of self net)" ]] || { cl_log "no network namespace of its own"; exit 1; }

# ------------------------------------------------------------------ control plane

in_netns=(nsenter --net="/proc/$(cat "$dir/netns.pid")/ns/net" --)
CONTROLPLANE_NODES=1 CONTROLPLANE_BIN="$bin" "${in_netns[@]}" "$repo/e2e/controlplane/up.sh" "$dir/controlplane" >/dev/null
cp="$dir/controlplane"
pki="$cp/pki"
# shellcheck disable=SC1091
source "$cp/ports.env"

# ------------------------------------------------------------------ forwarders

forward="$repo/dist/e2e/cluster/forward.js"
host_api_port="$(free_port)"
registry_port="$(free_port)"
# Inside: the sockets to the real ports. Nodes (node.sh) add their kubelets,
# tests their registries, by appending to forward-netns.conf.
printf '%s\n' "unix:$dir/apiserver.sock=127.0.0.1:$APISERVER_PORT" "unix:$dir/registry.sock=127.0.0.1:$registry_port" >"$dir/forward-netns.conf"
cl_start "$dir" forward-netns "${in_netns[@]}" node "$forward" --tag "$dir" --config "$dir/forward-netns.conf"
wait_for "$dir" forward-netns "test -S '$dir/registry.sock'" 10
cl_start "$dir" forward-host node "$forward" --tag "$dir" \
  "127.0.0.1:$host_api_port=unix:$dir/apiserver.sock" \
  "127.0.0.1:$registry_port=unix:$dir/registry.sock"
wait_for "$dir" forward-host "grep -q '127.0.0.1:$registry_port' '$dir/forward-host.log'" 10

# The machine-side admin kubeconfig: the same certificate, the forwarder's port.
cl_kubeconfig "$dir/kubeconfig" "https://127.0.0.1:$host_api_port" "$pki" admin
kubectl_() { "$bin/kubectl" --kubeconfig "$dir/kubeconfig" "$@"; }

# ------------------------------------------------------------------ controller-manager, scheduler

mkdir -p "$dir/kcm/flexvolume"
cl_sign "$pki" "$pki" kube-controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
cl_sign "$pki" "$pki" kube-scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
cl_kubeconfig "$dir/kcm/kubeconfig" "https://127.0.0.1:$APISERVER_PORT" "$pki" kube-controller-manager
cl_kubeconfig "$dir/kcm/scheduler.kubeconfig" "https://127.0.0.1:$APISERVER_PORT" "$pki" kube-scheduler

# Controllers run with their own service accounts; service-account tokens are
# signed by the API server (TokenRequest), the legacy token controller gets the key too.
cl_start "$dir" kube-controller-manager "${in_netns[@]}" "$bin/kube-controller-manager" \
  --kubeconfig="$dir/kcm/kubeconfig" \
  --authentication-kubeconfig="$dir/kcm/kubeconfig" --authorization-kubeconfig="$dir/kcm/kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --flex-volume-plugin-dir="$dir/kcm/flexvolume" \
  --node-monitor-grace-period=20s \
  --concurrent-gc-syncs=5 \
  --v=1
cl_start "$dir" kube-scheduler "${in_netns[@]}" "$bin/kube-scheduler" \
  --kubeconfig="$dir/kcm/scheduler.kubeconfig" \
  --authentication-kubeconfig="$dir/kcm/scheduler.kubeconfig" --authorization-kubeconfig="$dir/kcm/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 \
  --leader-elect=false \
  --v=1

# ------------------------------------------------------------------ registry

mkdir -p "$dir/registry"
cat >"$dir/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/registry/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
  secret: image-mirror-cluster-tier
EOF
cl_start "$dir" registry "${in_netns[@]}" docker-registry serve "$dir/registry/config.yml"
wait_for "$dir" registry "curl -fsS --max-time 1 http://127.0.0.1:$registry_port/v2/" 20  # through the forwarders

# ------------------------------------------------------------------ nodes

export REGISTRY_PORT="$registry_port" FORWARD="$forward"
for ((i = 1; i <= nodes; i++)); do
  "$here/node.sh" start "$dir" "$i"
done

cat >"$dir/cluster.env" <<EOF
APISERVER_PORT=$APISERVER_PORT
HOST_APISERVER_PORT=$host_api_port
REGISTRY=127.0.0.1:$registry_port
PAUSE_IMAGE=$PAUSE_IMAGE
PAUSE_ARCHIVE=$PAUSE_ARCHIVE
NODES="$(for ((i = 1; i <= nodes; i++)); do printf '127.0.0.%d ' "$i"; done)"
BIN=$bin
EOF

wait_ready() {
  local want="$1" n
  n="$(kubectl_ get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c True)"
  [[ "$n" -ge "$want" ]]
}
deadline=$((SECONDS + timeout))
until wait_ready "$nodes"; do
  if ((SECONDS >= deadline)); then
    cl_log "nodes not Ready after ${timeout}s:"
    kubectl_ get nodes -o wide >&2 || true
    for n in "$dir"/nodes/*/; do tail -n 15 "$n/kubelet.log" >&2; done
    exit 1
  fi
  sleep 0.5
done

if [[ -n "${CLUSTER_OWNER_PID:-}" ]]; then
  setsid bash -c 'source "$1"; while cp_alive "$3"; do sleep 1; done; exec "$2" "$4" --purge --quiet' \
    cluster-watchdog "$here/../controlplane/lib.sh" "$here/down.sh" "$CLUSTER_OWNER_PID" "$dir" >/dev/null 2>&1 </dev/null &
  echo $! >"$dir/watchdog.pid"
fi
cl_log "$nodes node(s) Ready in $((SECONDS - started))s; kube-apiserver on https://127.0.0.1:$host_api_port, registry 127.0.0.1:$registry_port (state and logs in $dir)"
echo "$dir/kubeconfig"
