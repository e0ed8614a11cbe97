// Status writes of target passes, off the path of the outputs. A pass
// publishes its output, then hands the RenderedMirrorConfig write (and the
// event that goes with it) to this lane and returns, so the worker moves on
// to the next output instead of waiting for a second API round trip.
//
// Outputs come first: while target passes are waiting in the work queue
// (`outputsWaiting`), routine status writes wait too, so the API server
// spends its time on what nodes read; once the queue is empty, up to `limit`
// run. Two kinds of write do not wait for the queue: an urgent one (a
// condition changes, an event goes with it, the status is new: what a user
// reads to learn that something failed shows within seconds), and a routine
// one that has waited `maxWaitMs` (statuses never starve under a queue that
// never empties); `busyLimit` of them at a time. On a fleet-wide change,
// where every status is routine (a new content hash, the same conditions),
// this brings the outputs close to the floor of a client that only writes
// them (bench/RESULTS.md). A status is never ahead of its output, only behind.
//
// Nothing polls: the controller pumps the lane when the target queue has
// nothing left waiting, a write that ends pumps it, and one timer is armed
// for the moment the oldest held write is due.
//
// Per key, writes run in order, and a new pass of a key first waits for the
// previous write of that key (`settled`), which starts it at once if it was
// still waiting: every pass builds its status from what the last one stored.
// So a key has at most one write waiting here, and what waits is bounded by
// the number of targets.
import { realTimers, type Timers } from '../common/timers.js';

export interface StatusLaneOptions {
  /** Writes in flight when no target pass is waiting. */
  limit: number;
  /** Writes in flight, of those that waited `maxWaitMs`, while target passes are waiting (at least 1). */
  busyLimit?: number;
  /** How long a routine write yields to waiting target passes at most (default 60 s). */
  maxWaitMs?: number;
  /** True while target passes are waiting to run. */
  outputsWaiting?: () => boolean;
  /** Called when the last write ends and nothing waits. */
  onIdle?: () => void;
  now?: () => number;
  timers?: Timers;
  onError: (key: string, err: unknown) => void;
}

/** Routine writes wait for the outputs; urgent ones only for a slot. */
export interface SubmitOptions {
  urgent?: boolean;
}

interface Entry {
  since: number;
  urgent: boolean;
  start: () => void;
  done: Promise<void>;
}

export class StatusLane {
  /**
   * Writes accepted but not started, per key. The map's own order is the
   * order of arrival: a key whose next write waits behind a running one is
   * moved to the end when that one starts.
   */
  private readonly waiting = new Map<string, Entry[]>();
  /** The write running for a key. */
  private readonly running = new Map<string, Promise<void>>();
  /** Keys with an urgent write waiting, in order of arrival. */
  private readonly urgent = new Set<string>();
  private readonly limit: number;
  private readonly busyLimit: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly timers: Timers;
  /** Armed while writes are held: when the oldest of them is due. */
  private deadline: unknown;

  constructor(private readonly opts: StatusLaneOptions) {
    this.limit = Math.max(1, opts.limit);
    this.busyLimit = Math.max(1, Math.min(this.limit, opts.busyLimit ?? 1));
    this.maxWaitMs = opts.maxWaitMs ?? 60_000;
    this.now = opts.now ?? (() => performance.now());
    this.timers = opts.timers ?? realTimers;
  }

  /** Accepts a write of `key`; it runs after the key's previous one, when a slot is free. */
  submit(key: string, work: () => Promise<void>, options: SubmitOptions = {}): void {
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const done = started.then(work).catch((err: unknown) => this.opts.onError(key, err));
    const urgent = options.urgent === true;
    const entry = { since: this.now(), urgent, start, done };
    if (urgent) this.urgent.add(key);
    const entries = this.waiting.get(key);
    if (entries) entries.push(entry);
    else this.waiting.set(key, [entry]);
    this.pump();
  }

  /** Waits for the writes of `key`, starting them now if they were waiting for a slot. */
  async settled(key: string): Promise<void> {
    for (;;) {
      const run = this.running.get(key);
      if (run) {
        await run;
        continue;
      }
      if (!this.waiting.has(key)) return;
      this.startNext(key);
    }
  }

  /** Writes waiting or running. */
  pending(): number {
    let n = this.running.size;
    for (const entries of this.waiting.values()) n += entries.length;
    return n;
  }

  /** True when no write is waiting or running. */
  idle(): boolean {
    return this.waiting.size === 0 && this.running.size === 0;
  }

  /** Starts what waits, within the limits; called whenever a write ends, when target passes stop waiting, and at the deadline of held writes. */
  pump(): void {
    const yielding = this.opts.outputsWaiting?.() ?? false;
    const overdue = this.now() - this.maxWaitMs;
    const cap = yielding ? this.busyLimit : this.limit;
    for (const key of this.urgent) {
      if (this.running.size >= cap) return;
      if (!this.running.has(key)) this.startNext(key);
    }
    for (const [key, entries] of this.waiting) {
      if (this.running.size >= cap) break;
      const since = entries[0]?.since ?? 0;
      // Oldest first (nearly): once one has not waited long enough, the rest wait for its deadline.
      if (yielding && since > overdue) {
        this.armDeadline(since + this.maxWaitMs);
        break;
      }
      if (!this.running.has(key)) this.startNext(key);
    }
  }

  /** Waits for every write, waiting or running, at full width. */
  async drain(): Promise<void> {
    while (!this.idle()) {
      for (const key of [...this.waiting.keys()]) if (!this.running.has(key) && this.running.size < this.limit) this.startNext(key);
      await Promise.allSettled([...this.running.values()]);
    }
    if (this.deadline !== undefined) this.timers.clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  private armDeadline(due: number): void {
    if (this.deadline !== undefined) return;
    this.deadline = this.timers.setTimeout(
      () => {
        this.deadline = undefined;
        this.pump();
      },
      Math.max(0, due - this.now()),
    );
  }

  private startNext(key: string): void {
    const entries = this.waiting.get(key);
    const entry = entries?.shift();
    if (!entry) return;
    this.waiting.delete(key);
    if (entries && entries.length > 0) this.waiting.set(key, entries);
    if (!entries?.some((e) => e.urgent)) this.urgent.delete(key);
    const run = entry.done.finally(() => {
      if (this.running.get(key) === run) this.running.delete(key);
      this.pump();
      if (this.idle()) this.opts.onIdle?.();
    });
    this.running.set(key, run);
    entry.start();
  }
}
