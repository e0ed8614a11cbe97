import { expect } from 'chai';
import { StatusLane } from '../../../src/controller/status-lane.js';

/** A promise with its resolve/reject exposed. */
function gate(): { promise: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StatusLane', () => {
  it('runs the writes of one key in order, and settled waits for them', async () => {
    const lane = new StatusLane(4, () => {});
    const log: string[] = [];
    const first = gate();
    await lane.submit('a', async () => {
      await first.promise;
      log.push('a1');
    });
    await lane.submit('a', async () => {
      log.push('a2');
    });
    await lane.submit('b', async () => {
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

  it('accepts at most `limit` writes in flight: submit waits for a slot', async () => {
    const lane = new StatusLane(2, () => {});
    const gates = [gate(), gate(), gate()];
    await lane.submit('a', () => gates[0].promise);
    await lane.submit('b', () => gates[1].promise);
    let accepted = false;
    const third = lane.submit('c', () => gates[2].promise).then(() => (accepted = true));
    await tick();
    expect(accepted).to.equal(false);
    gates[1].open();
    await third;
    expect(accepted).to.equal(true);
    gates[0].open();
    gates[2].open();
    await lane.drain();
    expect(lane.idle()).to.equal(true);
  });

  it('reports a failed write with its key and goes on with the next', async () => {
    const errors: Array<[string, string]> = [];
    const lane = new StatusLane(1, (key, err) => errors.push([key, (err as Error).message]));
    const g = gate();
    await lane.submit('a', () => g.promise);
    g.fail(new Error('409 conflict'));
    let ran = false;
    await lane.submit('a', async () => {
      ran = true;
    });
    await lane.drain();
    expect(errors).to.deep.equal([['a', '409 conflict']]);
    expect(ran).to.equal(true);
  });
});
