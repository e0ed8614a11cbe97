#!/usr/bin/env bash
# Starts etcd and kube-apiserver on free 127.0.0.1 ports, the way
# controller-runtime's envtest does, and prints the path of an admin
# kubeconfig on stdout (progress goes to stderr).
#
#   e2e/controlplane/up.sh [STATE_DIR]      default: <repo>/.controlplane
#
# Environment:
#   CONTROLPLANE_TIMEOUT=90     seconds to wait for /readyz
#   CONTROLPLANE_BIN=DIR        use etcd and kube-apiserver from DIR instead of build.sh
#   CONTROLPLANE_NODES=1        serve real nodes (e2e/cluster): the Node authorizer
#                               and NodeRestriction, the ServiceAccount admission
#                               plugin, a client certificate for kubelets' APIs
#   CONTROLPLANE_OWNER_PID=PID  stop the control plane and remove STATE_DIR
#                               (down.sh --purge) once PID exits, so a killed
#                               test run leaves no servers or files behind
#
# Anything a previous run left in STATE_DIR (processes named in pid files,
# etcd data, certificates) is stopped and removed first: every start is a
# fresh, empty cluster.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

dir="$(cp_abs_dir "${1:-$repo/.controlplane}")"
timeout="${CONTROLPLANE_TIMEOUT:-90}"
nodes="${CONTROLPLANE_NODES:-0}"
started=$SECONDS

for tool in openssl curl node; do
  command -v "$tool" >/dev/null || { cp_log "$tool is required"; exit 1; }
done

bin="${CONTROLPLANE_BIN:-$("$here/build.sh")}"

# Three distinct free ports, held open together so they cannot repeat.
pick_ports() {
  node -e '
    const net = require("net");
    const servers = [];
    for (let i = 0; i < 3; i++) {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => {
        servers.push(s);
        if (servers.length === 3) {
          console.log(servers.map((x) => x.address().port).join(" "));
          servers.forEach((x) => x.close());
        }
      });
    }'
}

