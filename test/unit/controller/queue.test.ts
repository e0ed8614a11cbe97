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

  describe('coalescing bursts (addCoalesced)', () => {
    const coalesce = { quietMs: 100, maxHoldMs: 1000 };

    /** A queue on fake time whose handler takes `passMs` of fake time per key and records when each pass started. */
    function paced(passMs: number): { q: WorkQueue<string>; time: FakeTime; starts: number[]; folded: () => number } {
      const time = new FakeTime();
      let folded = 0;
      const q = queue({ concurrency: 2, coalesce, timers: time, now: time.now, onCoalesced: () => folded++ });
      const starts: number[] = [];
      q.start(async () => {
        starts.push(time.now());
        await new Promise<void>((r) => time.setTimeout(r, passMs));
      });
      return { q, time, starts, folded: () => folded };
    }

    it('runs a lone change at once', async () => {
      const { q, time, starts } = paced(10);
      q.addCoalesced('t');
      await settle();
      expect(starts).to.deep.equal([0]);
      await time.advance(500);
      q.addCoalesced('t');
      await settle();
      expect(starts).to.deep.equal([0, 500]);
      await time.advance(50);
      expect(q.idle()).to.equal(true);
    });

    it('collapses a burst into one pass once it has been quiet for quietMs', async () => {
      const { q, time, starts, folded } = paced(10);
      q.addCoalesced('t');
      // 20 more changes, 20 ms apart: the first pass ran at once, the rest wait for the burst to end.
      for (let i = 0; i < 20; i++) {
        await time.advance(20);
        q.addCoalesced('t');
      }
      expect(starts).to.deep.equal([0]);
      expect(q.heldCount()).to.equal(1);
      expect(q.busy()).to.equal(true);
      await time.advance(99);
      expect(starts).to.deep.equal([0]);
      await time.advance(1);
      expect(starts).to.deep.equal([0, 500]);
      expect(folded()).to.equal(19);
      await time.advance(1000);
      expect(starts).to.have.length(2);
      expect(q.idle()).to.equal(true);
    });

    it('runs a held key at least every maxHoldMs while the burst lasts', async () => {
      const { q, time, starts } = paced(10);
      q.addCoalesced('t');
      for (let i = 0; i < 150; i++) {
        await time.advance(20);
        q.addCoalesced('t');
      }
      await time.advance(500);
      // At 0; held from 20 until 1020; from 1020 (a change during that pass) until 2020, then until 3020,
      // which is after the last change (at 3000): no pass for the quiet period after it.
      expect(starts).to.deep.equal([0, 1020, 2020, 3020]);
    });

    it('holds a key changed while its pass runs, instead of running it again at once', async () => {
      const { q, time, starts } = paced(300);
      q.addCoalesced('t');
      await time.advance(50);
      q.addCoalesced('t');
      // Quiet since 50: due at 150 while the pass runs; it runs again when the pass ends.
      await time.advance(300);
      expect(starts).to.deep.equal([0, 300]);
    });

    it('folds a change into a pass that is waiting to start', async () => {
      const { q, time, starts, folded } = paced(10);
      for (const k of ['a', 'b', 'c']) q.addCoalesced(k);
      q.addCoalesced('c');
      expect(folded()).to.equal(1);
      await time.advance(100);
      expect(starts).to.have.length(3);
    });

    it('releases a held key on a plain add', async () => {
      const { q, time, starts } = paced(10);
      q.addCoalesced('t');
      await time.advance(20);
      q.addCoalesced('t');
      expect(q.heldCount()).to.equal(1);
      q.add('t');
      await settle();
      expect(q.heldCount()).to.equal(0);
      expect(starts).to.deep.equal([0, 20]);
      await time.advance(1000);
      expect(starts).to.have.length(2);
    });

    it('drops held keys on shutdown', async () => {
      const { q, time, starts } = paced(10);
      q.addCoalesced('t');
      await time.advance(20);
      q.addCoalesced('t');
      await q.shutdown();
      await time.advance(1000);
      expect(starts).to.deep.equal([0]);
      expect(time.timers()).to.equal(0);
    });

    it('without the option, addCoalesced is add', async () => {
      const q = queue({ concurrency: 1 });
      const seen: string[] = [];
      q.start(async (k) => void seen.push(k));
      q.addCoalesced('a');
      await until(() => q.idle());
      q.addCoalesced('a');
      await until(() => q.idle() && seen.length === 2);
      expect(seen).to.deep.equal(['a', 'a']);
    });
  });
});
