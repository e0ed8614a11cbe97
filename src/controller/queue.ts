// A work queue of typed keys in the style of client-go's rate-limited
// workqueue: a key is processed by at most one worker at a time; adding a
// key that is already waiting is a no-op (queued work for a key collapses to
// one pass); adding a key while it is being processed makes it run exactly
// once more afterwards (so no event is lost and no two workers ever process
// the same key concurrently). Keys are values of any type; `id` says which
// of them are the same key.
//
// A queue may have a gate: while the gate is shut, no key starts, unless it
// has waited `maxWaitMs` (then one at a time goes ahead, so nothing starves).
// The owner calls `pump()` when the gate may have opened; the only timer is
// the deadline of the oldest waiting key, never a poll.
import { realTimers, type Timers } from '../common/timers.js';

export type Handler<K> = (key: K) => Promise<void>;

export interface Gate {
  /** True while keys may start. */
  open(): boolean;
  /** A key that waited this long starts anyway. */
  maxWaitMs: number;
}

export interface QueueOptions<K> {
  /** Identity of a key (equal ids are one key). */
  id: (key: K) => string;
  /** Workers running at once. */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called when a handler throws, before the key is retried. */
  onError?: (key: K, err: unknown, attempt: number) => void;
  /** Called when the last waiting key has started (keys may still run). */
  onDrained?: () => void;
  /** Called when the last waiting key has started and nothing runs (nothing left to do). */
  onIdle?: () => void;
  gate?: Gate;
  timers?: Timers;
  now?: () => number;
}

export class WorkQueue<K> {
  /** Ids waiting to start, oldest first. */
  private readonly pending: string[] = [];
  /** The latest key value and first-add time of each id waiting in `pending` or to re-run after processing. */
  private readonly dirty = new Map<string, { key: K; since: number }>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  private readonly inFlight = new Set<Promise<void>>();
  private handler: Handler<K> | undefined;
  private shuttingDown = false;
  private deadline: unknown;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timers: Timers;
  private readonly now: () => number;

  constructor(private readonly opts: QueueOptions<K>) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.timers = opts.timers ?? realTimers;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Starts processing with `handler`; keys added before are kept. */
  start(handler: Handler<K>): void {
    this.handler = handler;
    this.pump();
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    const id = this.opts.id(key);
    const waiting = this.dirty.get(id);
    if (waiting) {
      waiting.key = key;
      return;
    }
    this.dirty.set(id, { key, since: this.now() });
    // A key being processed is re-added by `finish` once its run ends.
    if (this.processing.has(id)) return;
    this.pending.push(id);
    this.pump();
  }

  /** Adds the key after a delay; an earlier delayed add of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const id = this.opts.id(key);
    if (this.delayed.has(id)) return;
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(id);
      this.add(key);
    }, ms);
    this.delayed.set(id, handle);
  }

  /** Re-adds a failed key with exponential backoff; returns the delay used. */
  addRateLimited(key: K): number {
    const id = this.opts.id(key);
    const n = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 30));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: K): void {
    this.failures.delete(this.opts.id(key));
  }

  failuresOf(key: K): number {
    return this.failures.get(this.opts.id(key)) ?? 0;
  }

  /** Keys waiting to be processed (not counting the ones being processed or delayed). */
  depth(): number {
    return this.pending.length;
  }

  /** True when some key is waiting or running (delayed retries do not count). */
  busy(): boolean {
    return this.dirty.size > 0 || this.processing.size > 0;
  }

  /** True when nothing is waiting, running or delayed. */
  idle(): boolean {
    return this.pending.length === 0 && this.processing.size === 0 && this.delayed.size === 0;
  }

  /**
   * Stops taking keys, cancels delayed adds, drops what has not started and
   * waits for the keys being processed to finish (their writes complete
   * before the process exits or gives up leadership).
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const h of this.delayed.values()) this.timers.clearTimeout(h);
    this.delayed.clear();
    this.clearDeadline();
    this.pending.length = 0;
    this.dirty.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Starts waiting keys while workers are free (and the gate lets them). */
  pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (!this.shuttingDown && this.processing.size < this.concurrency && this.pending.length > 0) {
      if (!this.mayStart()) return;
      const id = this.pending.shift() as string;
      if (this.pending.length === 0) this.opts.onDrained?.();
      const entry = this.dirty.get(id);
      this.dirty.delete(id);
      if (!entry) continue;
      this.processing.add(id);
      const run = this.process(handler, id, entry.key);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }

  /** The gate is open, or the oldest waiting key is overdue (then it goes alone). Arms the deadline otherwise. */
  private mayStart(): boolean {
    const gate = this.opts.gate;
    if (!gate || gate.open()) return true;
    const oldest = this.dirty.get(this.pending[0] ?? '');
    const due = (oldest?.since ?? this.now()) + gate.maxWaitMs;
    // Overdue keys go one at a time: the end of the running one pumps again.
    if (this.now() >= due) return this.processing.size === 0;
    this.armDeadline(due);
    return false;
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

  private clearDeadline(): void {
    if (this.deadline !== undefined) this.timers.clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  private async process(handler: Handler<K>, id: string, key: K): Promise<void> {
    try {
      await handler(key);
      this.failures.delete(id);
    } catch (err) {
      this.opts.onError?.(key, err, (this.failures.get(id) ?? 0) + 1);
      this.addRateLimited(key);
    } finally {
      this.finish(id);
    }
  }

  private finish(id: string): void {
    this.processing.delete(id);
    if (this.dirty.has(id) && !this.shuttingDown) this.pending.push(id);
    this.pump();
    if (this.pending.length === 0 && this.processing.size === 0 && !this.shuttingDown) this.opts.onIdle?.();
  }
}
