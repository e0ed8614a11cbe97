#!/usr/bin/env bash
# Runs the benchmarks and prints their figures on stdout (progress on stderr).
# `make bench` builds first (dist/ and the local control plane).
#
#   scripts/bench.sh [render-scale] [mirror-order] [fleet] [latency] [storm] [restart]     default: all six
#
# Environment:
#   BENCH_ARGS_RENDER, BENCH_ARGS_ORDER, BENCH_ARGS_FLEET, BENCH_ARGS_LATENCY, BENCH_ARGS_STORM, BENCH_ARGS_RESTART
#                      extra flags per benchmark
#     (e.g. BENCH_ARGS_FLEET="--hosted-clusters 50" for a quick run; see each bench/*.ts header)
#   KUBECONFIG_BENCH   run fleet, latency and storm against this cluster instead of a fresh local
#                      control plane (no audit log there: writes are counted by a watch); restart
#                      always uses a local control plane (it stops and starts the API server)
# Each benchmark that needs an API server starts its own local control plane on
# 127.0.0.1 and stops it when done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

benches=("$@")
[[ ${#benches[@]} -eq 0 ]] && benches=(render-scale mirror-order fleet latency storm restart)

cluster_args=()
[[ -n "${KUBECONFIG_BENCH:-}" ]] && cluster_args=(--kubeconfig "$KUBECONFIG_BENCH")

for b in "${benches[@]}"; do
  echo "== $b ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  case "$b" in
    render-scale) node --expose-gc dist/bench/render-scale.js ${BENCH_ARGS_RENDER:-} ;;
    mirror-order) node dist/bench/mirror-order.js ${BENCH_ARGS_ORDER:-} ;;
    fleet) node dist/bench/fleet.js "${cluster_args[@]}" ${BENCH_ARGS_FLEET:-} ;;
    latency) node dist/bench/latency.js "${cluster_args[@]}" ${BENCH_ARGS_LATENCY:-} ;;
    storm) node dist/bench/storm.js "${cluster_args[@]}" ${BENCH_ARGS_STORM:-} ;;
    restart) node dist/bench/restart.js ${BENCH_ARGS_RESTART:-} ;;
    *) echo "unknown benchmark: $b (render-scale, mirror-order, fleet, latency, storm, restart)" >&2; exit 2 ;;
  esac
  echo
done
