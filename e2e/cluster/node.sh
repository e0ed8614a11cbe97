#!/usr/bin/env bash
# One node of the cluster tier: a kubelet and its own container runtime, with
# every file in the node's own directory.
#
#   e2e/cluster/node.sh start STATE_DIR INDEX     node 127.0.0.INDEX (INDEX 1..254)
#   e2e/cluster/node.sh stop STATE_DIR IP         stop it, leave nothing running or mounted
#
# Environment for start (up.sh sets them; on a running cluster they come from
# its cluster.env): CLUSTER_BIN (kubelet), PAUSE_ARCHIVE, PAUSE_IMAGE,
# REGISTRY_PORT, FORWARD. Per node:
#   NODE_RUNTIME=containerd|crio   the runtime (the node_runtime_*_<runtime> functions below)
#   NODE_HOSTS="ADDR NAME..."      lines for a node /etc/hosts of its own (the machine's plus these)
#   NODE_TAINTS=key=value:Effect   the kubelet's --register-with-taints
# Every node is labelled imagemirror.io/cluster-tier-node=INDEX and
# imagemirror.io/cluster-tier-runtime=<runtime>.
#
# A node is named by its loopback address (127.0.0.1, 127.0.0.2, ...): the
# kubelet listens there, the API server reaches it there for logs and exec
# (through a forwarder, see up.sh), and no name needs DNS. Its processes run
# in a network namespace of their own (hostNetwork Pods share it, as on a
# real node) and a mount namespace of their own in which the node's
# directories are bind-mounted over
#   /etc/containerd /etc/containers /var/lib /var/log /run
# so hostPath volumes (the agent's /etc/containerd/certs.d, /var/lib/image-mirror),
# /var/log/containers, /var/lib/kubelet/device-plugins and the shim sockets
# under /run/containerd are per node, and the machine's own directories are
# never written. When the last process of the namespace exits its mounts go
# with it.
#
# Node directory (nodes/<ip>/):
#   etc/containerd/config.toml, etc/containerd/certs.d/   -> /etc/containerd
#   etc/containers/                                       -> /etc/containers
#   etc/cni/net.d/                                        CNI config (bridge + loopback)
#   var/lib/  (kubelet/, containerd/, cni/, image-mirror/) -> /var/lib
#   var/log/  (pods/, containers/)                        -> /var/log
#   run/      (containerd/ state and socket)              -> /run
#   kubelet/  config.yaml, kubeconfig, pki/
#   CRI-O: crio/crio.conf (+ empty conf.d/, hooks.d/, cdi/, policies/),
#          var/lib/containers/storage, run/crio/ (socket, ns/, exits/),
#          proc-cgroups -> /proc/cgroups, etc/hosts -> /etc/hosts (NODE_HOSTS)
#   ns.pid, <runtime>.pid, kubelet.pid and their .log files
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

# ------------------------------------------------------------------ containerd

node_runtime_config_containerd() {
  local n="$1" ip="$2"
  mkdir -p "$n/etc/containerd/certs.d" "$n/var/lib/containerd" "$n/run/containerd" "$n/opt"
  cat >"$n/etc/containerd/config.toml" <<EOF
# containerd for node $ip of the image-mirror cluster tier (paths as the
# node's mount namespace sees them; see e2e/cluster/node.sh).
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$n/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # No CAP_SYS_RESOURCE on these machines: without this every sandbox fails
  # with "can't get final child's PID from pipe: EOF" (oom_score_adj denied).
  restrict_oom_score_adj = true
  stream_server_address = "$ip"
  stream_server_port = "0"
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # crun refuses this machine's hybrid cgroups; no systemd runs here.
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$n/etc/cni/net.d"

  # The directory the agent writes (deploy/agent mounts /etc/containerd/certs.d).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
EOF
}

node_runtime_start_containerd() {
  local n="$1" ns="$2"
  cl_start "$n" containerd nsenter --target "$ns" --mount --net -- containerd --config "$n/etc/containerd/config.toml"
}

node_runtime_endpoint_containerd() { echo "unix:///run/containerd/containerd.sock"; }

node_runtime_ready_containerd() {
  ctr --address "$1/run/containerd/containerd.sock" version >/dev/null 2>&1
}

node_runtime_load_pause_containerd() {
  ctr --address "$1/run/containerd/containerd.sock" -n k8s.io images import --all-platforms "$PAUSE_ARCHIVE" >/dev/null
}

# Stops the runtime; its shims (they outlive it) go with the node's mount
# namespace in stop_node.
node_runtime_stop_containerd() {
  cp_stop_pidfile "$1/containerd.pid" "$1" 10
}

