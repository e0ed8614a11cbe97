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
    examples/hypershift examples/cluster
  # examples/seeds/* are rendered one folder at a time (see README): each sets
  # a default mirror, and a target takes only one.
}

# ---------------------------------------------------------------------------
# Operator start-up: runs `controller` in the background (metrics and probes on
# free loopback ports, JSON log in a file), waits until every target's
# RenderedMirrorConfig has settled and prints what was rendered. On a terminal
# the operator then keeps running until Ctrl-C (edit the examples and run
# e2e/operator/show-cli.js again to see the effect); otherwise, or with
# RUN_ONCE=1, it is stopped once the result is shown.
# ---------------------------------------------------------------------------
start_operator() {
  local logdir status=0
  logdir="$(mktemp -d "${TMPDIR:-/tmp}/image-mirror-run.XXXXXX")"
  log "starting the operator (namespace $OPERATOR_NAMESPACE, log $logdir/operator.log)"
  node "$CLI" controller --namespace "$OPERATOR_NAMESPACE" \
    --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0 \
    >"$logdir/operator.log" 2>&1 &
  operator_pid=$!
  # Never leave the operator behind, whatever happens next (SIGTERM: it drains and exits).
  trap 'kill -TERM "$operator_pid" 2>/dev/null || true; wait "$operator_pid" 2>/dev/null || true' EXIT
  node dist/e2e/operator/show-cli.js --namespace "$OPERATOR_NAMESPACE" --timeout 60 || status=$?
  if ! kill -0 "$operator_pid" 2>/dev/null; then
    log "the operator exited early; last lines of its log:"
    tail -n 20 "$logdir/operator.log" >&2
    return 1
  fi
  if [[ $status -ne 0 ]]; then
    log "the result did not settle; last lines of the operator log:"
    tail -n 20 "$logdir/operator.log" >&2
  elif [[ -t 0 && "${RUN_ONCE:-0}" != 1 ]]; then
    log "the operator keeps running (pid $operator_pid); Ctrl-C stops it"
    wait "$operator_pid" || true
  fi
  return "$status"
}

ensure_built
ensure_cluster
apply_manifests
start_operator
if [[ "$KUBECONFIG" == "$repo/.controlplane/kubeconfig" ]]; then
  log "the control plane keeps running: export KUBECONFIG=$KUBECONFIG to use it, make controlplane-down to stop it"
fi
