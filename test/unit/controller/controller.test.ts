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

function doc(source: string, mirror: string): string {
  return `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: m}\nspec:\n  imageDigestMirrors:\n  - source: ${source}\n    mirrors: [${mirror}]\n`;
}
