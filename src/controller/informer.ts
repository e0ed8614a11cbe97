// Our layer over client-node's ListWatch. ListWatch lists, watches, keeps a
// cache and relists on 410 Gone, but on any other error it stops for good.
// This wrapper restarts it with capped, jittered exponential backoff, knows
// when the first list has been applied (hasSynced), and logs reconnects.
//
// Coming back fast after an API server restart (docs/operator.md): the
// backoff is capped at a few seconds, so a server that was gone for minutes
// is retried within that cap of being back; a server that answers 429 or 503
// (it is up, but throttling or still starting, e.g. its watch cache
// initialising) is retried after its Retry-After, with a backoff of its own
// that does not inherit the delays of the outage; and informers of one API
// server share a RetryGroup: the first of them to get through wakes the
// others, which retry within a fraction of a second instead of at the end of
// their own delays.
// List and watch are injected (STYLE.md 6): unit tests feed events by hand,
// the controller passes the real API calls.
import { KubeConfig, ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { errorFields, type Logger } from './log.js';
import { realTimers, type Timers } from '../common/timers.js';

/** One page of a list: at most `limit` items, from where `continue` (the previous page's token) left off. */
export interface ListPage {
  limit: number;
  continue?: string;
}
/**
 * Lists the collection, one page at a time when given `page` (a list function may ignore it and answer with all the
 * items; the informer then asks no further, as the answer carries no continue token).
 */
export type ListFn<T extends KubernetesObject> = (page?: ListPage) => Promise<KubernetesListObject<T>>;

/** Items per page of a list (client-go's pager default): only one page of whole objects is held before the transform. */
export const LIST_PAGE_SIZE = 500;
/** Same contract as client-node's `Watch.watch`. */
export type WatchFn = Watch['watch'];
export type EventType = 'add' | 'update' | 'delete';

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** 0..1: the delay is stretched by up to this fraction at random, so informers do not retry in lockstep. */
  jitter: number;
}

/** 250 ms doubling to 3 s; each delay is shortened by up to half at random (so 1.5 to 3 s once capped). */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 3_000, jitter: 0.5 };

/** Answers of an API server that is up but asks to be retried later (they carry Retry-After). */
const THROTTLED: ReadonlySet<number> = new Set([429, 503]);
/** The longest Retry-After followed (beyond it, the backoff's own cap applies). */
const MAX_RETRY_AFTER_MS = 10_000;

/** How long past its server-side timeout a watch may stay open before it is taken for dead. */
const WATCH_GRACE_SECONDS = 30;
/** List/watch answers that retrying within a wait will not change: unauthorized, forbidden, not found. */
const REFUSALS: ReadonlySet<number> = new Set([401, 403, 404]);

export interface InformerOptions<T extends KubernetesObject> {
  /** For logs, e.g. `configmaps ns=clusters`. */
  name: string;
  path: string;
  list: ListFn<T>;
  watch: WatchFn;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  backoff?: Partial<Backoff> | undefined;
  logger: Logger;
  random?: () => number;
  timers?: Timers;
  /**
   * Server-side timeout of one watch request (default 5 to 10 minutes at
   * random, as client-go): the server ends the watch cleanly and it resumes
   * from the last resourceVersion. A watch that outlives it by 30 s is
   * aborted here: the connection died without the server being able to say so.
   */
  watchTimeoutSeconds?: () => number;
  /** What the cache keeps of each listed or watched object (default: all of it). */
  transform?: (obj: T) => T;
  /** Informers of the same API server: a reconnect of one hurries the retries of the others. */
  group?: RetryGroup | undefined;
  now?: () => number;
}

/**
 * The delay before restart number `attempt` (1-based): `initialMs` doubling
 * up to `maxMs`, shortened by up to `jitter` of itself at random ("equal
 * jitter"), so that informers spread out even once they all reached the cap.
 */
export function backoffDelay(b: Backoff, attempt: number, random: number): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.max(1, Math.round(base * (1 - b.jitter * random)));
}

/**
 * The delay after a failure: for a throttling answer (429, 503) at least its
 * Retry-After, on a backoff counted over consecutive throttling answers only;
 * for anything else (connection refused or reset, other statuses) the
 * backoff over consecutive failures.
 */
export function retryDelay(b: Backoff, failure: { attempt: number; throttled: number; retryAfterMs: number | undefined }, random: number): number {
  if (failure.throttled === 0) return backoffDelay(b, failure.attempt, random);
  const after = Math.min(MAX_RETRY_AFTER_MS, failure.retryAfterMs ?? 0);
  return Math.max(after, backoffDelay(b, failure.throttled, random));
}

