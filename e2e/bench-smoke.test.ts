// Smoke variants of bench/fleet.ts, bench/latency.ts and bench/storm.ts
// against the real API server, at a size that fits in the e2e suite: no
// timing targets, only correctness. The operator converges every output,
// writes each changed output exactly once (counted in the audit log, or by a
// watch against another cluster), writes nothing on a resync with no change,
// follows every edit of a NodePool config with one output write, and turns a
// storm of edits of an IDMS that selects one NodePool into a few passes of
// that NodePool only, ending with the last edit in its ConfigMap and Secret.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { deleteFleet, type FleetShape } from '../bench/lib/fleet.js';
import { runFleet } from '../bench/lib/fleet-run.js';
import { runLatency } from '../bench/lib/latency-run.js';
import { deleteStorm, runStorm, stormNames } from '../bench/lib/storm-run.js';
import type { BenchCluster } from '../bench/lib/cluster.js';
import { auditLog, kube, kubeconfigPath } from './hooks.js';

function cluster(): BenchCluster {
  const audit = auditLog();
  return { kubeconfig: kubeconfigPath(), kube: kube(), ...(audit ? { audit } : {}), stop: async () => undefined };
}

const quiet = (): void => undefined;

describe('bench smoke: fleet, latency and storm on the API server', function () {
  this.timeout(180_000);

  it('fleet of 5 NodePools: converges, one write per changed output, none on a resync or a restart, floor measured', async () => {
    const id = randomBytes(3).toString('hex');
    const shape: FleetShape = { prefix: `bsf-${id}`, hostedClusters: 5, nodePoolsPerCluster: 1, namespaces: 2, entries: 3 };
    const c = cluster();
    try {
      const r = await runFleet(c, {
        shape,
        operatorNamespace: `bsf-${id}-op`,
        concurrency: 4,
        resyncPeriodMs: 2_000,
        setupConcurrency: 4,
        timeoutMs: 60_000,
        floor: true,
        log: quiet,
      });
      expect(r.nodePools).to.equal(5);
      expect(r.resync.reconciles).to.be.at.least(5);
      expect(r.change.writes.watchModified, 'watch: MODIFIED events per output for the change').to.include({ min: 1, max: 1 });
      expect(r.resync.writes.watchModified.sum, 'watch: output modifications on the resync').to.equal(0);
      if (c.audit) {
        expect(r.change.writes.audit?.perOutput, 'audit: output writes per output for the change').to.deep.equal({ min: 1, max: 1, sum: 5 });
        expect(r.change.writes.audit?.targetStatus, 'audit: one status write per target').to.equal(5);
        expect(r.resync.writes.audit?.total, 'audit: writes on the resync').to.equal(0);
        expect(r.restart.writes.audit?.total, 'audit: writes of a restarted operator over the converged fleet').to.equal(0);
      }
      expect(r.restart.reconciles).to.be.at.least(5);
      expect(r.restart.writes.watchModified.sum, 'watch: output modifications after the restart').to.equal(0);
      expect(r.floor?.defaultsMs).to.be.greaterThan(0);
      expect(r.floor?.keepAliveMs).to.be.greaterThan(0);
      expect(r.change.memory.rssMiB).to.be.greaterThan(0);
    } finally {
      await deleteFleet(c.kube, shape, [`bsf-${id}-op`, `bsf-${id}-floor`]);
    }
  });

  it('latency: every edit of a NodePool config reaches its output, one output write per edit', async () => {
    const id = randomBytes(3).toString('hex');
    const shape: FleetShape = { prefix: `bsl-${id}`, hostedClusters: 2, nodePoolsPerCluster: 1, namespaces: 1, entries: 3 };
    const c = cluster();
    try {
      const r = await runLatency(c, { shape, operatorNamespace: `bsl-${id}-op`, edits: 5, gapMs: 0, concurrency: 4, timeoutMs: 30_000, log: quiet });
      expect(r.samples).to.have.length(5);
      expect(r.samples.every((ms) => ms > 0 && ms < 30_000)).to.equal(true);
      if (c.audit) expect(r.outputWrites, 'audit: output writes for 5 edits').to.equal(5);
    } finally {
      await deleteFleet(c.kube, shape, [`bsl-${id}-op`, `bsl-${id}-latency`]);
    }
  });

  it('storm: 60 edits of an IDMS selecting one NodePool collapse into a few passes of that NodePool, ending with the last edit', async () => {
    const id = randomBytes(3).toString('hex');
    const shape: FleetShape = { prefix: `bss-${id}`, hostedClusters: 3, nodePoolsPerCluster: 1, namespaces: 1, entries: 3 };
    const c = cluster();
    try {
      const r = await runStorm(c, {
        shape,
        operatorNamespace: `bss-${id}-op`,
        storms: [{ edits: 60, durationMs: 1_200 }],
        concurrency: 4,
        timeoutMs: 60_000,
        log: quiet,
      });
      const s = r.storms[0];
      if (!s) throw new Error('no storm figures');
      console.log(
        `      ${s.edits} edits in ${s.stormMs.toFixed(0)} ms: ${s.passes} passes, output ${s.lagMs.output.toFixed(0)} ms after the last edit, ` +
          `ConfigMap/Secret apart at most ${s.disagreementMs.max.toFixed(0)} ms`,
      );
      expect(r.fleetNodePools).to.equal(4);
      // runStorm waited until both the ConfigMap and the Secret carried the last edit.
      expect(s.lagMs.output).to.be.greaterThan(0);
      expect(s.passes, 'passes: a few for the storm, none for the NodePools it does not select').to.be.within(1, 15);
      if (c.audit) {
        expect(s.writes?.otherOutputs, 'audit: writes to the outputs of NodePools the IDMS does not select').to.equal(0);
        expect(s.writes?.configMap, 'audit: output ConfigMap writes').to.be.within(1, 15);
        expect(s.writes?.secret, 'audit: one Secret write per ConfigMap write').to.equal(s.writes?.configMap);
      }
    } finally {
      await deleteStorm(c.kube, shape);
      await deleteFleet(c.kube, shape, [`bss-${id}-op`, stormNames(shape).namespace]);
    }
  });
});
