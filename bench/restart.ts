// API server restarts on the real (local) API server: the operator over 100
// NodePools, the API server stopped for 30 s and started again (same etcd),
// three rounds. Prints when every watch that failed was back and when a
// change made right after the server was ready reached the outputs.
//
//   node dist/bench/restart.js [--hosted-clusters 50] [--nodepools-per-cluster 2] [--rounds 3] [--down-ms 30000]
//     [--concurrency 4] [--json]
import { openCluster } from './lib/cluster.js';
import { shapeFromArgs } from './lib/fleet.js';
import { OPERATOR_NAMESPACE } from './lib/fleet-run.js';
import { runRestart } from './lib/restart-run.js';
import { flagArg, fmt, numberArg, printMachine, runMain } from './lib/stats.js';

const TARGET_MS = 5_000;

async function main(argv: readonly string[]): Promise<void> {
  printMachine();
  // Always the local control plane: the benchmark stops and starts its API server.
  const cluster = await openCluster(undefined);
  try {
    const r = await runRestart(cluster, {
      shape: { ...shapeFromArgs(argv), hostedClusters: numberArg(argv, 'hosted-clusters', 50) },
      operatorNamespace: OPERATOR_NAMESPACE,
      rounds: numberArg(argv, 'rounds', 3),
      downMs: numberArg(argv, 'down-ms', 30_000),
      concurrency: numberArg(argv, 'concurrency', 4),
      timeoutMs: numberArg(argv, 'timeout-ms', 300_000),
      log: (line) => console.error(`  ${line}`),
    });
    console.log(`\nrestart: ${r.fleetNodePools} NodePools, API server down ${fmt(r.rounds[0]?.downMs ?? NaN, 0)} ms per round`);
    for (const [i, x] of r.rounds.entries()) {
      const codes = Object.entries(x.answeredFailures).map(([c, n]) => `${c} x${n}`);
      console.log(
        `  round ${i + 1}: ${x.informersFailed} informers failed (longest retry delay ${x.maxRetryMs} ms); after ready: ` +
          `every watch back ${fmt(x.watchesBackMs.max, 0)} ms (median ${fmt(x.watchesBackMs.median, 0)} ms), ` +
          `change in the outputs ${x.changeMs} ms (${x.changeAfterWriteMs} ms after it was written); answers refused: ${codes.join(', ') || 'none'}`,
      );
    }
    console.log(`  operator memory: RSS ${fmt(r.memory.rssMiB)} MiB, peak (VmHWM) ${fmt(r.memory.hwmMiB)} MiB`);
    console.log('targets:');
    const watches = Math.max(...r.rounds.map((x) => x.watchesBackMs.max));
    const change = Math.max(...r.rounds.map((x) => x.changeMs));
    console.log(`  every watch back <= ${TARGET_MS} ms after the API server is ready: worst ${fmt(watches, 0)} ms ${watches <= TARGET_MS ? 'met' : 'MISSED'}`);
    console.log(`  change made right after the restart in the outputs <= ${TARGET_MS} ms: worst ${change} ms ${change <= TARGET_MS ? 'met' : 'MISSED'}`);
    if (flagArg(argv, 'json')) console.log(JSON.stringify({ benchmark: 'restart', result: r }));
  } finally {
    await cluster.stop();
  }
}

runMain(main);
