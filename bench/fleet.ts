// Fleet convergence on the real API server: the operator over 500
// HostedClusters x 2 NodePools; one change of the cluster-wide IDMS timed
// until all 1,000 outputs carry it, against the floor of a minimal client
// making the same writes; writes per output; writes on a resync with no
// change; operator memory with the fleet loaded.
//
//   node dist/bench/fleet.js [--hosted-clusters 500] [--nodepools-per-cluster 2] [--namespaces 5]
//     [--entries 20] [--concurrency 4] [--resync-period-ms 30000] [--kubeconfig K] [--json]
import { openCluster } from './lib/cluster.js';
import { shapeFromArgs } from './lib/fleet.js';
import { OPERATOR_NAMESPACE, runFleet, type FleetResult, type PhaseWrites } from './lib/fleet-run.js';
import type { MemoryFigures } from './lib/operator.js';
import { flagArg, fmt, numberArg, printMachine, stringArg, runMain } from './lib/stats.js';

/** The targets by fleet size: at 10,000 NodePools and more the fleet-scale ones, below that those of the default 1,000. */
function targetsFor(nodePools: number): { ratio: number; rssMiB: number } {
  return nodePools >= 10_000 ? { ratio: 1.3, rssMiB: 512 } : { ratio: 1.5, rssMiB: 256 };
}

async function main(argv: readonly string[]): Promise<void> {
  printMachine();
  const cluster = await openCluster(stringArg(argv, 'kubeconfig'));
  try {
    const result = await runFleet(cluster, {
      operatorNamespace: OPERATOR_NAMESPACE,
      shape: shapeFromArgs(argv),
      concurrency: numberArg(argv, 'concurrency', 4),
      resyncPeriodMs: numberArg(argv, 'resync-period-ms', 30_000),
      setupConcurrency: 16,
      timeoutMs: numberArg(argv, 'timeout-ms', 300_000),
      floor: true,
      log: (line) => console.error(`  ${line}`),
    });
    print(result, cluster.audit !== undefined);
    if (flagArg(argv, 'json')) console.log(JSON.stringify({ benchmark: 'fleet', result }));
  } finally {
    await cluster.stop();
  }
}

function mem(m: MemoryFigures): string {
  const heap = m.heapUsedMiB === undefined ? '' : `; V8 heap used ${fmt(m.heapUsedMiB)} of ${fmt(m.heapTotalMiB ?? NaN)} MiB`;
  return `RSS ${fmt(m.rssMiB)} MiB, peak (VmHWM) ${fmt(m.hwmMiB)} MiB${heap}`;
}

function writes(w: PhaseWrites): string {
  const watch = `watch MODIFIED per output min ${w.watchModified.min} max ${w.watchModified.max} (sum ${w.watchModified.sum})`;
  if (!w.audit) return `${watch}; no audit log`;
  const a = w.audit;
  return (
    `output ConfigMap writes per output min ${a.perOutput.min} max ${a.perOutput.max} (sum ${a.perOutput.sum}); ` +
    `RMC status ${a.targetStatus}, object status ${a.objectStatus}, output Secrets ${a.outputSecrets}, other ${a.other}, refused ${a.failed}, total ${a.total}; ${watch}`
  );
}

