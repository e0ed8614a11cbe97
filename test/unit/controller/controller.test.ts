// The controller wired to an in-memory API (FakeCluster): events reach the
// right targets, object statuses follow target passes, and the target kind
// follows HyperShift's CRDs coming and going. The same flows run against the
// real API server in e2e/operator.
import { expect } from 'chai';
import type { KubeObject } from '../../../src/model/source.js';
import { Controller } from '../../../src/controller/controller.js';
import { silentLogger } from '../../../src/controller/log.js';
import { ControllerMetrics } from '../../../src/controller/metrics.js';
import { FakeCluster } from './fake-cluster.js';

const OPS = 'ops';
// Short, so that HyperShift coming and going is noticed quickly; long enough that resyncs leave idle moments.
const RESYNC_MS = 150;
const NS = 'clusters';

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function idms(name: string, mirror: string): KubeObject {
  return {
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'ImageDigestMirrorSet',
    metadata: { name },
    spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: [mirror] }] },
  };
}

function conditionOf(o: KubeObject | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  const list = (o?.status as { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } | undefined)?.conditions;
  return list?.find((c) => c.type === type);
}

function data(c: FakeCluster, ns: string, name: string): Record<string, string> | undefined {
  return c.find('ConfigMap', ns, name)?.data as Record<string, string> | undefined;
}

