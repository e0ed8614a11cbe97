import { expect } from 'chai';
import { EventRecorder, type EventSpec } from '../../../src/controller/events.js';
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