/** Retry-After of an API error (list errors carry the response headers; watch errors do not), in milliseconds. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: unknown } | undefined)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const raw = (headers as Record<string, unknown>)['retry-after'] ?? (headers as Record<string, unknown>)['Retry-After'];
  const seconds = Number(raw);
  return typeof raw === 'string' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * Informers of one API server. While it is gone they all back off; the
 * first one that gets through again wakes the others that are waiting to
 * retry after a failure (not a refusal: 401/403/404 do not clear up because
 * the server is back), and they retry within the spread, at random, instead
 * of at the end of their own delays.
 */
export class RetryGroup {
  private readonly waiting = new Map<object, (ms: number) => void>();

  /**
   * `spreadMs` for a few members; more members spread over 2 ms each, up
   * to `maxSpreadMs`, so that a thousand caches do not all hit a server
   * that has just come back within the same half second.
   */
  constructor(
    readonly spreadMs = 500,
    readonly random: () => number = Math.random,
    readonly maxSpreadMs = 2_000,
  ) {}

  /** `member` waits to retry; `hurry(ms)` asks it to retry within `ms` instead. */
  wait(member: object, hurry: (ms: number) => void): void {
    this.waiting.set(member, hurry);
  }

  leave(member: object): void {
    this.waiting.delete(member);
  }

  /** `member` got through: the others retry soon. */
  reached(member: object): void {
    this.waiting.delete(member);
    const spread = Math.min(this.maxSpreadMs, Math.max(this.spreadMs, this.waiting.size * 2));
    for (const [m, hurry] of [...this.waiting]) {
      this.waiting.delete(m);
      hurry(Math.round(this.random() * spread));
    }
  }

  /** Members waiting to retry (tests). */
  size(): number {
    return this.waiting.size;
  }
}

/**
 * All the items of a list, page by page, each page transformed before the next is asked for: the caches of a fleet's
 * outputs keep digests, and their whole objects (22 KB each, 10,000 of them) must never be in memory at once.
 * The pages are one snapshot: the last page's resourceVersion is the list's. An expired continue token (410) fails
 * the list, and the informer lists again from the start.
 */
export async function pagedList<T extends KubernetesObject>(list: ListFn<T>, transform?: (o: T) => T): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await list({ limit: LIST_PAGE_SIZE, ...(token ? { continue: token } : {}) });
    for (const item of page.items) items.push(transform ? transform(item) : item);
    token = page.metadata?._continue;
    if (!token) {
      const { _continue: _, remainingItemCount: _r, ...metadata } = page.metadata ?? {};
      return { ...page, metadata, items };
    }
  }
}

/** A Watch whose `watch` is the injected function (ListWatch wants a Watch instance). */
class InjectedWatch extends Watch {
  constructor(private readonly fn: WatchFn) {
    super(new KubeConfig());
  }

  override watch(...args: Parameters<WatchFn>): ReturnType<WatchFn> {
    return this.fn(...args);
  }
}

