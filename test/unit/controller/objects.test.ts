import { expect } from 'chai';
import type { KubeObject } from '../../../src/model/source.js';
import type { Problem } from '../../../src/model/types.js';
import { buildObjectStatus, objectState, reportOf, selectedTargets, type TargetReport, writeObjectStatus } from '../../../src/controller/objects.js';
import { setCondition, sameJSON, type Condition } from '../../../src/controller/conditions.js';
import { RESOURCES } from '../../../src/controller/kube.js';
import { FakeCluster } from './fake-cluster.js';

function idms(name: string, entries: unknown[], selector?: unknown, status?: unknown): KubeObject {
  const spec: Record<string, unknown> = { imageDigestMirrors: entries };
  if (selector) spec.nodePoolSelector = selector;
  const o: KubeObject = { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', metadata: { name, generation: 3 }, spec };
  if (status) o.status = status;
  return o;
}

function np(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name, namespace: 'ns', labels } };
}

/** A target's report: rendered (Ready) or not, with our IDMS objects named in `contributors`. */
function report(target: string, rendered: boolean, contributors: string[], problems: Problem[] = []): TargetReport {
  const origins = contributors.map((name) => ({ apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name }));
  return { target, rendered, contributors: origins, problems };
}

const valid = [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }];
const now = (): Date => new Date('2030-01-01T00:00:00Z');

function conditions(obj: KubeObject, reports: TargetReport[], pools?: KubeObject[]): Record<string, Condition> {
  const st = buildObjectStatus(objectState(obj, selectedTargets(obj, pools), reports), now);
  expect(st.observedGeneration).to.equal(3);
  return Object.fromEntries(st.conditions.map((c) => [c.type, c]));
}