make_pki() {
  local pki="$dir/pki"
  mkdir -p "$pki" && chmod 700 "$pki"
  local key
  for key in ca serving admin sa $([[ "$nodes" == 1 ]] && echo kubelet-client); do
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$key.key" 2>/dev/null
  done
  openssl req -x509 -new -key "$pki/ca.key" -sha256 -days 3650 -subj "/CN=image-mirror-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null
  sign "$pki" serving "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
  sign "$pki" admin "/O=system:masters/CN=image-mirror-admin" "extendedKeyUsage=clientAuth"
  if [[ "$nodes" == 1 ]]; then
    # What kube-apiserver shows kubelets for logs, exec and port-forward.
    sign "$pki" kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  fi
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  chmod 600 "$pki"/*.key
}

# sign PKI_DIR NAME SUBJECT EXTENSIONS: NAME.crt signed by the CA, 1 year.
sign() {
  local pki="$1" name="$2" subject="$3" ext="$4"
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile <(printf 'keyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$ext") \
    -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

write_audit_policy() {
  # Writes, one event per request (ResponseComplete): tests count API
  # writes by reading audit.log. The API server's own bootstrap writes
  # (user system:apiserver) would only be noise. Every request of the shipped
  # ServiceAccounts, reads included, so that a refusal (403) shows.
  cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:apiserver]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
  resources:
  - group: ""
    resources: [configmaps, secrets]
  - group: imagemirror.io
  - group: hypershift.openshift.io
# Everything the shipped ServiceAccounts do (reads and refusals too): the RBAC test looks for 403s.
- level: Metadata
  users:
  - system:serviceaccount:image-mirror-system:image-mirror-controller
  - system:serviceaccount:image-mirror-agent:image-mirror-agent
- level: None
EOF
}

save_command_lines() {
  local authorization=(--authorization-mode=RBAC) admission=(--disable-admission-plugins=ServiceAccount)
  if [[ "$nodes" == 1 ]]; then
    # Kubelets (user system:node:<name>) get what their own Pods need, no more;
    # kube-controller-manager creates the service accounts Pods run as.
    authorization=(--authorization-mode=Node,RBAC)
    admission=(--enable-admission-plugins=NodeRestriction
      --kubelet-client-certificate="$dir/pki/kubelet-client.crt" --kubelet-client-key="$dir/pki/kubelet-client.key"
      --kubelet-certificate-authority="$dir/pki/ca.crt")
  fi
  cp_save_args "$dir" etcd "$bin/etcd" \
    --name=controlplane \
    --data-dir="$dir/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="controlplane=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --unsafe-no-fsync=true \
    --log-level=warn
  # Throwaway test cluster: durability is traded for speed (no fsync).
  cp_save_args "$dir" kube-apiserver "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file="$dir/pki/serving.crt" \
    --tls-private-key-file="$dir/pki/serving.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --cert-dir="$dir/pki" \
    "${authorization[@]}" \
    --service-account-issuer="https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    "${admission[@]}" \
    --audit-policy-file="$dir/audit-policy.yaml" \
    --audit-log-path="$dir/audit.log" \
    --endpoint-reconciler-type=none \
    --profiling=false
  # No controller-manager runs, so nothing would create the service accounts
  # the ServiceAccount admission plugin insists on (envtest disables it too).
  # The endpoint reconciler would fail every 10s: Endpoints reject loopback
  # addresses, and nothing here routes to the kubernetes Service anyway.
}

write_kubeconfig() {
  local b64="base64 -w0" tmp="$dir/kubeconfig.tmp"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: image-mirror-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 "$dir/pki/ca.crt")
users:
- name: image-mirror-admin
  user:
    client-certificate-data: $($b64 "$dir/pki/admin.crt")
    client-key-data: $($b64 "$dir/pki/admin.key")
contexts:
- name: image-mirror-local
  context:
    cluster: image-mirror-local
    user: image-mirror-admin
current-context: image-mirror-local
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$dir/kubeconfig"
}

start_watchdog() {
  local owner="$1"
  # The owner is gone, so nobody will read the logs either: purge.
  setsid bash -c 'source "$1"; while cp_alive "$3"; do sleep 1; done; exec "$2" "$4" --purge --quiet' \
    controlplane-watchdog "$here/lib.sh" "$here/down.sh" "$owner" "$dir" >/dev/null 2>&1 </dev/null &
  echo $! >"$dir/watchdog.pid"
}

# One attempt on fresh ports; returns 2 when a port was taken in between.
start_once() {
  make_pki
  read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT < <(pick_ports)
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\n' "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" >"$dir/ports.env"
  save_command_lines
  rm -rf "$dir/etcd"
  cp_start_from_args "$dir" etcd
  if ! cp_wait_for "$dir" etcd "curl -fsS --max-time 1 http://127.0.0.1:$ETCD_PORT/health" "$timeout"; then
    grep -q 'address already in use' "$dir/etcd.log" && return 2
    return 1
  fi
  cp_start_from_args "$dir" kube-apiserver
  if ! cp_wait_apiserver_ready "$dir" "$timeout"; then
    grep -q 'address already in use' "$dir/kube-apiserver.log" && return 2
    return 1
  fi
}

"$here/down.sh" "$dir" --quiet
rm -f "$dir"/{etcd,kube-apiserver}.log "$dir/audit.log"
# Recorded first thing: if the owner dies before the watchdog runs, the next
# test run's sweep (e2e/lib/controlplane.ts) still sees whose servers these are.
[[ -z "${CONTROLPLANE_OWNER_PID:-}" ]] || echo "$CONTROLPLANE_OWNER_PID" >"$dir/owner.pid"
write_audit_policy
for attempt in 1 2 3; do
  rc=0
  start_once || rc=$?
  ((rc == 0)) && break
  "$here/down.sh" "$dir" --quiet
  if ((rc != 2 || attempt == 3)); then
    cp_log "start-up failed; logs are in $dir"
    exit 1
  fi
  cp_log "a port was taken during start-up, retrying on new ports"
done
write_kubeconfig
if [[ -n "${CONTROLPLANE_OWNER_PID:-}" ]]; then
  start_watchdog "$CONTROLPLANE_OWNER_PID"
fi
cp_log "kube-apiserver ready on https://127.0.0.1:$APISERVER_PORT in $((SECONDS - started))s (state, logs and audit.log in $dir)"
echo "$dir/kubeconfig"
