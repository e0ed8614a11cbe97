// A work queue of string keys in the style of client-go's rate-limited
// workqueue: a key is processed by at most one worker at a time; adding a
// key that is already waiting is a no-op; adding a key while it is being
// processed makes it run exactly once more afterwards (so no event is lost
// and no two workers ever reconcile the same target concurrently).

/** What a handler asks for after processing a key. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are plain async functions
export type HandlerResult = void | { requeueAfterMs: number };

export type Handler = (key: string) => Promise<HandlerResult>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface QueueOptions {
  /** Workers running at once. */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called when a handler throws, before the key is retried. */
  onError?: (key: string, err: unknown, attempt: number) => void;
  timers?: Timers;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class WorkQueue {
  private readonly pending: string[] = [];
  /** Keys waiting in `pending` or waiting to re-run after processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  private readonly inFlight = new Set<Promise<void>>();
  private handler: Handler | undefined;
  private shuttingDown = false;
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timers: Timers;

  constructor(private readonly opts: QueueOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.timers = opts.timers ?? realTimers;
  }

  /** Starts processing with `handler`; keys added before are kept. */
  start(handler: Handler): void {
    this.handler = handler;
    this.pump();
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    // A key being processed is re-added by `finish` once its run ends.
    if (this.processing.has(key)) return;
    this.pending.push(key);
    this.pump();
  }

  /** Adds the key after a delay; an earlier delayed add of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    if (this.delayed.has(key)) return;
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, handle);
  }

  /** Re-adds a failed key with exponential backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 30));
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to be processed (not counting the ones being processed or delayed). */
  depth(): number {
    return this.pending.length;
  }

  /** True when nothing is waiting, running or delayed. */
  idle(): boolean {
    return this.pending.length === 0 && this.processing.size === 0 && this.delayed.size === 0;
  }

  /** True when some key matching `pred` is waiting or running. */
  busyWith(pred: (key: string) => boolean): boolean {
    for (const k of this.dirty) if (pred(k)) return true;
    for (const k of this.processing) if (pred(k)) return true;
    return false;
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
    this.pending.length = 0;
    this.dirty.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler) return;
    while (!this.shuttingDown && this.processing.size < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.dirty.delete(key);
      this.processing.add(key);
      const run = this.process(handler, key);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }

  private async process(handler: Handler, key: string): Promise<void> {
    try {
      const result = await handler(key);
      this.forget(key);
      if (result && result.requeueAfterMs >= 0) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      this.opts.onError?.(key, err, this.failuresOf(key) + 1);
      this.addRateLimited(key);
    } finally {
      this.finish(key);
    }
  }

  private finish(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.pending.push(key);
    this.pump();
  }
}
