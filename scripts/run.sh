#!/usr/bin/env bash
# make run: bring up a cluster with the project's CRDs and the examples.
#
# Without $KUBECONFIG this starts the local control plane (etcd +
# kube-apiserver built from source, state in .controlplane/, see
# docs/controlplane.md); with $KUBECONFIG it uses that cluster. Then it
# installs crds/ and crds/hypershift-compat/, creates the operator namespace
# and applies every YAML under examples/, printing what it applied.
#
# The local control plane keeps running afterwards; stop it with
# `make controlplane-down`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

export OPERATOR_NAMESPACE="${OPERATOR_NAMESPACE:-image-mirror-system}"
CLI=dist/src/cli/main.js

log() { echo "run: $*" >&2; }

ensure_built() {
  if [[ ! -f dist/e2e/lib/apply-cli.js ]]; then
    log "compiling TypeScript (dist/ is missing)"
    npx tsc -p tsconfig.json || [[ -f dist/e2e/lib/apply-cli.js ]]
  fi
}

ensure_cluster() {
  if [[ -n "${KUBECONFIG:-}" ]]; then
    log "using the cluster in KUBECONFIG=$KUBECONFIG"
    return
  fi
  KUBECONFIG="$(e2e/controlplane/up.sh "$repo/.controlplane")"
  export KUBECONFIG
  log "local control plane is up; KUBECONFIG=$KUBECONFIG"
}

apply_manifests() {
  node dist/e2e/lib/apply-cli.js \
    --namespace "$OPERATOR_NAMESPACE" \
    crds crds/hypershift-compat \
    --recursive examples
}

# ---------------------------------------------------------------------------
# Operator start-up. Runs the controller in the foreground once the CLI has a
# `controller` subcommand; until then it says so and exits 0.
# ---------------------------------------------------------------------------
start_operator() {
  if [[ -f "$CLI" ]] && node "$CLI" --help 2>/dev/null | grep -qE '^\s+controller\b'; then
    log "starting the operator: node $CLI controller (namespace $OPERATOR_NAMESPACE)"
    exec node "$CLI" controller
  fi
  log "operator not built yet ($CLI has no controller command)"
}

ensure_built
ensure_cluster
apply_manifests
start_operator
if [[ "$KUBECONFIG" == "$repo/.controlplane/kubeconfig" ]]; then
  log "the control plane keeps running: export KUBECONFIG=$KUBECONFIG to use it, make controlplane-down to stop it"
fi