describe('Controller (in-memory API)', function () {
  this.timeout(10_000);
  let c: FakeCluster;
  let served: boolean;
  let ctl: Controller;

  beforeEach(async () => {
    c = new FakeCluster();
    served = false;
    c.put(idms('corp', 'mirror.example.net/hub'));
    ctl = new Controller(
      { operatorNamespace: OPS, identity: 'test', concurrency: 2, resyncPeriodMs: RESYNC_MS, targets: 'auto' },
      { informerApi: c, writer: c, hypershiftServed: async () => served, logger: silentLogger(), metrics: new ControllerMetrics({ processMetrics: false }) },
    );
    await ctl.start();
  });

  afterEach(() => ctl.stop());

  it('renders the cluster target, follows an IDMS edit, and sets the object status', async () => {
    await until('the cluster output', () => data(c, OPS, 'cluster-image-mirrors')?.['registries.conf']?.includes('mirror.example.net/hub'));
    await until('Applied on the IDMS', () => conditionOf(c.find('ImageDigestMirrorSet', undefined, 'corp'), 'Applied')?.status === 'True');
    expect(conditionOf(c.find('ImageDigestMirrorSet', undefined, 'corp'), 'Applied')?.message).to.equal('rendered into 1 target');

    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => Object.assign(o, { spec: idms('corp', 'mirror.example.net/hub-v2').spec }));
    await until('the new output', () => data(c, OPS, 'cluster-image-mirrors')?.['registries.conf']?.includes('hub-v2'));
    await until(
      'observedGeneration 2',
      () => (c.find('ImageDigestMirrorSet', undefined, 'corp')?.status as { observedGeneration?: number })?.observedGeneration === 2,
    );
    await until('an idle queue', () => ctl.idle());
    // Settled: resyncs write nothing.
    const writes = c.writes.length;
    await new Promise((r) => setTimeout(r, 3 * RESYNC_MS));
    expect(c.writes.slice(writes)).to.deep.equal([]);
  });

  it('re-renders exactly the targets that read a changed ConfigMap', async () => {
    served = true;
    c.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mirrors', namespace: NS },
      data: { 'idms.yaml': doc('quay.io/a', 'mirror.example.net/a') },
    });
    c.put({
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: NS },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'other', namespace: NS }, spec: {} });
    for (const [np, hc] of [
      ['a', 'hc'],
      ['b', 'hc'],
      ['c', 'other'],
    ] as const) {
      c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: np, namespace: NS }, spec: { clusterName: hc } });
    }
    // The resync notices HyperShift, switches to NodePool targets and removes the cluster target's output.
    await until('NodePool outputs', () => ['a', 'b', 'c'].every((n) => data(c, NS, `${n}-image-mirrors`)));
    await until('the cluster output gone', () => !c.find('ConfigMap', OPS, 'cluster-image-mirrors') && !c.find('RenderedMirrorConfig', OPS, 'cluster'));
    await until('an idle queue', () => ctl.idle());

    const before = c.writes.length;
    c.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mirrors', namespace: NS },
      data: { 'idms.yaml': doc('quay.io/a', 'mirror.example.net/a2') },
    });
    await until('a and b re-rendered', () =>
      ['a', 'b'].every((n) => data(c, NS, `${n}-image-mirrors`)?.['registries.conf']?.includes('mirror.example.net/a2')),
    );
    await until('an idle queue', () => ctl.idle());
    const written = c.writes
      .slice(before)
      .filter((w) => w.kind === 'ConfigMap')
      .map((w) => w.name)
      .sort();
    expect(written).to.deep.equal(['a-image-mirrors', 'b-image-mirrors']);
  });

  it('writes an object status once for a change that re-renders every target, after their statuses, from those statuses', async () => {
    served = true;
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'hc', namespace: NS }, spec: {} });
    const pools = Array.from({ length: 24 }, (_, i) => `p${i}`);
    for (const np of pools)
      c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: np, namespace: NS }, spec: { clusterName: 'hc' } });
    await until('every NodePool output', () => pools.every((n) => data(c, NS, `${n}-image-mirrors`)), 8000);
    await until(
      'Applied on all of them',
      () => conditionOf(c.find('ImageDigestMirrorSet', undefined, 'corp'), 'Applied')?.message === 'rendered into 24 targets',
      8000,
    );
    await until('an idle controller', () => ctl.idle());

    const before = c.writes.length;
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => Object.assign(o, { spec: idms('corp', 'mirror.example.net/hub-v2').spec }));
    await until('every output changed', () => pools.every((n) => data(c, NS, `${n}-image-mirrors`)?.['registries.conf']?.includes('hub-v2')), 8000);
    await until('an idle controller', () => ctl.idle());
    const writes = c.writesSince(before);
    const objectWrites = writes.filter((w) => w.kind === 'ImageDigestMirrorSet/status');
    expect(objectWrites).to.have.length(1);
    // It was written after the last target status it summarises.
    const lastTargetStatus = writes.map((w) => w.kind).lastIndexOf('RenderedMirrorConfig/status');
    expect(writes.indexOf(objectWrites[0]!)).to.be.greaterThan(lastTargetStatus);
    const applied = conditionOf(c.find('ImageDigestMirrorSet', undefined, 'corp'), 'Applied');
    expect(applied).to.include({ status: 'True', message: 'rendered into 24 targets' });
  });

  it('removes the outputs of a deleted NodePool and follows HyperShift going away', async () => {
    served = true;
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'hc', namespace: NS }, spec: {} });
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: 'a', namespace: NS }, spec: { clusterName: 'hc' } });
    await until('the NodePool output', () => data(c, NS, 'a-image-mirrors'));
    c.remove('NodePool', NS, 'a');
    await until('its output and status gone', () => !c.find('ConfigMap', NS, 'a-image-mirrors') && !c.find('RenderedMirrorConfig', NS, 'a'));
    served = false;
    await until('the cluster output again', () => data(c, OPS, 'cluster-image-mirrors'));
  });
});

