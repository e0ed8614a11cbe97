import { expect } from 'chai';
import { StatusLane } from '../../../src/controller/status-lane.js';
import { FakeTime, settle } from '../lib/fake-time.js';

/** A promise with its resolve/reject exposed. */
function gate(): { promise: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

/** Submits one write per key that records its start and then waits for its gate; `between` runs after each submit. */
function submitGated(lane: StatusLane, keys: string[], between: () => void = () => {}): { started: string[]; gates: Array<ReturnType<typeof gate>> } {
  const started: string[] = [];
  const gates = keys.map(() => gate());
  for (const [i, key] of keys.entries()) {
    lane.submit(key, async () => {
      started.push(key);
      await gates[i]!.promise;
    });
    between();
  }
  return { started, gates };
}

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('StatusLane', () => {
  it('runs the writes of one key in order, and settled waits for them', async () => {
    const lane = new StatusLane({ limit: 4, onError: () => {} });
    const log: string[] = [];
    const first = gate();
    lane.submit('a', async () => {
      await first.promise;
      log.push('a1');
    });
    lane.submit('a', async () => {
      log.push('a2');
    });
    lane.submit('b', async () => {
      log.push('b1');
    });
    let settled = false;
    const waiting = lane.settled('a').then(() => (settled = true));
    await tick();
    // b is not held up by a; a2 waits for a1.
    expect(log).to.deep.equal(['b1']);
    expect(settled).to.equal(false);
    expect(lane.idle()).to.equal(false);
    first.open();
    await waiting;
    expect(log).to.deep.equal(['b1', 'a1', 'a2']);
    expect(lane.idle()).to.equal(true);
  });

  it('runs at most `limit` writes at once; the others wait for a slot', async () => {
    const lane = new StatusLane({ limit: 2, onError: () => {} });
    const { started, gates } = submitGated(lane, ['a', 'b', 'c']);
    await tick();
    expect(started).to.deep.equal(['a', 'b']);
    gates[1]!.open();
    await tick();
    expect(started).to.deep.equal(['a', 'b', 'c']);
    gates[0]!.open();
    gates[2]!.open();
    await lane.drain();
    expect(lane.idle()).to.equal(true);
  });

  it('holds writes while target passes wait, and runs them at full width once the queue is empty', async () => {
    let outputsWaiting = true;
    let idle = 0;
    const lane = new StatusLane({ limit: 3, outputsWaiting: () => outputsWaiting, onError: () => {}, onIdle: () => idle++ });
    const started: string[] = [];
    for (const key of ['a', 'b', 'c', 'd']) lane.submit(key, async () => void started.push(key));
    await new Promise((r) => setTimeout(r, 20));
    expect(started).to.deep.equal([]);
    expect(lane.pending()).to.equal(4);
    // Nothing polls: the target queue pumps the lane when it has nothing left waiting.
    outputsWaiting = false;
    await new Promise((r) => setTimeout(r, 20));
    expect(started).to.deep.equal([]);
    lane.pump();
    await new Promise((r) => setTimeout(r, 20));
    expect(started).to.deep.equal(['a', 'b', 'c', 'd']);
    await lane.drain();
    expect(lane.pending()).to.equal(0);
    expect(idle).to.be.greaterThan(0);
  });

  it('lets a write that waited maxWaitMs through, `busyLimit` at a time, while target passes still wait', async () => {
    const time = new FakeTime();
    const lane = new StatusLane({ limit: 3, busyLimit: 1, maxWaitMs: 100, outputsWaiting: () => true, now: time.now, timers: time, onError: () => {} });
    const { started, gates } = submitGated(lane, ['a', 'b', 'c'], () => time.skip(10));
    await settle();
    expect(started).to.deep.equal([]);
    // One timer, armed for a's deadline (a was submitted at 0): no poll.
    expect(time.timers()).to.equal(1);
    await time.advance(75); // a has waited 105 ms, b 95, c 85
    expect(started).to.deep.equal(['a']);
    await time.advance(100); // b and c are overdue too, but one at a time
    expect(started).to.deep.equal(['a']);
    gates[0]!.open();
    await settle();
    expect(started).to.deep.equal(['a', 'b']);
    gates[1]!.open();
    gates[2]!.open();
    await lane.drain();
    expect(started).to.deep.equal(['a', 'b', 'c']);
  });

  it('runs an urgent write at once while target passes wait (busyLimit at a time), routine ones still held', async () => {
    const time = new FakeTime();
    const lane = new StatusLane({ limit: 3, busyLimit: 1, outputsWaiting: () => true, now: time.now, timers: time, onError: () => {} });
    const started: string[] = [];
    const gates = [gate(), gate(), gate()];
    lane.submit('routine', async () => void started.push('routine'));
    lane.submit(
      'u1',
      async () => {
        started.push('u1');
        await gates[0]!.promise;
      },
      { urgent: true },
    );
    lane.submit('u2', async () => void started.push('u2'), { urgent: true });
    await settle();
    // The default wait of a routine write is a minute; urgent ones do not wait for the outputs, one at a time.
    expect(started).to.deep.equal(['u1']);
    gates[0]!.open();
    await settle();
    expect(started).to.deep.equal(['u1', 'u2']);
    await time.advance(59_000);
    expect(started).to.deep.equal(['u1', 'u2']);
    await time.advance(1_500);
    expect(started).to.deep.equal(['u1', 'u2', 'routine']);
    expect(lane.idle()).to.equal(true);
  });

  it('settled starts a waiting write of its key at once, ahead of the others', async () => {
    const lane = new StatusLane({ limit: 1, maxWaitMs: 0, outputsWaiting: () => true, onError: () => {} });
    const g = gate();
    const started: string[] = [];
    lane.submit('a', async () => {
      started.push('a');
      await g.promise;
    });
    lane.submit('b', async () => {
      started.push('b');
    });
    lane.submit('c', async () => {
      started.push('c');
    });
    await tick();
    expect(started).to.deep.equal(['a']);
    // The next pass of c must not wait for the lane's turn.
    await lane.settled('c');
    expect(started).to.deep.equal(['a', 'c']);
    g.open();
    await lane.drain();
    expect(started).to.deep.equal(['a', 'c', 'b']);
  });

  it('drain runs what waits even while target passes wait', async () => {
    const lane = new StatusLane({ limit: 2, busyLimit: 1, outputsWaiting: () => true, onError: () => {} });
    const ran: string[] = [];
    for (const key of ['a', 'b', 'c']) lane.submit(key, async () => void ran.push(key));
    await lane.drain();
    expect([...ran].sort()).to.deep.equal(['a', 'b', 'c']);
    expect(lane.idle()).to.equal(true);
  });

  it('reports a failed write with its key and goes on with the next', async () => {
    const errors: Array<[string, string]> = [];
    const lane = new StatusLane({ limit: 1, onError: (key, err) => errors.push([key, (err as Error).message]) });
    const g = gate();
    lane.submit('a', () => g.promise);
    g.fail(new Error('409 conflict'));
    let ran = false;
    lane.submit('a', async () => {
      ran = true;
    });
    await lane.drain();
    expect(errors).to.deep.equal([['a', '409 conflict']]);
    expect(ran).to.equal(true);
  });
});
