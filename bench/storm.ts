// Edit storms on the real API server: one cluster-scoped IDMS that selects a
// single NodePool, edited 500 times in 10 s and then 100 times in 2 s, with
// a background fleet of 300 NodePools it does not select. Prints, per storm,
// the operator's target passes and output writes, how long after the last
// edit the NodePool's output (ConfigMap and Secret) carried it, and the
// longest time its ConfigMap and Secret disagreed.
//
//   node dist/bench/storm.js [--hosted-clusters 150] [--nodepools-per-cluster 2] [--namespaces 5]
//     [--storms 500:10000,100:2000] [--concurrency 4] [--kubeconfig K] [--json]
import { openCluster } from './lib/cluster.js';
import { shapeFromArgs } from './lib/fleet.js';
import { OPERATOR_NAMESPACE } from './lib/fleet-run.js';
import { runStorm, type StormSpec } from './lib/storm-run.js';
import { flagArg, fmt, numberArg, printMachine, stringArg, runMain } from './lib/stats.js';

const TARGET_LAG_MS = 2_000;

function stormsArg(argv: readonly string[]): StormSpec[] {
  const v = stringArg(argv, 'storms') ?? '500:10000,100:2000';
  return v.split(',').map((s) => {
    const [edits, ms] = s.split(':').map(Number);
    if (!Number.isInteger(edits) || !Number.isInteger(ms) || (edits ?? 0) < 1 || (ms ?? -1) < 0)
      throw new Error(`--storms: expected EDITS:MS[,...], got ${JSON.stringify(v)}`);
    return { edits: edits ?? 1, durationMs: ms ?? 0 };
  });
}

function refused(by: Record<string, number>): string {
  const parts = Object.entries(by).map(([what, n]) => `${what}: ${n}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

async function main(argv: readonly string[]): Promise<void> {
  printMachine();
  const cluster = await openCluster(stringArg(argv, 'kubeconfig'));
  try {
    const shape = { ...shapeFromArgs(argv), hostedClusters: numberArg(argv, 'hosted-clusters', 150) };
    const r = await runStorm(cluster, {
      shape,
      operatorNamespace: OPERATOR_NAMESPACE,
      storms: stormsArg(argv),
      concurrency: numberArg(argv, 'concurrency', 4),
      timeoutMs: numberArg(argv, 'timeout-ms', 300_000),
      log: (line) => console.error(`  ${line}`),
    });
    console.log(`\nstorm: one IDMS selecting 1 NodePool of ${r.fleetNodePools}, operator --concurrency ${numberArg(argv, 'concurrency', 4)}`);
    for (const s of r.storms) {
      console.log(`  ${s.edits} edits in ${fmt(s.stormMs / 1000, 2)} s:`);
      console.log(
        `    target passes ${s.passes} (${s.renderedPasses} wrote the output); the ConfigMap showed ${s.configMapVersionsSeen} of the ${s.edits} edits`,
      );
      if (s.writes) {
        const w = s.writes;
        console.log(
          `    writes (audit log): output ConfigMap ${w.configMap}, output Secret ${w.secret}, RenderedMirrorConfig status ${w.status}, other NodePools' outputs ${w.otherOutputs}, refused ${w.refused}${refused(w.refusedBy)}; API server time per output write ${fmt(s.writeServerMs ?? NaN)} ms`,
        );
      }
      console.log(
        `    last edit -> output carries it: ConfigMap ${fmt(s.lagMs.configMap)} ms, Secret ${fmt(s.lagMs.secret)} ms, both ${fmt(s.lagMs.output)} ms`,
      );
      const audited = s.secretToConfigMapMs === undefined ? '' : `; Secret write -> ConfigMap write (audit log) at most ${fmt(s.secretToConfigMapMs)} ms`;
      console.log(`    ConfigMap and Secret disagreed (watch): longest ${fmt(s.disagreementMs.max)} ms, in all ${fmt(s.disagreementMs.total)} ms${audited}`);
    }
    console.log(`  operator memory: RSS ${fmt(r.memory.rssMiB)} MiB, peak (VmHWM) ${fmt(r.memory.hwmMiB)} MiB`);
    console.log('targets:');
    for (const s of r.storms) {
      const met = s.lagMs.output <= TARGET_LAG_MS;
      console.log(
        `  ${s.edits}-edit storm: output <= ${TARGET_LAG_MS} ms after the last edit: ${fmt(s.lagMs.output)} ms ${met ? 'met' : 'MISSED'}; passes ${s.passes} for 1 selected NodePool`,
      );
    }
    if (flagArg(argv, 'json')) console.log(JSON.stringify({ benchmark: 'storm', result: r }));
  } finally {
    await cluster.stop();
  }
}

runMain(main);
