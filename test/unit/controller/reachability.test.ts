// The per-target aggregation of the agents' probe summaries: counts over the
// nodes of a target, only for the current content hash, failures grouped with
// example nodes, and the MirrorsReachable condition decided from them.
import { expect } from 'chai';
import { summarize } from '../../../src/agent/probe/summary.js';
import {
  aggregateReachability,
  MAX_STATUS_MIRRORS,
  type NodeReport,
  nodeBelongsTo,
  nodeReportOf,
  reachabilityCondition,
} from '../../../src/controller/reachability.js';

const HASH = 'sha256:current';

/** A node's annotation as the agent writes it (summarize is the agent's own function). */
function report(name: string, hash: string, mirrors: Array<{ mirror: string; ok: boolean; errorClass?: string; message?: string }>, pool?: string): NodeReport {
  const outcomes = mirrors.map((m) => ({
    target: { mirror: m.mirror, runtimes: ['containerd'], mirrorOf: ['quay.io'] },
    result: m.ok ? { ok: true, latencyMs: 3 } : { ok: false, latencyMs: 3, errorClass: m.errorClass, message: m.message },
  }));
  const summary = JSON.stringify(summarize(outcomes as never, hash, undefined));
  return pool ? { name, pool, summary } : { name, summary };
}

describe('reachability: agents probe summaries aggregated per target', () => {
  it('counts reachable nodes per mirror and groups failures by class and message, with example nodes in byte order', () => {
    const x509 = { ok: false, errorClass: 'tls-unknown-authority', message: 'x509: certificate signed by unknown authority' };
    const nodes = [
      report('node-c', HASH, [
        { mirror: 'm.example:5000', ...x509 },
        { mirror: 'ok.example', ok: true },
      ]),
      report('node-a', HASH, [
        { mirror: 'm.example:5000', ok: true },
        { mirror: 'ok.example', ok: true },
      ]),
      report('node-b', HASH, [
        { mirror: 'm.example:5000', ...x509 },
        { mirror: 'ok.example', ok: true },
      ]),
    ];
    const r = aggregateReachability(nodes, HASH);
    expect(r.nodes).to.deep.equal({ total: 3, reporting: 3, stale: 0, unreported: 0 });
    expect(r.mirrors).to.deep.equal([
      {
        mirror: 'm.example:5000',
        runtimes: ['containerd'],
        nodes: 3,
        reachable: 1,
        failures: [{ errorClass: 'tls-unknown-authority', message: x509.message, nodes: 2, examples: ['node-b', 'node-c'] }],
      },
      { mirror: 'ok.example', runtimes: ['containerd'], nodes: 3, reachable: 3 },
    ]);
    const c = reachabilityCondition(r);
    expect(c).to.include({ type: 'MirrorsReachable', status: 'False', reason: 'MirrorUnreachable' });
    expect(c.message).to.equal('m.example:5000: 1/3 node(s) reach it (2 node(s): x509: certificate signed by unknown authority; node-b, node-c)');
  });

  it('counts only summaries of the current content hash: older ones are stale, missing or unreadable ones unreported', () => {
    const nodes: NodeReport[] = [
      report('fresh', HASH, [{ mirror: 'm.example', ok: true }]),
      report('old', 'sha256:before', [{ mirror: 'm.example', ok: false, errorClass: 'dns', message: 'no such host' }]),
      { name: 'silent' },
      { name: 'garbled', summary: '{"version": 2}' },
    ];
    const r = aggregateReachability(nodes, HASH);
    expect(r.nodes).to.deep.equal({ total: 4, reporting: 1, stale: 1, unreported: 2 });
    expect(r.mirrors).to.deep.equal([{ mirror: 'm.example', runtimes: ['containerd'], nodes: 1, reachable: 1 }]);
    const c = reachabilityCondition(r);
    expect(c).to.include({ status: 'True', reason: 'AllMirrorsReachable' });
    expect(c.message).to.equal('1/1 node(s) reach m.example; 3 of 4 node(s) not reported yet for this output');
  });

  it('says Unknown when no node reported for the current output, or no node installs it', () => {
    const stale = reachabilityCondition(aggregateReachability([report('n', 'sha256:before', [])], HASH));
    expect(stale).to.include({ status: 'Unknown', reason: 'NotReported' });
    expect(stale.message).to.equal('0/1 node(s) reported probes of the current output (1 report(s) describe an older output)');
    expect(reachabilityCondition(aggregateReachability([], HASH))).to.include({ status: 'Unknown', reason: 'NoNodes' });
    // No published output yet: nothing can be current.
    expect(aggregateReachability([report('n', HASH, [])], undefined).nodes.stale).to.equal(1);
    expect(reachabilityCondition(aggregateReachability([report('n', HASH, [])], HASH))).to.include({ status: 'True', reason: 'NoMirrors' });
  });

  it('lists at most MAX_STATUS_MIRRORS mirrors, the same ones every time, and counts the rest', () => {
    const mirrors = Array.from({ length: MAX_STATUS_MIRRORS + 7 }, (_, i) => ({ mirror: `m${String(i).padStart(3, '0')}.example`, ok: true }));
    const r = aggregateReachability([report('n', HASH, [...mirrors].reverse())], HASH);
    expect(r.mirrors).to.have.length(MAX_STATUS_MIRRORS);
    expect(r.mirrors[0]?.mirror).to.equal('m000.example');
    expect(r.omittedMirrors).to.equal(7);
    expect(reachabilityCondition(r).message).to.match(/and 52 more mirror\(s\)$/);
  });

  it('maps a node to its target as the agent does: the NodePool label by name, else the cluster target', () => {
    const labelled = nodeReportOf({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'w1', labels: { 'hypershift.openshift.io/nodePool': 'workers' } } });
    const plain = nodeReportOf({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'w2', labels: { other: 'x' } } });
    expect(labelled).to.deep.equal({ name: 'w1', pool: 'workers' });
    expect(nodeBelongsTo(labelled, { kind: 'NodePool', namespace: 'clusters', name: 'workers' })).to.equal(true);
    expect(nodeBelongsTo(labelled, { kind: 'NodePool', namespace: 'clusters', name: 'infra' })).to.equal(false);
    expect(nodeBelongsTo(labelled, { kind: 'Cluster' })).to.equal(false);
    expect(nodeBelongsTo(plain, { kind: 'Cluster' })).to.equal(true);
  });
});
