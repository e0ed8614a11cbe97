import { expect } from 'chai';
import { WorkQueue } from '../../../src/controller/queue.js';

/** A promise with its resolve function, to hold a handler open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('WorkQueue', () => {
  it('de-duplicates a key added several times while it waits', async () => {
    const q = new WorkQueue({ concurrency: 1 });
    const seen: string[] = [];
    for (const k of ['a', 'b', 'a', 'a', 'b']) q.add(k);
    expect(q.depth()).to.equal(2);
    q.start(async (k) => void seen.push(k));
    await until(() => q.idle());
    expect(seen).to.deep.equal(['a', 'b']);
  });

  it('re-runs a key once after it finishes when it was added during processing', async () => {
    const q = new WorkQueue({ concurrency: 4 });
    const g = gate();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    q.start(async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (runs === 1) await g.promise;
      concurrent--;
    });
    q.add('t');
    await until(() => runs === 1);
    q.add('t');
    q.add('t');
    // Never two workers on one key, even with free workers.
    expect(runs).to.equal(1);
    g.open();
    await until(() => q.idle());
    expect(runs).to.equal(2);
    expect(maxConcurrent).to.equal(1);
  });

  it('runs at most `concurrency` keys at once', async () => {
    const q = new WorkQueue({ concurrency: 2 });
    const g = gate();
    let running = 0;
    let max = 0;
    q.start(async () => {
      running++;
      max = Math.max(max, running);
      await g.promise;
      running--;
    });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await until(() => running === 2);
    expect(q.depth()).to.equal(3);
    g.open();
    await until(() => q.idle());
    expect(max).to.equal(2);
  });

  it('retries a failing key with doubling delays and resets after a success', async () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 40 });
    const times: number[] = [];
    const start = Date.now();
    q.start(async () => {
      times.push(Date.now() - start);
      if (times.length < 4) throw new Error('boom');
    });
    q.add('k');
    await until(() => times.length === 4 && q.idle());
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 10, 20, 40 ms (timer granularity may add a little, never remove).
    expect(gaps[0]).to.be.at.least(9);
    expect(gaps[1]).to.be.at.least(19);
    expect(gaps[2]).to.be.at.least(39);
    expect(q.failuresOf('k')).to.equal(0);
  });

  it('caps the retry delay', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = Array.from({ length: 8 }, () => q.addRateLimited('x'));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    void q.shutdown();
  });

  it('honours requeueAfterMs from the handler', async () => {
    const q = new WorkQueue();
    let runs = 0;
    q.start(async () => (++runs === 1 ? { requeueAfterMs: 5 } : undefined));
    q.add('k');
    await until(() => runs === 2 && q.idle());
  });

  it('reports errors to onError with the attempt number', async () => {
    const attempts: number[] = [];
    const q = new WorkQueue({ baseDelayMs: 1, onError: (_k, _e, n) => attempts.push(n) });
    let runs = 0;
    q.start(async () => {
      if (++runs <= 2) throw new Error('x');
    });
    q.add('k');
    await until(() => runs === 3 && q.idle());
    expect(attempts).to.deep.equal([1, 2]);
  });

  it('on shutdown waits for running keys, drops waiting ones and refuses new ones', async () => {
    const q = new WorkQueue({ concurrency: 1 });
    const g = gate();
    const done: string[] = [];
    q.start(async (k) => {
      await g.promise;
      done.push(k);
    });
    q.add('a');
    q.add('b');
    q.addAfter('c', 5);
    await until(() => q.depth() === 1);
    const stopped = q.shutdown();
    q.add('d');
    g.open();
    await stopped;
    await new Promise((r) => setTimeout(r, 20));
    expect(done).to.deep.equal(['a']);
  });

  it('busyWith sees waiting and running keys', async () => {
    const q = new WorkQueue({ concurrency: 1 });
    const g = gate();
    q.start(async () => g.promise);
    q.add('target:a');
    q.add('object:b');
    await until(() => q.depth() === 1);
    expect(q.busyWith((k) => k.startsWith('target:'))).to.equal(true);
    expect(q.busyWith((k) => k.startsWith('object:'))).to.equal(true);
    expect(q.busyWith((k) => k.startsWith('other:'))).to.equal(false);
    g.open();
    await until(() => q.idle());
    expect(q.busyWith(() => true)).to.equal(false);
  });
});
