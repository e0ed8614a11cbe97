#!/usr/bin/env bash
# make cluster: the second way to the main job. Real nodes (kubelet +
# containerd each), the project image built from the Dockerfile and pushed
# to the cluster's registry, deploy/ and deploy/agent applied with kubectl,
# and a demo mirror to try. State and logs in .cluster/; it keeps running
# until `make cluster-down`.
#
# Environment: CLUSTER_NODES (default 2); see e2e/cluster/up.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
dir="$repo/.cluster"
started=$SECONDS

log() { echo "cluster: $*" >&2; }

kubeconfig="$(e2e/cluster/up.sh "$dir")"
# shellcheck disable=SC1091
source "$dir/cluster.env"
image="$(e2e/cluster/deploy.sh "$dir")"
demo="$(node dist/e2e/cluster/demo.js "$dir")"
log "ready in $((SECONDS - started))s"

k() { "$BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
echo
k get nodes -o wide
echo
k get pods -A -o wide
cat <<EOF

The operator runs from $image on $(echo $NODES | wc -w) nodes.
Try it (kubectl $("$BIN/kubectl" version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))') is in $BIN):

  export KUBECONFIG=$kubeconfig PATH=$BIN:\$PATH
  kubectl get rmc -A                                  # the cluster target: Ready, its content hash
  kubectl apply -f $demo/mirrors.yaml     # registry.example.com/demo -> $REGISTRY/demo
  kubectl get nodes -o custom-columns=NODE:.metadata.name,HASH:.metadata.annotations.imagemirror\\.io/applied-hash
  kubectl apply -f $demo/pod.yaml         # an image under the source name, by digest
  kubectl get pod demo -o wide                        # Running: pulled through the mirror
  kubectl describe pod demo | grep -A1 Pulled
  kubectl -n image-mirror-system logs deploy/image-mirror-controller
  kubectl -n image-mirror-agent logs ds/image-mirror-agent

Node files: $dir/nodes/<ip>/etc/containerd/certs.d (each node's /etc/containerd/certs.d).
Stop it with: make cluster-down
EOF
