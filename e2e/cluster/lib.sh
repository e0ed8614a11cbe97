# Shared helpers for the cluster tier's scripts (up.sh, down.sh, node.sh);
# sourced, not executed. Builds on e2e/controlplane/lib.sh (pid files that are
# trusted only when their process names the state directory).
#
# State directory layout (everything a cluster creates lives here):
#   netns.pid            holder of the cluster's network namespace
#   controlplane/        e2e/controlplane's state dir (etcd, kube-apiserver, pki/)
#   kube-controller-manager.*, kube-scheduler.*, forward-*.*, registry/
#   nodes/<ip>/          one directory per node, see node.sh
#   kubeconfig           admin kubeconfig for the machine side (through the forwarder)
#   cluster.env          what up.sh decided (ports, image names, node list)

cluster_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../controlplane/lib.sh
source "$cluster_here/../controlplane/lib.sh"

cl_log() { echo "cluster: $*" >&2; }

# Runs a command inside the cluster's network namespace.
cl_in_netns() {
  local dir="$1"
  shift
  nsenter --net="/proc/$(cat "$dir/netns.pid")/ns/net" -- "$@"
}

# Starts "$@" in its own session, output appended to $dir/$name.log, pid in $dir/$name.pid.
cl_start() {
  local dir="$1" name="$2"
  shift 2
  setsid "$@" >>"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# Writes OUT_DIR/NAME.{crt,key}, signed by CA_DIR/ca.{crt,key} (the control plane's CA).
#   cl_sign CA_DIR OUT_DIR NAME SUBJECT EXTENSIONS
cl_sign() {
  local ca="$1" pki="$2" name="$3" subject="$4" ext="$5"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  chmod 600 "$pki/$name.key"
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile <(printf 'keyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext") \
    -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

# Writes a kubeconfig for the client certificate PKI_DIR/NAME.{crt,key}.
#   cl_kubeconfig FILE SERVER PKI_DIR NAME
cl_kubeconfig() {
  local file="$1" server="$2" pki="$3" name="$4"
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: image-mirror-cluster
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$pki/$name.crt")
    client-key-data: $(base64 -w0 "$pki/$name.key")
contexts:
- name: image-mirror-cluster
  context:
    cluster: image-mirror-cluster
    user: $name
current-context: image-mirror-cluster
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

# This shell and its ancestors: never a sweep's victims (up.sh runs down.sh
# with the state dir on both command lines).
cl_ancestors() {
  local p=$$
  while [[ "$p" =~ ^[0-9]+$ && "$p" -gt 1 ]]; do
    echo "$p"
    p="$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)"
  done
}

# Pids of every process whose command line contains TEXT (fixed string).
cl_pids_mentioning() {
  local text="$1" mine
  mine=" $(cl_ancestors | tr '\n' ' ') "
  ps -eo pid=,args= | grep -F -- "$text" | while read -r pid _; do
    [[ "$mine" == *" $pid "* ]] || echo "$pid"
  done
  return 0
}

# SIGKILLs every process in the cgroup subtree REL of each v1 hierarchy (and
# the unified one), then removes the subtree's directories, deepest first.
cl_kill_cgroup_tree() {
  local rel="$1" h d pid round
  for round in 1 2 3; do
    for h in /sys/fs/cgroup/*/; do
      d="$h${rel#/}"
      [[ -d "$d" ]] || continue
      while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done
    sleep 0.2
  done
  for h in /sys/fs/cgroup/*/; do
    d="$h${rel#/}"
    [[ -d "$d" ]] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# The namespace inode of a process, as ps shows it: TYPE is net or mnt.
cl_ns_of() { { readlink "/proc/$1/ns/$2" 2>/dev/null || true; } | tr -dc 0-9; }

# SIGKILLs every process whose namespace of type TYPE (net, mnt) is NS; never
# the namespace this shell is in (that would be the whole machine).
#
# The namespace is held open (a file descriptor of this shell) from the first
# process found until the last round: a namespace whose last process is gone
# frees its inode number, and the kernel hands it to the next namespace
# created on the machine (another test's, another program's), which a later
# round would otherwise take for this one.
cl_kill_namespace() {
  local type="$1" ns="$2" round mine pids pid pin=""
  [[ -n "$ns" ]] || return 0
  if [[ "$ns" == "$(cl_ns_of self "$type")" || "$ns" == "$(cl_ns_of 1 "$type")" ]]; then
    cl_log "refusing to kill the processes of this shell's own $type namespace ($ns)"
    return 1
  fi
  for pid in $(ps -eo "pid=,${type}ns=" | awk -v ns="$ns" '$2 == ns { print $1 }'); do
    exec {pin}<"/proc/$pid/ns/$type" 2>/dev/null || { pin=""; continue; }
    [[ "$(stat -L -c %i "/proc/$BASHPID/fd/$pin" 2>/dev/null)" == "$ns" ]] && break
    exec {pin}<&-
    pin=""
  done
  [[ -n "$pin" ]] || return 0
  mine=" $(cl_ancestors | tr '\n' ' ') "
  for round in 1 2 3; do
    pids="$(ps -eo "pid=,${type}ns=" | awk -v ns="$ns" '$2 == ns { print $1 }')"
    [[ -n "$pids" ]] || break
    for pid in $pids; do [[ "$mine" == *" $pid "* ]] || kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.2
  done
  exec {pin}<&-
  return 0
}