# ------------------------------------------------------------------ CRI-O

# CRI-O 1.34 from e2e/runtimes/build.sh (crio, pinns; crictl for the checks),
# conmon and runc from Debian. Storage (overlay), state and socket are under
# the node's /var/lib and /run; the CNI config is the node's; registries.conf
# is the node's /etc/containers (the files a MachineConfig installs).
crio_bin() { "$here/../runtimes/build.sh" --locate "$1" | awk '{print $2}'; }

# The local pause image, in the cluster's registry (CRI-O pulls it from there).
crio_pause_image() { echo "127.0.0.1:$REGISTRY_PORT/image-mirror/pause:${PAUSE_IMAGE##*:}"; }

node_runtime_config_crio() {
  local n="$1" ip="$2" crio crictl
  crio="$(crio_bin crio)" && [[ -n "$crio" ]] || { cl_log "CRI-O is not built: run e2e/runtimes/build.sh crio crictl"; exit 1; }
  crictl="$(crio_bin crictl)" && [[ -n "$crictl" ]] || { cl_log "crictl is not built: run e2e/runtimes/build.sh crictl"; exit 1; }
  command -v conmon >/dev/null || { cl_log "conmon is required (scripts/install-system-deps.sh installs it)"; exit 1; }
  echo "$crio" >"$n/crio.bin"
  # The node's /proc/cgroups: controllers in no v1 hierarchy (hierarchy 0)
  # shown as disabled. On these machines hugetlb lives in the cgroup2 part of
  # a hybrid layout; CRI-O reads /proc/cgroups, takes hugetlb as usable and
  # passes the kubelet's hugepage limits to runc, which then fails every
  # container with "cannot set hugetlb limit: container could not join or
  # create cgroup". Disabled, CRI-O drops the limits itself (containerd's
  # disable_hugetlb_controller does the same).
  awk 'BEGIN { OFS = "\t" } /^#/ || $2 != 0 { print; next } { $4 = 0; print }' /proc/cgroups >"$n/proc-cgroups"
  echo "$crictl" >"$n/crictl.bin"
  mkdir -p "$n/etc/containerd" "$n/crio/conf.d" "$n/crio/hooks.d" "$n/crio/cdi" "$n/crio/policies" "$n/var/lib/crio/tmp" "$n/var/log/crio/pods"
  cat >"$n/crio/crio.conf" <<EOF
# CRI-O for node $ip of the image-mirror cluster tier (paths as the node's
# mount namespace sees them; see e2e/cluster/node.sh).
[crio]
root = "/var/lib/containers/storage"
runroot = "/run/containers/storage"
storage_driver = "overlay"
log_dir = "/var/log/crio/pods"
version_file = "/run/crio/version"
version_file_persist = "/var/lib/crio/version"
clean_shutdown_file = "/var/lib/crio/clean.shutdown"

[crio.api]
listen = "/run/crio/crio.sock"
stream_address = "$ip"
stream_port = "0"

[crio.runtime]
default_runtime = "runc"
cgroup_manager = "cgroupfs"
selinux = false
irqbalance_config_file = ""
irqbalance_config_restore_file = "disable"
namespaces_dir = "/run/crio/ns"
pinns_path = "$crio/pinns"
container_exits_dir = "/run/crio/exits"
container_attach_socket_dir = "/run/crio"
hooks_dir = ["$n/crio/hooks.d"]
cdi_spec_dirs = ["$n/crio/cdi"]
log_level = "info"

[crio.runtime.runtimes.runc]
runtime_path = "$(command -v runc)"
runtime_root = "/run/runc"
monitor_path = "$(command -v conmon)"
monitor_cgroup = "pod"

[crio.image]
pause_image = "$(crio_pause_image)"
pause_command = "/pause"
signature_policy = "/etc/containers/policy.json"
signature_policy_dir = "$n/crio/policies"
global_auth_file = ""
big_files_temporary_dir = "/var/lib/crio/tmp"

[crio.network]
network_dir = "$n/etc/cni/net.d"
plugin_dirs = ["/usr/lib/cni"]

[crio.nri]
enable_nri = false
EOF
}

node_runtime_start_crio() {
  local n="$1" ns="$2"
  # --config-dir: an empty directory of the node's, so /etc/crio/crio.conf.d of the machine plays no part.
  cl_start "$n" crio nsenter --target "$ns" --mount --net -- "$(cat "$n/crio.bin")/crio" \
    --config "$n/crio/crio.conf" --config-dir "$n/crio/conf.d"
}