describe('Controller: routing changes of cluster-scoped objects', function () {
  this.timeout(10_000);
  let c: FakeCluster;
  let ctl: Controller;
  let metrics: ControllerMetrics;
  const HS = 'hypershift.openshift.io/v1beta1';

  /** Target passes so far, by target (the pass histogram counts every pass, writing or not). */
  async function passes(): Promise<number> {
    const m = await metrics.reconcileDuration.get();
    return m.values
      .filter((v) => v.metricName === 'imagemirror_reconcile_duration_seconds_count' && v.labels.kind === 'target')
      .reduce((n, v) => n + v.value, 0);
  }

  function selecting(name: string, mirror: string, labels: Record<string, string>): KubeObject {
    const base = idms(name, mirror);
    return { ...base, spec: { ...(base.spec as object), nodePoolSelector: { matchLabels: labels } } };
  }

  const has = (np: string, mirror: string): boolean => data(c, NS, `${np}-image-mirrors`)?.['registries.conf']?.includes(mirror) ?? false;

  beforeEach(async () => {
    c = new FakeCluster();
    metrics = new ControllerMetrics({ processMetrics: false });
    c.put(idms('corp', 'mirror.example.net/hub'));
    c.put(selecting('gold-only', 'gold.example.net/hub', { tier: 'gold' }));
    c.put({ apiVersion: HS, kind: 'HostedCluster', metadata: { name: 'hc', namespace: NS }, spec: {} });
    for (const [np, tier] of [
      ['a', 'gold'],
      ['b', 'silver'],
      ['c', undefined],
    ] as const) {
      c.put({ apiVersion: HS, kind: 'NodePool', metadata: { name: np, namespace: NS, ...(tier ? { labels: { tier } } : {}) }, spec: { clusterName: 'hc' } });
    }
    ctl = new Controller(
      { operatorNamespace: OPS, identity: 'test', concurrency: 2, resyncPeriodMs: 0, targets: 'nodepools', coalesce: { quietMs: 20, maxHoldMs: 100 } },
      { informerApi: c, writer: c, hypershiftServed: async () => true, logger: silentLogger(), metrics },
    );
    await ctl.start();
    await until('every output', () => ['a', 'b', 'c'].every((np) => has(np, 'mirror.example.net/hub')));
    expect([has('a', 'gold.example.net'), has('b', 'gold.example.net'), has('c', 'gold.example.net')]).to.deep.equal([true, false, false]);
    await until('an idle controller', () => ctl.idle());
  });

  afterEach(() => ctl.stop());

  it('queues only the NodePools the selector matches, before or after the change', async () => {
    let before = await passes();
    c.edit('ImageDigestMirrorSet', undefined, 'gold-only', (o) => Object.assign(o, { spec: selecting('x', 'gold.example.net/v2', { tier: 'gold' }).spec }));
    await until('a follows', () => has('a', 'gold.example.net/v2'));
    await until('an idle controller', () => ctl.idle());
    expect((await passes()) - before, 'one pass: a').to.equal(1);

    // The selector moves from gold to silver: a loses the object, b gains it, c is not touched.
    before = await passes();
    const writes = c.writes.length;
    c.edit('ImageDigestMirrorSet', undefined, 'gold-only', (o) => Object.assign(o, { spec: selecting('x', 'gold.example.net/v2', { tier: 'silver' }).spec }));
    await until('b gains it and a loses it', () => has('b', 'gold.example.net/v2') && !has('a', 'gold.example.net'));
    await until('an idle controller', () => ctl.idle());
    expect((await passes()) - before, 'two passes: a and b').to.equal(2);
    const outputs = c
      .writesSince(writes)
      .filter((w) => w.kind === 'ConfigMap')
      .map((w) => w.name)
      .sort();
    expect(outputs).to.deep.equal(['a-image-mirrors', 'b-image-mirrors']);

    // Without a selector: every target.
    before = await passes();
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => Object.assign(o, { spec: idms('corp', 'mirror.example.net/hub-v2').spec }));
    await until('all follow', () => ['a', 'b', 'c'].every((np) => has(np, 'hub-v2')));
    await until('an idle controller', () => ctl.idle());
    expect((await passes()) - before, 'three passes').to.equal(3);

    // Deleted: the targets it applied to.
    before = await passes();
    c.remove('ImageDigestMirrorSet', undefined, 'gold-only');
    await until('b loses it', () => !has('b', 'gold.example.net'));
    await until('an idle controller', () => ctl.idle());
    expect((await passes()) - before, 'one pass: b').to.equal(1);
  });

  it('treats a malformed selector as selecting every target, as gather does', async () => {
    const before = await passes();
    c.edit('ImageDigestMirrorSet', undefined, 'gold-only', (o) =>
      Object.assign(o, { spec: { ...(selecting('x', 'gold.example.net/hub', {}).spec as object), nodePoolSelector: { matchLabels: 'tier' } } }),
    );
    await until('a, b and c Degraded', () => ['a', 'b', 'c'].every((np) => conditionOf(c.find('RenderedMirrorConfig', NS, np), 'Degraded')?.status === 'True'));
    await until('an idle controller', () => ctl.idle());
    expect((await passes()) - before).to.equal(3);
  });

  it('collapses a burst of edits into a few passes that end with the last edit', async () => {
    const before = await passes();
    for (let i = 1; i <= 50; i++) {
      c.edit('ImageDigestMirrorSet', undefined, 'gold-only', (o) =>
        Object.assign(o, { spec: selecting('x', `gold.example.net/e${i}`, { tier: 'gold' }).spec }),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    await until('a carries the last edit', () => has('a', 'gold.example.net/e50'));
    await until('an idle controller', () => ctl.idle());
    const n = (await passes()) - before;
    expect(n).to.be.at.least(1);
    // 50 edits over 100 ms or more (timers under load): a few passes (every 100 ms at most, and the last), never one per edit.
    expect(n).to.be.below(10);
  });
});

function doc(source: string, mirror: string): string {
  return `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: m}\nspec:\n  imageDigestMirrors:\n  - source: ${source}\n    mirrors: [${mirror}]\n`;
}

describe('Controller: resync', function () {
  this.timeout(10_000);
  const HS = 'hypershift.openshift.io/v1beta1';
  const PERIOD_MS = 400;

  it('runs each target about once per period, and not again soon after a pass it had for another reason', async () => {
    const c = new FakeCluster();
    c.put(idms('corp', 'mirror.example.net/hub'));
    c.put({ apiVersion: HS, kind: 'HostedCluster', metadata: { name: 'hc', namespace: NS }, spec: {} });
    for (const np of ['a', 'b']) c.put({ apiVersion: HS, kind: 'NodePool', metadata: { name: np, namespace: NS }, spec: { clusterName: 'hc' } });
    // Every pass logs through a child logger named after its target: count them by target.
    const passes: string[] = [];
    const logger = silentLogger();
    const child = logger.child.bind(logger);
    logger.child = ((bindings: Record<string, unknown>, options?: object) => {
      if (typeof bindings.target === 'string') passes.push(bindings.target);
      return child(bindings, options);
    }) as typeof logger.child;
    const count = (np: string, from: number): number => passes.slice(from).filter((t) => t === `np:${NS}/${np}`).length;
    const ctl = new Controller(
      { operatorNamespace: OPS, identity: 'test', concurrency: 2, resyncPeriodMs: PERIOD_MS, targets: 'nodepools' },
      { informerApi: c, writer: c, hypershiftServed: async () => true, logger, metrics: new ControllerMetrics({ processMetrics: false }) },
    );
    await ctl.start();
    try {
      await until('both outputs', () => ['a', 'b'].every((np) => data(c, NS, `${np}-image-mirrors`)));
      await until('an idle controller', () => ctl.idle());
      // Three periods: the resync ticks twelve times; each target is due two to four times (once per period), not twelve.
      let from = passes.length;
      const writes = c.writes.length;
      await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
      expect([count('a', from), count('b', from)], `passes of a and b in three periods: ${count('a', from)} ${count('b', from)}`).to.satisfy((n: number[]) =>
        n.every((k) => k >= 2 && k <= 4),
      );
      expect(c.writesSince(writes), 'a resync that changes nothing writes nothing').to.deep.equal([]);

      // a is edited every 100 ms for three periods: each edit runs a, and the resync never adds a pass of its own.
      from = passes.length;
      for (let i = 0; i < 12; i++) {
        c.edit('NodePool', NS, 'a', (o) => Object.assign(o, { metadata: { ...o.metadata, annotations: { edit: String(i) } } }));
        await new Promise((r) => setTimeout(r, 100));
      }
      await until('an idle controller', () => ctl.idle());
      expect(count('a', from), 'one pass of a per edit').to.equal(12);
      expect(count('b', from), 'b on the resync alone').to.be.within(2, 4);
    } finally {
      await ctl.stop();
    }
  });
});
