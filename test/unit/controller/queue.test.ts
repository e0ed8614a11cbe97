import { expect } from 'chai';
import { type QueueOptions, WorkQueue } from '../../../src/controller/queue.js';
import { FakeTime, settle } from '../lib/fake-time.js';

/** A queue of string keys. */
function queue(opts: Omit<QueueOptions<string>, 'id'> = {}): WorkQueue<string> {
  return new WorkQueue<string>({ id: (k) => k, ...opts });
}

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
    const q = queue({ concurrency: 1 });
    const seen: string[] = [];
    for (const k of ['a', 'b', 'a', 'a', 'b']) q.add(k);
    expect(q.depth()).to.equal(2);
    q.start(async (k) => void seen.push(k));
    await until(() => q.idle());
    expect(seen).to.deep.equal(['a', 'b']);
  });

  it('re-runs a key once after it finishes when it was added during processing', async () => {
    const q = queue({ concurrency: 4 });
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
    const q = queue({ concurrency: 2 });
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
    const q = queue({ baseDelayMs: 10, maxDelayMs: 40 });
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
    const q = queue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = Array.from({ length: 8 }, () => q.addRateLimited('x'));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    void q.shutdown();
  });

  it('reports errors to onError with the attempt number', async () => {
    const attempts: number[] = [];
    const q = queue({ baseDelayMs: 1, onError: (_k, _e, n) => attempts.push(n) });
    let runs = 0;
    q.start(async () => {
      if (++runs <= 2) throw new Error('x');
    });
    q.add('k');
    await until(() => runs === 3 && q.idle());
    expect(attempts).to.deep.equal([1, 2]);
  });

  it('on shutdown waits for running keys, drops waiting ones and refuses new ones', async () => {
    const q = queue({ concurrency: 1 });
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

  it('busy sees waiting and running keys, idle also delayed ones', async () => {
    const q = queue({ concurrency: 1 });
    const g = gate();
    q.start(async () => g.promise);
    expect(q.busy()).to.equal(false);
    q.add('a');
    q.add('b');
    await until(() => q.depth() === 1);
    expect(q.busy()).to.equal(true);
    g.open();
    await until(() => !q.busy());
    q.addAfter('c', 50);
    expect([q.busy(), q.idle()]).to.deep.equal([false, false]);
    await q.shutdown();
  });

  it('takes typed keys: equal ids are one key, and the latest value is the one processed', async () => {
    const q = new WorkQueue<{ kind: string; name: string; rev: number }>({ id: (k) => `${k.kind}/${k.name}`, concurrency: 1 });
    const seen: string[] = [];
    q.add({ kind: 'A', name: 'x', rev: 1 });
    q.add({ kind: 'B', name: 'x', rev: 1 });
    q.add({ kind: 'A', name: 'x', rev: 2 });
    q.start(async (k) => void seen.push(`${k.kind}/${k.name}@${k.rev}`));
    await until(() => q.idle());
    expect(seen).to.deep.equal(['A/x@2', 'B/x@1']);
  });

  it('holds keys while its gate is shut, runs them when pumped, and lets an overdue key through alone', async () => {
    const time = new FakeTime();
    let open = false;
    let idleCalls = 0;
    const q = queue({ concurrency: 2, gate: { open: () => open, maxWaitMs: 100 }, timers: time, now: time.now, onIdle: () => idleCalls++ });
    const started: string[] = [];
    const g = gate();
    q.start(async (k) => {
      started.push(k);
      if (k === 'a') await g.promise;
    });
    q.add('a');
    await time.advance(50);
    q.add('b');
    q.add('c');
    await time.advance(49);
    expect(started).to.deep.equal([]);
    // One timer, for the oldest key's deadline: nothing polls.
    expect(time.timers()).to.equal(1);
    await time.advance(1);
    expect(started).to.deep.equal(['a']);
    // b and c are overdue too, but an overdue key goes alone.
    await time.advance(100);
    expect(started).to.deep.equal(['a']);
    open = true;
    q.pump();
    await settle();
    expect(started).to.deep.equal(['a', 'b', 'c']);
    g.open();
    await until(() => q.idle());
    expect(idleCalls).to.be.greaterThan(0);
  });
});