export class Informer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly backoff: Backoff;
  private readonly timers: Timers;
  private readonly random: () => number;
  private synced = false;
  private stopped = true;
  private failures = 0;
  /** Consecutive throttling answers (429, 503), within `failures`. */
  private throttled = 0;
  private lastFailure: string | undefined;
  private restartTimer: unknown;
  /** When the pending restart is due (`now()`). */
  private restartDue = 0;
  private readonly now: () => number;
  /** Aborts the open watch if it outlives its server-side timeout. */
  private guard: unknown;
  /** Callers of waitForSync, each with its `untilRefused`; each leaves when answered (synced, refused, timed out). */
  private readonly syncWaiters = new Map<(synced: boolean) => void, boolean>();
  private lastFailureCode: number | undefined;

  constructor(private readonly opts: InformerOptions<T>) {
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => performance.now());
    const watch = new InjectedWatch((path, query, cb, done) => this.watchHook(path, query, cb, done));
    const list = (): Promise<KubernetesListObject<T>> => pagedList(opts.list, opts.transform);
    this.lw = new ListWatch<T>(opts.path, watch, list, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('error', (err?: unknown) => this.onError(err));
  }

  get name(): string {
    return this.opts.name;
  }

  on(event: EventType, cb: (obj: T) => void): void {
    this.lw.on(event, cb);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.lw.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) this.timers.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.opts.group?.leave(this);
    this.clearGuard();
    await this.lw.stop();
  }

  /** True once the first list has been applied to the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Resolves true once synced, false after `timeoutMs`. With `untilRefused`,
   * also false as soon as the API refuses the list (401, 403, 404): retrying
   * keeps going in the background, but a refusal does not clear up within a
   * wait, so the caller need not hold on to it.
   */
  waitForSync(timeoutMs: number, opts: { untilRefused?: boolean } = {}): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (opts.untilRefused && this.refused()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const answer = (synced: boolean): void => {
        this.timers.clearTimeout(timer);
        this.syncWaiters.delete(answer);
        resolve(synced);
      };
      const timer = this.timers.setTimeout(() => answer(false), timeoutMs);
      this.syncWaiters.set(answer, opts.untilRefused ?? false);
    });
  }

  /** The last list or watch was refused (401, 403, 404) and it has not connected since. */
  refused(): boolean {
    return this.lastFailureCode !== undefined && REFUSALS.has(this.lastFailureCode);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** Consecutive failed (re)starts; 0 while connected. */
  failureCount(): number {
    return this.failures;
  }

  // ListWatch calls watch only after the list has been applied (or to
  // resume from a known resourceVersion), so the first call marks the sync.
  private async watchHook(...[path, query, cb, done]: Parameters<WatchFn>): Promise<AbortController> {
    this.markSynced();
    let failed = false;
    let ended = false;
    const timeoutSeconds = this.opts.watchTimeoutSeconds?.() ?? 300 + Math.floor(this.random() * 300);
    // Bookmarks keep the resourceVersion fresh on quiet collections, so a resumed watch rarely meets 410 Gone.
    const params = { ...query, timeoutSeconds, allowWatchBookmarks: true };
    const { transform } = this.opts;
    const objectEvents = new Set(['ADDED', 'MODIFIED', 'DELETED']);
    const onEvent: typeof cb = transform ? (type, obj, raw) => cb(type, objectEvents.has(type) ? transform(obj as T) : obj, raw) : cb;
    const ctl = await this.opts.watch(path, params, onEvent, (err: unknown) => {
      ended = true;
      this.clearGuard();
      if (err) failed = true;
      done(err);
    });
    if (!ended) this.guard = this.timers.setTimeout(() => ctl.abort(), (timeoutSeconds + WATCH_GRACE_SECONDS) * 1000);
    if (!failed) this.onConnected();
    return ctl;
  }

  private clearGuard(): void {
    if (this.guard !== undefined) this.timers.clearTimeout(this.guard);
    this.guard = undefined;
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.settleWaiters(true);
  }

  /** Answers every waitForSync now: true once synced, false otherwise (at shutdown, instead of at their timeout). */
  settleWaiters(synced = this.synced): void {
    for (const w of [...this.syncWaiters.keys()]) w(synced);
  }

  private onConnected(): void {
    this.lastFailure = undefined;
    this.lastFailureCode = undefined;
    this.throttled = 0;
    if (this.failures === 0) return;
    this.opts.logger.info({ informer: this.opts.name, after: this.failures }, 'watch reconnected');
    this.failures = 0;
    // The API server answers again: the others need not wait out their backoff.
    this.opts.group?.reached(this);
  }

  /** Why the last list or watch failed (`403: ...`), while it has not connected since. */
  lastError(): string | undefined {
    return this.lastFailure;
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const f = errorFields(err);
    this.lastFailure = f.code === undefined ? f.err : `${f.code}: ${f.err}`;
    this.lastFailureCode = f.code;
    if (!this.synced && this.refused()) for (const [w, untilRefused] of [...this.syncWaiters]) if (untilRefused) w(false);
    this.throttled = f.code !== undefined && THROTTLED.has(f.code) ? this.throttled + 1 : 0;
    const delay = retryDelay(this.backoff, { attempt: this.failures, throttled: this.throttled, retryAfterMs: retryAfterMs(err) }, this.random());
    this.opts.logger.warn({ informer: this.opts.name, attempt: this.failures, retryInMs: delay, ...f }, 'list/watch failed; restarting');
    this.scheduleRestart(delay);
    if (this.refused()) this.opts.group?.leave(this);
    else this.opts.group?.wait(this, (ms) => this.hurry(ms));
  }

  private scheduleRestart(delay: number): void {
    if (this.restartTimer !== undefined) this.timers.clearTimeout(this.restartTimer);
    this.restartDue = this.now() + delay;
    this.restartTimer = this.timers.setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.lw.start();
    }, delay);
  }

  /** Another informer reached the API server: retry within `ms` if the pending restart is later. */
  private hurry(ms: number): void {
    if (this.stopped || this.restartTimer === undefined || this.restartDue - this.now() <= ms) return;
    this.scheduleRestart(ms);
  }
}
