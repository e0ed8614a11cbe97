// Edit-to-output latency on the real API server: 200 edits of one
// NodePool's config ConfigMap (an ITMS document), each timed until the
// NodePool's output carries it, with a background fleet loaded.
//
//   node dist/bench/latency.js [--edits 200] [--hosted-clusters 500] [--nodepools-per-cluster 2]
//     [--namespaces 5] [--gap-ms 20] [--concurrency 4] [--kubeconfig K] [--json]
import { openCluster } from './lib/cluster.js';
import { shapeFromArgs } from './lib/fleet.js';
import { OPERATOR_NAMESPACE } from './lib/fleet-run.js';
import { runLatency } from './lib/latency-run.js';
import { flagArg, fmt, median, numberArg, percentile, printMachine, stringArg, runMain } from './lib/stats.js';

const TARGET_P50_MS = 100;
const TARGET_P99_MS = 500;

async function main(argv: readonly string[]): Promise<void> {
  printMachine();
  const cluster = await openCluster(stringArg(argv, 'kubeconfig'));
  try {
    const r = await runLatency(cluster, {
      operatorNamespace: OPERATOR_NAMESPACE,
      shape: shapeFromArgs(argv),
      edits: numberArg(argv, 'edits', 200),
      gapMs: numberArg(argv, 'gap-ms', 20),
      concurrency: numberArg(argv, 'concurrency', 4),
      timeoutMs: numberArg(argv, 'timeout-ms', 300_000),
      log: (line) => console.error(`  ${line}`),
    });
    const s = r.samples;
    const [p50, p90, p99] = [percentile(s, 50), percentile(s, 90), percentile(s, 99)];
    console.log(`\nlatency: ${s.length} edits of one NodePool config ConfigMap, ${r.fleetNodePools} NodePools loaded`);
    console.log(
      `  edit -> output changed (ms): p50 ${fmt(p50)}  p90 ${fmt(p90)}  p99 ${fmt(p99)}  min ${fmt(Math.min(...s))}  max ${fmt(Math.max(...s))}  median ${fmt(median(s))}`,
    );
    if (r.outputWrites !== undefined)
      console.log(`  output ConfigMap writes during the edits: ${r.outputWrites} for ${s.length} edits; refused writes ${r.refusedWrites}`);
    console.log(`  operator memory: RSS ${fmt(r.memory.rssMiB)} MiB, peak (VmHWM) ${fmt(r.memory.hwmMiB)} MiB`);
    console.log('targets:');
    console.log(`  p50 < ${TARGET_P50_MS} ms: ${fmt(p50)} ${p50 < TARGET_P50_MS ? 'met' : 'MISSED'}`);
    console.log(`  p99 < ${TARGET_P99_MS} ms: ${fmt(p99)} ${p99 < TARGET_P99_MS ? 'met' : 'MISSED'}`);
    if (flagArg(argv, 'json')) console.log(JSON.stringify({ benchmark: 'latency', result: r }));
  } finally {
    await cluster.stop();
  }
}

runMain(main);