describe('object status (Accepted, Applied)', () => {
  const pools = [np('a', { gpu: 'true' }), np('b')];

  it('selects NodePools by nodePoolSelector, or the cluster target only with an empty selector', () => {
    expect(selectedTargets(idms('x', valid), pools)).to.deep.equal(['np:ns/a', 'np:ns/b']);
    expect(selectedTargets(idms('x', valid, { matchLabels: { gpu: 'true' } }), pools)).to.deep.equal(['np:ns/a']);
    expect(selectedTargets(idms('x', valid), undefined)).to.deep.equal(['cluster']);
    expect(selectedTargets(idms('x', valid, { matchLabels: { gpu: 'true' } }), undefined)).to.deep.equal([]);
  });

  it('is Accepted and Applied when every selected target rendered it', () => {
    const s = [report('np:ns/a', true, ['x']), report('np:ns/b', true, ['x'])];
    const c = conditions(idms('x', valid), s, pools);
    expect(c.Accepted).to.include({ status: 'True', reason: 'Valid', observedGeneration: 3 });
    expect(c.Applied).to.include({ status: 'True', reason: 'Applied', message: 'rendered into 2 targets' });
  });

  it('is not Accepted when the object itself is invalid, naming field and value', () => {
    const bad = idms('x', [{ source: 'docker.io', mirrors: ['https://mirror.example.net'] }]);
    const c = conditions(bad, [], pools);
    expect(c.Accepted).to.include({ status: 'False', reason: 'InvalidMirror' });
    expect(c.Accepted?.message).to.contain('spec.imageDigestMirrors[0].mirrors[0]').and.contain('https://mirror.example.net');
    expect(c.Applied).to.include({ status: 'False', reason: 'TargetNotRendered' });
  });

  it('is not Accepted when it conflicts with other inputs of a target, naming the target', () => {
    const conflict: Problem = {
      reason: 'PolicyConflict',
      message: 'source docker.io has different mirrorSourcePolicy values',
      origin: { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name: 'x' },
      field: 'spec.imageDigestMirrors[0].mirrorSourcePolicy',
    };
    const s = [report('np:ns/a', false, ['x'], [conflict]), report('np:ns/b', true, ['x'])];
    const c = conditions(idms('x', valid), s, pools);
    expect(c.Accepted).to.include({ status: 'False', reason: 'PolicyConflict' });
    expect(c.Accepted?.message).to.contain('(in NodePool ns/a)');
    expect(c.Applied).to.include({ status: 'False', reason: 'TargetNotRendered', message: '1 of 2 selected targets have not rendered it: NodePool ns/a' });
  });

  it('ignores problems of other objects and of documents embedded in ConfigMaps with the same name', () => {
    const other: Problem = {
      reason: 'InvalidSource',
      message: 'bad',
      origin: { apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', name: 'x', location: 'ConfigMap ns/m key idms.yaml' },
    };
    const s = [report('np:ns/b', false, [], [other])];
    const c = conditions(idms('x', valid, { matchLabels: { gpu: 'true' } }), s, pools);
    expect(c.Accepted?.status).to.equal('True');
  });

  it('says NoMatchingTargets when its selector matches no target', () => {
    const c = conditions(idms('x', valid, { matchLabels: { nothing: 'here' } }), [], pools);
    expect(c.Applied).to.include({ status: 'False', reason: 'NoMatchingTargets' });
  });

  it('reads what a RenderedMirrorConfig status says: Ready, our contributors, problems naming objects', () => {
    const rmc = (ready: 'True' | 'False', status: Record<string, unknown>): KubeObject => ({
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'RenderedMirrorConfig',
      metadata: { name: 'a', namespace: 'ns' },
      spec: { target: { kind: 'NodePool', namespace: 'ns', name: 'a' } },
      status: { ...status, conditions: [{ type: 'Ready', status: ready, reason: 'x', message: '', lastTransitionTime: '2030-01-01T00:00:00Z' }] },
    });
    const contributors = [
      { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name: 'x', generation: 3 },
      { apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', name: 'x', location: 'ConfigMap ns/m key idms.yaml' },
      { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', namespace: 'ns', name: 'a' },
    ];
    const problem = {
      reason: 'PolicyConflict',
      message: 'm',
      field: 'spec.f',
      object: { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name: 'x' },
    };
    expect(reportOf(rmc('True', { contributors }))).to.deep.equal({
      target: 'np:ns/a',
      rendered: true,
      contributors: [contributors[0]],
      problems: [],
    });
    const degraded = reportOf(rmc('False', { contributors, problems: [problem] }));
    expect(degraded?.rendered).to.equal(false);
    expect(degraded?.problems).to.deep.equal([{ reason: 'PolicyConflict', message: 'm', field: 'spec.f', origin: problem.object }]);
    // A target that has not rendered it does not count, whatever its old contributors say.
    const c = conditions(idms('x', valid), degraded ? [degraded] : [], pools);
    expect(c.Applied).to.include({ status: 'False', reason: 'TargetNotRendered' });
    expect(c.Accepted).to.include({ status: 'False', reason: 'PolicyConflict' });
  });

  it('writes the status only when it changed, keeping fields it does not manage', async () => {
    const fake = new FakeCluster();
    const stored = fake.put(idms('x', valid, undefined, { extra: 'kept' }));
    const s = [report('cluster', true, ['x'])];
    const status = buildObjectStatus(objectState(stored, ['cluster'], s), now);
    expect(await writeObjectStatus(fake, RESOURCES.IDMS, stored, status)).to.equal(true);
    const after = fake.find('ImageDigestMirrorSet', undefined, 'x') as KubeObject;
    expect((after.status as { extra: string }).extra).to.equal('kept');
    const again = buildObjectStatus(objectState(after, ['cluster'], s), () => new Date('2031-01-01T00:00:00Z'));
    expect(await writeObjectStatus(fake, RESOURCES.IDMS, after, again)).to.equal(false);
    expect(fake.writes.map((w) => w.kind)).to.deep.equal(['ImageDigestMirrorSet/status']);
  });
});

describe('conditions', () => {
  const t1 = (): Date => new Date('2030-01-01T00:00:00.123Z');
  const t2 = (): Date => new Date('2030-01-02T00:00:00Z');

  it('keeps lastTransitionTime while the status stays, and moves it when the status changes', () => {
    let c = setCondition([], { type: 'Ready', status: 'True', reason: 'A', message: 'm1' }, 1, t1);
    expect(c[0]?.lastTransitionTime).to.equal('2030-01-01T00:00:00Z');
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'B', message: 'm2' }, 2, t2);
    expect(c[0]).to.deep.equal({
      type: 'Ready',
      status: 'True',
      reason: 'B',
      message: 'm2',
      lastTransitionTime: '2030-01-01T00:00:00Z',
      observedGeneration: 2,
    });
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'C', message: 'm3' }, 2, t2);
    expect(c[0]?.lastTransitionTime).to.equal('2030-01-02T00:00:00Z');
  });

  it('keeps the order of other conditions', () => {
    let c = setCondition([], { type: 'Accepted', status: 'True', reason: 'R', message: '' }, undefined, t1);
    c = setCondition(c, { type: 'Applied', status: 'True', reason: 'R', message: '' }, undefined, t1);
    c = setCondition(c, { type: 'Accepted', status: 'False', reason: 'R', message: '' }, undefined, t1);
    expect(c.map((x) => x.type)).to.deep.equal(['Accepted', 'Applied']);
  });

  it('compares JSON regardless of key order and undefined fields', () => {
    expect(sameJSON({ a: 1, b: { c: [1, { d: 2, e: undefined }] } }, { b: { c: [1, { d: 2 }] }, a: 1 })).to.equal(true);
    expect(sameJSON({ a: [1, 2] }, { a: [2, 1] })).to.equal(false);
    expect(sameJSON({ a: 1 }, { a: 1, b: 2 })).to.equal(false);
    expect(sameJSON({ a: 1, b: 2 }, { a: 1 })).to.equal(false);
    expect(sameJSON({ a: null }, {})).to.equal(false);
    expect(sameJSON({ a: [] }, { a: {} })).to.equal(false);
    expect(sameJSON({ a: '1' }, { a: 1 })).to.equal(false);
    expect(sameJSON([undefined], [null])).to.equal(true);
    expect(sameJSON({ t: new Date(0) }, { t: '1970-01-01T00:00:00.000Z' })).to.equal(true);
  });
});