function print(r: FleetResult, audited: boolean): void {
  console.log(`\nfleet: ${r.nodePools} NodePools, operator --concurrency ${r.concurrency}`);
  console.log(`  setup (create HostedClusters and NodePools): ${fmt(r.setupMs / 1000, 1)} s`);
  console.log(`  initial convergence (operator start -> every output exists): ${fmt(r.initial.convergeMs / 1000, 2)} s`);
  console.log(`  memory after initial convergence: ${mem(r.initial.memory)}`);
  console.log(`  resync with no change (period ${r.resync.periodMs} ms, ${r.resync.reconciles} reconciles): ${writes(r.resync.writes)}`);
  console.log(
    `  IDMS change -> every output carries it: ${fmt(r.change.convergeMs / 1000, 2)} s ` +
      `(operator CPU ${fmt(r.change.operatorCpuSeconds, 2)} s, resync reconciles meanwhile ${r.change.resyncReconcilesDuring})`,
  );
  if (r.change.statusesMs !== undefined)
    console.log(`  IDMS change -> last RenderedMirrorConfig status written (audit log): ${fmt(r.change.statusesMs / 1000, 2)} s`);
  console.log(`  writes for the change: ${writes(r.change.writes)}`);
  console.log(
    `  mean target pass ${fmt(r.change.meanPassMs)} ms` +
      (r.change.serverMs
        ? `; API server time per write: output ConfigMap ${fmt(r.change.serverMs.outputConfigMap)} ms, RMC status ${fmt(r.change.serverMs.targetStatus)} ms`
        : ''),
  );
  const cpu = r.change.serverCpu;
  if (cpu) {
    console.log(
      `  CPU during the change: kube-apiserver ${fmt(cpu.apiServer, 2)} s, etcd ${fmt(cpu.etcd, 2)} s, the benchmark's watch ${fmt(r.change.benchCpuSeconds, 2)} s`,
    );
  }
  console.log(`  memory after the change: ${mem(r.change.memory)}`);
  console.log(
    `  operator restart over the converged fleet: every target reconciled ${fmt(r.restart.syncMs / 1000, 2)} s after the start ` +
      `(${r.restart.reconciles} reconciles); ${writes(r.restart.writes)}`,
  );
  console.log(`  memory after the restart: ${mem(r.restart.memory)}`);
  const f = r.floor;
  if (f) {
    const server = f.serverMs === undefined ? '' : `; API server time per write ${fmt(f.serverMs)} ms`;
    console.log(`  floor (same ${r.nodePools} ConfigMap writes, concurrency ${r.concurrency}${server}):`);
    console.log(
      `    client-node defaults (a new TLS connection per request): ${fmt(f.defaultsMs / 1000, 2)} s; operator/floor ${fmt(r.change.convergeMs / f.defaultsMs, 2)}`,
    );
    console.log(`    keep-alive connections: ${fmt(f.keepAliveMs / 1000, 2)} s; operator/floor ${fmt(r.change.convergeMs / f.keepAliveMs, 2)}`);
    const fc = f.keepAliveCpu;
    if (fc) {
      const server = fc.server ? `, kube-apiserver ${fmt(fc.server.apiServer, 2)} s, etcd ${fmt(fc.server.etcd, 2)} s` : '';
      console.log(`    CPU over the keep-alive pass: the floor client (and the benchmark's watch) ${fmt(fc.clientSeconds, 2)} s${server}`);
    }
  }
  const target = targetsFor(r.nodePools);
  console.log(`targets (for ${r.nodePools} NodePools):`);
  if (f) {
    const ratio = r.change.convergeMs / f.keepAliveMs;
    console.log(`  change within ${target.ratio}x the floor (keep-alive client): ${fmt(ratio, 2)}x ${ratio <= target.ratio ? 'met' : 'MISSED'}`);
  }
  const a = r.change.writes.audit;
  const exact = a ? a.perOutput.min === 1 && a.perOutput.max === 1 : r.change.writes.watchModified.min === 1 && r.change.writes.watchModified.max === 1;
  console.log(`  exactly one write per changed output (${audited ? 'audit log' : 'watch'}): ${exact ? 'met' : 'MISSED'}`);
  const resyncWrites = r.resync.writes.audit ? r.resync.writes.audit.total : r.resync.writes.watchModified.sum;
  console.log(`  zero writes on a resync with no change: ${resyncWrites} ${resyncWrites === 0 ? 'met' : 'MISSED'}`);
  const peak = Math.max(r.initial.memory.hwmMiB, r.change.memory.hwmMiB);
  console.log(
    `  operator RSS under ${target.rssMiB} MiB with the fleet loaded: RSS ${fmt(r.change.memory.rssMiB)} MiB, peak ${fmt(peak)} MiB ${peak < target.rssMiB ? 'met' : 'MISSED'}`,
  );
  // A restart lists every output at once: under the Deployment's heap bound that must not run out of memory.
  const restartWrites = r.restart.writes.audit ? r.restart.writes.audit.total : r.restart.writes.watchModified.sum;
  const restartPeak = r.restart.memory.hwmMiB;
  console.log(
    `  restart over the converged fleet: ${restartWrites} writes, peak RSS ${fmt(restartPeak)} MiB ${restartWrites === 0 && restartPeak < target.rssMiB ? 'met' : 'MISSED'}`,
  );
}

runMain(main);
