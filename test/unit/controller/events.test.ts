import { expect } from 'chai';
import { EventRecorder, type EventSpec, eventsFor, withStatusUid } from '../../../src/controller/events.js';
import { FakeCluster } from './fake-cluster.js';

const involved = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', namespace: 'clusters', name: 'workers', uid: 'u1' };
const degraded: EventSpec = { involved, namespace: 'clusters', type: 'Warning', reason: 'MissingReference', message: 'ConfigMap clusters/mirrors not found' };
const recovered: EventSpec = { ...degraded, type: 'Normal', reason: 'Recovered', message: 'inputs are valid again' };

describe('EventRecorder', () => {
  let c: FakeCluster;
  let t: number;
  let recorder: EventRecorder;

  beforeEach(() => {
    c = new FakeCluster();
    t = Date.parse('2026-12-01T10:00:00Z');
    recorder = new EventRecorder(c, 'replica-a', () => new Date(t), 2);
  });

  it('counts a repeat of the same Event on the one it created, with the time of the last', async () => {
    await recorder.record(degraded);
    t += 60_000;
    await recorder.record(recovered);
    t += 60_000;
    await recorder.record(degraded);
    expect(c.events.map((e) => [e.reason, e.count])).to.deep.equal([
      ['MissingReference', 2],
      ['Recovered', 1],
    ]);
    const first = c.events[0]!;
    expect(first.firstTimestamp).to.deep.equal(new Date('2026-12-01T10:00:00Z'));
    expect(first.lastTimestamp).to.deep.equal(new Date('2026-12-01T10:02:00Z'));
  });

  it('creates a new Event when the message, the reason or the object differs', async () => {
    await recorder.record(degraded);
    await recorder.record({ ...degraded, message: 'ConfigMap clusters/other not found' });
    expect(c.events.map((e) => e.count)).to.deep.equal([1, 1]);
    await recorder.record({ ...degraded, involved: { ...involved, uid: 'u2' } });
    expect(c.events).to.have.length(3);
  });

  it('creates the Event again when the one it counted on has expired', async () => {
    await recorder.record(degraded);
    c.expiredEvents.add(c.events[0]?.metadata?.name as string);
    await recorder.record(degraded);
    await recorder.record(degraded);
    expect(c.events.map((e) => e.count)).to.deep.equal([1, 2]);
  });

  it('remembers only the last `size` Events', async () => {
    const other = (n: number): EventSpec => ({ ...degraded, message: `problem ${n}` });
    await recorder.record(other(1));
    await recorder.record(other(2));
    await recorder.record(other(3)); // size 2: forgets problem 1
    await recorder.record(other(1));
    await recorder.record(other(3));
    expect(c.events.map((e) => [e.message, e.count])).to.deep.equal([
      ['problem 1', 1],
      ['problem 2', 1],
      ['problem 3', 2],
      ['problem 1', 1],
    ]);
  });
});

describe('eventsFor: Events about a target', () => {
  const ok = {
    target: { kind: 'Cluster' as const },
    gathered: { inputs: { entries: [], insecure: [], blocked: [], access: [], contributors: [] }, problems: [], references: [] },
  };
  const text = { type: 'Warning' as const, reason: 'MissingReference' as const, message: 'ConfigMap clusters/mirrors not found' };

  it('a NodePool target: on the NodePool and on its RenderedMirrorConfig', () => {
    const np = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: 'workers', namespace: 'clusters', uid: 'np-uid' } };
    const rendered = { ...ok, target: { kind: 'NodePool' as const, namespace: 'clusters', name: 'workers' }, gathered: { ...ok.gathered, nodePool: np } };
    const events = eventsFor(rendered.target, { ...rendered, outcome: { ok: false, errors: [] } }, 'image-mirror-system', text);
    expect(events.map((e) => [e.namespace, e.involved.kind, e.involved.name, e.involved.uid])).to.deep.equal([
      ['clusters', 'NodePool', 'workers', 'np-uid'],
      ['clusters', 'RenderedMirrorConfig', 'workers', undefined],
    ]);
    const rmc = { apiVersion: 'imagemirror.io/v1alpha1', kind: 'RenderedMirrorConfig', metadata: { name: 'workers', namespace: 'clusters', uid: 'rmc-uid' } };
    expect(withStatusUid(events, rmc).map((e) => e.involved.uid)).to.deep.equal(['np-uid', 'rmc-uid']);
    // Not stored (yet): the Events go out without a uid rather than not at all.
    expect(withStatusUid(events, undefined).map((e) => e.involved.uid)).to.deep.equal(['np-uid', undefined]);
  });

  it('the cluster target with no object to blame: one Event, on the RenderedMirrorConfig', () => {
    const events = eventsFor({ kind: 'Cluster' }, { ...ok, outcome: { ok: false, errors: [] } }, 'image-mirror-system', text);
    expect(events.map((e) => [e.namespace, e.involved.kind, e.involved.name])).to.deep.equal([['image-mirror-system', 'RenderedMirrorConfig', 'cluster']]);
  });

  it('the cluster target with a problem on one of our objects: on that object (namespace default) and on the RenderedMirrorConfig', () => {
    const origin = { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name: 'corp', uid: 'idms-uid' };
    const outcome = { ok: false as const, errors: [{ reason: 'InvalidMirror' as const, message: 'bad', origin }] };
    const events = eventsFor({ kind: 'Cluster' }, { ...ok, outcome }, 'image-mirror-system', text);
    expect(events.map((e) => [e.namespace, e.involved.kind, e.involved.name])).to.deep.equal([
      ['default', 'ImageDigestMirrorSet', 'corp'],
      ['image-mirror-system', 'RenderedMirrorConfig', 'cluster'],
    ]);
  });
});