node_runtime_endpoint_crio() { echo "unix:///run/crio/crio.sock"; }

# crictl against the node's CRI-O (from the machine side: the socket is under the node's run/).
node_crictl() {
  local n="$1"
  shift
  "$(cat "$n/crictl.bin")/crictl" --config /dev/null --runtime-endpoint "unix://$n/run/crio/crio.sock" \
    --image-endpoint "unix://$n/run/crio/crio.sock" "$@"
}

node_runtime_ready_crio() { node_crictl "$1" info >/dev/null 2>&1; }

node_runtime_load_pause_crio() {
  local n="$1" image
  image="$(crio_pause_image)"
  skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci-archive:$PAUSE_ARCHIVE" "docker://$image"
  node_crictl "$n" pull "$image" >/dev/null
}

node_runtime_stop_crio() {
  cp_stop_pidfile "$1/crio.pid" "$1" 10
}

# ------------------------------------------------------------------ start

node_cgroup_root() { echo "/image-mirror-$(basename "$1")-$2"; }

start_node() {
  local dir="$1" index="$2" runtime="${NODE_RUNTIME:-containerd}"
  local ip="127.0.0.$index" n ns cgroot pki h
  [[ "$index" =~ ^[0-9]+$ && "$index" -ge 1 && "$index" -le 254 ]] || { cl_log "node index must be 1..254"; exit 2; }
  n="$dir/nodes/$ip"
  pki="$dir/controlplane/pki"
  # A node added to a running cluster takes what up.sh decided from cluster.env.
  if [[ -z "${REGISTRY_PORT:-}" && -f "$dir/cluster.env" ]]; then
    # shellcheck disable=SC1091
    source "$dir/cluster.env"
    CLUSTER_BIN="$BIN" REGISTRY_PORT="${REGISTRY##*:}" FORWARD="$here/../../dist/e2e/cluster/forward.js"
  fi
  for h in /etc/containerd /etc/containers; do
    [[ -d "$h" ]] || { cl_log "$h must exist as the mount point of the node's own directory (install containerd and skopeo)"; exit 1; }
  done
  mkdir -p "$n"/{etc/containers/registries.conf.d,etc/containers/certs.d,etc/cni/net.d,var/lib/kubelet,var/lib/image-mirror,var/log/pods,var/log/containers,run,kubelet/pki}
  printf 'unqualified-search-registries = []\n' >"$n/etc/containers/registries.conf"
  printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$n/etc/containers/policy.json"
  # NODE_HOSTS ("ADDRESS NAME" lines): a node /etc/hosts of its own, the machine's plus these.
  if [[ -n "${NODE_HOSTS:-}" ]]; then
    { cat /etc/hosts; printf '%s\n' "$NODE_HOSTS"; } >"$n/etc/hosts"
  fi
  echo "$runtime" >"$n/runtime"
  "node_runtime_config_$runtime" "$n" "$ip"

  # Pod network: a bridge in the node's own network namespace (nothing is
  # routed out of it), 10.244.INDEX.0/24 from host-local.
  cat >"$n/etc/cni/net.d/10-image-mirror.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "image-mirror",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "imc$index",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.$index.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF

  # The kubelet: serving certificate for its address, client certificate as system:node:<ip>.
  cp "$pki/ca.crt" "$n/kubelet/pki/"
  cl_sign "$pki" "$n/kubelet/pki" kubelet "/CN=$ip" "subjectAltName=IP:$ip
extendedKeyUsage=serverAuth"
  cl_sign "$pki" "$n/kubelet/pki" node "/O=system:nodes/CN=system:node:$ip" "extendedKeyUsage=clientAuth"
  # shellcheck disable=SC1091
  source "$dir/controlplane/ports.env"
  cl_kubeconfig "$n/kubelet/kubeconfig" "https://127.0.0.1:$APISERVER_PORT" "$n/kubelet/pki" node
  cgroot="$(node_cgroup_root "$dir" "$ip")"
  cat >"$n/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: $ip
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $n/kubelet/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $n/kubelet/pki/kubelet.crt
tlsPrivateKeyFile: $n/kubelet/pki/kubelet.key
containerRuntimeEndpoint: $("node_runtime_endpoint_$runtime")
cgroupDriver: cgroupfs
cgroupRoot: $cgroot
failCgroupV1: false
failSwapOn: false
podLogsDir: /var/log/pods
volumePluginDir: /var/lib/kubelet/volume-plugins
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# The machine's disk is shared with other work: never evict or collect images for space.
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
nodeStatusReportFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 10s
containerLogMaxSize: 10Mi
EOF
  # cgroupfs: the kubelet wants its root to exist in every hierarchy.
  for h in /sys/fs/cgroup/*/; do mkdir -p "$h${cgroot#/}"; done

  # The node's mount and network namespaces, held by a process that only waits.
  rm -f "$n/ns.ready"
  cl_start "$n" ns unshare --mount --net --propagation private -- bash -c '
      set -e
      n="$1"
      ip link set lo up
      ip addr add 10.0.0.1/32 dev lo
      for d in etc/containerd etc/containers var/lib var/log run; do mount --bind "$n/$d" "/$d"; done
      if [[ -f "$n/etc/hosts" ]]; then mount --bind "$n/etc/hosts" /etc/hosts; fi
      if [[ -f "$n/proc-cgroups" ]]; then mount --bind "$n/proc-cgroups" /proc/cgroups; fi
      touch "$n/ns.ready"
      while sleep 3600; do :; done' node-namespace "$n"
  cp_wait_for "$n" ns "test -f '$n/ns.ready'" 10
  ns="$(cat "$n/ns.pid")"
  # Teardown finds every process of the node by these, also after a crash.
  cl_ns_of "$ns" mnt >"$n/mntns"
  cl_ns_of "$ns" net >"$n/netns"
  [[ "$(cat "$n/mntns")" != "$(cl_ns_of self mnt)" && "$(cat "$n/netns")" != "$(cl_ns_of self net)" ]] ||
    { cl_log "node $ip has no namespaces of its own"; exit 1; }

  # The node's links to the cluster: API server (also as the kubernetes
  # Service's 10.0.0.1:443), the image registry; the API server's to the kubelet.
  printf '%s\n' "127.0.0.1:$APISERVER_PORT=unix:$dir/apiserver.sock" "10.0.0.1:443=unix:$dir/apiserver.sock" \
    "127.0.0.1:$REGISTRY_PORT=unix:$dir/registry.sock" "unix:$n/kubelet.sock=$ip:10250" >"$n/forward.conf"
  cl_start "$n" forward nsenter --target "$ns" --mount --net -- node "$FORWARD" --tag "$n" --config "$n/forward.conf"
  cp_wait_for "$n" forward "test -S '$n/kubelet.sock'" 10
  echo "$ip:10250=unix:$n/kubelet.sock" >>"$dir/forward-netns.conf"

  "node_runtime_start_$runtime" "$n" "$ns"
  cp_wait_for "$n" "$runtime" "node_runtime_ready_$runtime '$n'" 30
  "node_runtime_load_pause_$runtime" "$n"

  cl_start "$n" kubelet nsenter --target "$ns" --mount --net -- "$CLUSTER_BIN/kubelet" \
    --config="$n/kubelet/config.yaml" --kubeconfig="$n/kubelet/kubeconfig" \
    --hostname-override="$ip" --node-labels="imagemirror.io/cluster-tier-node=$index,imagemirror.io/cluster-tier-runtime=$runtime" \
    ${NODE_TAINTS:+--register-with-taints="$NODE_TAINTS"} --v=1
  cl_log "node $ip: $runtime and kubelet started (logs in $n)"
}

# ------------------------------------------------------------------ stop

stop_node() {
  local dir="$1" ip="$2" n runtime
  n="$dir/nodes/$ip"
  [[ -d "$n" ]] || return 0
  runtime="$(cat "$n/runtime" 2>/dev/null || echo containerd)"
  # The kubelet first, so that it restarts nothing while the rest goes.
  cp_stop_pidfile "$n/kubelet.pid" "$n" 10
  # Every container process of the node lives under its cgroup root.
  cl_kill_cgroup_tree "$(node_cgroup_root "$dir" "$ip")"
  "node_runtime_stop_$runtime" "$n"
  # Whatever is left in the node's namespaces (shims, the forwarder, a crashed
  # run's processes); with the last one the namespaces and all mounts go.
  cl_kill_namespace mnt "$(cat "$n/mntns" 2>/dev/null)"
  cl_kill_namespace net "$(cat "$n/netns" 2>/dev/null)"
  # The namespaces are gone, and their inode numbers free for others: a second
  # stop (down.sh after a test stopped the node) must not take them for the node's.
  rm -f "$n"/*.pid "$n/mntns" "$n/netns"
}

case "${1:-}" in
  start) start_node "$2" "$3" ;;
  stop) stop_node "$2" "$3" ;;
  *) echo "usage: $0 start STATE_DIR INDEX | stop STATE_DIR IP" >&2; exit 2 ;;
esac
