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
//
// A queue may coalesce bursts (`coalesce`): `addCoalesced` of a key that is
// neither waiting nor running and has not started within `quietMs` behaves
// as `add` (a lone change is not delayed). Otherwise the key is held: it
// waits until no further add came for `quietMs`, and at most `maxHoldMs`
// after the add that started the hold, then runs once; the adds of a burst
// collapse into that one pass, which reads the newest inputs. An `add` of a
// held key releases it at once.
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
  /** Called for each add folded into a key already waiting or held. */
  onCoalesced?: () => void;
  /** Called when the last waiting key has started (keys may still run). */
  onDrained?: () => void;
  /** Called when the last waiting key has started and nothing runs (nothing left to do). */
  onIdle?: () => void;
  gate?: Gate;
  coalesce?: Coalescing;
  timers?: Timers;
  now?: () => number;
}

export interface Coalescing {
  /** A held key runs once no add came for this long... */
  quietMs: number;
  /** ...and no later than this long after its hold began. */
  maxHoldMs: number;
}

interface Held<K> {
  key: K;
  since: number;
  last: number;
  timer: unknown;
}

export class WorkQueue<K> {
  /** Ids waiting to start, oldest first. */
  private readonly pending: string[] = [];
  /** The latest key value and first-add time of each id waiting in `pending` or to re-run after processing. */
  private readonly dirty = new Map<string, { key: K; since: number }>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  /** Keys held to coalesce a burst (see `addCoalesced`). */
  private readonly held = new Map<string, Held<K>>();
  /** When each key last started, while that is within `coalesce.quietMs` (pruned as it grows). */
  private readonly started = new Map<string, number>();
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
    this.release(id);
    const waiting = this.dirty.get(id);
    if (waiting) {
      waiting.key = key;
      this.opts.onCoalesced?.();
      return;
    }
    this.dirty.set(id, { key, since: this.now() });
    // A key being processed is re-added by `finish` once its run ends.
    if (this.processing.has(id)) return;
    this.pending.push(id);
    this.pump();
  }

  /**
   * Adds a key for a change that may be one of a burst (see the header):
   * at once when the key is idle and did not start within `quietMs`, else
   * held until the burst is quiet (or `maxHoldMs` passed). Without
   * `coalesce` the same as `add`.
   */
  addCoalesced(key: K): void {
    const c = this.opts.coalesce;
    if (this.shuttingDown) return;
    if (!c) {
      this.add(key);
      return;
    }
    const id = this.opts.id(key);
    const now = this.now();
    const held = this.held.get(id);
    if (held) {
      held.key = key;
      held.last = now;
      this.opts.onCoalesced?.();
      this.armHold(id, held, c);
      return;
    }
    const waiting = this.dirty.get(id);
    // Waiting to start, or to run again after its pass: that run reads the newest inputs.
    if (waiting) {
      waiting.key = key;
      this.opts.onCoalesced?.();
      return;
    }
    const startedAt = this.started.get(id);
    const recent = this.processing.has(id) || (startedAt !== undefined && now - startedAt < c.quietMs);
    if (!recent) {
      this.add(key);
      return;
    }
    const h: Held<K> = { key, since: now, last: now, timer: undefined };
    this.held.set(id, h);
    this.armHold(id, h, c);
  }

  /** Keys held to coalesce a burst. */
  heldCount(): number {
    return this.held.size;
  }

  private armHold(id: string, h: Held<K>, c: Coalescing): void {
    if (h.timer !== undefined) this.timers.clearTimeout(h.timer);
    const due = Math.min(h.last + c.quietMs, h.since + c.maxHoldMs);
    h.timer = this.timers.setTimeout(
      () => {
        h.timer = undefined;
        if (this.held.get(id) !== h) return;
        this.held.delete(id);
        this.add(h.key);
      },
      Math.max(0, due - this.now()),
    );
  }

  /** Ends the hold of a key, if any (it is added now instead). */
  private release(id: string): void {
    const h = this.held.get(id);
    if (!h) return;
    if (h.timer !== undefined) this.timers.clearTimeout(h.timer);
    this.held.delete(id);
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

  /** True when some key is waiting, held or running (delayed retries do not count). */
  busy(): boolean {
    return this.dirty.size > 0 || this.processing.size > 0 || this.held.size > 0;
  }

  /** True when nothing is waiting, held, running or delayed. */
  idle(): boolean {
    return this.pending.length === 0 && this.processing.size === 0 && this.delayed.size === 0 && this.held.size === 0;
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
    for (const h of this.held.values()) if (h.timer !== undefined) this.timers.clearTimeout(h.timer);
    this.held.clear();
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
      this.noteStart(id);
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

  /** Remembers when a key started (for `addCoalesced`); forgets starts older than `quietMs` once there are many. */
  private noteStart(id: string): void {
    const c = this.opts.coalesce;
    if (!c) return;
    const now = this.now();
    this.started.delete(id);
    this.started.set(id, now);
    // Oldest first (re-inserted on every start): drop the stale head.
    if (this.started.size <= 1024) return;
    for (const [k, at] of this.started) {
      if (now - at < c.quietMs) break;
      this.started.delete(k);
    }
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
