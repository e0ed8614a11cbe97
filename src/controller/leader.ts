// Leader election on a coordination.k8s.io/v1 Lease, after client-go's
// leaderelection package (client-node has none). Every write carries the
// resourceVersion that was read, so two candidates can never both win.
//
// Expiry is judged by the local clock from the moment this candidate last
// saw the record change, never from the renewTime written by another host:
// clocks of different nodes may disagree, local elapsed time does not. The
// price: a follower takes over at most leaseDuration + 2 x retryPeriod after
// the leader's last renewal (it may see that renewal one retry late, and
// notices expiry one retry late).
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { errorFields, type Logger } from './log.js';
import { orUndefined, statusCode } from '../common/api-errors.js';
import { realTimers, type Timers } from '../common/timers.js';

/** The Lease calls the elector needs; `undefined` from get = not found. Errors carry `.code` (409 on conflicts). */
export interface LeaseClient {
  get(namespace: string, name: string): Promise<V1Lease | undefined>;
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replace(namespace: string, name: string, lease: V1Lease): Promise<V1Lease>;
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  /** How often the leader renews. */
  renewPeriodMs?: number;
  /** The leader steps down when it could not renew for this long (< leaseDuration). */
  renewDeadlineMs?: number;
  /** How often a follower (or a leader whose renewal failed) tries again. */
  retryPeriodMs?: number;
  client: LeaseClient;
  logger: Logger;
  onStartedLeading: () => void;
  /** Called when leadership is lost or released; the work must stop before writing again. */
  onStoppedLeading: () => void;
  now?: () => number;
  timers?: Timers;
}

export function leaseClientFor(api: CoordinationV1Api): LeaseClient {
  return {
    get: (namespace, name) => orUndefined(api.readNamespacedLease({ namespace, name })),
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => api.replaceNamespacedLease({ namespace, name, body }),
  };
}

export class LeaderElector {
  private leading = false;
  private stopped = true;
  private timer: unknown;
  private lastRenewMs = 0;
  /** The holder/renewTime last seen, and when (local clock). */
  private observed = { key: '', atMs: 0 };
  private readonly leaseDurationMs: number;
  private readonly renewPeriodMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly timers: Timers;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewPeriodMs = opts.renewPeriodMs ?? 5_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? realTimers;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning; a leader hands the Lease back so a follower need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.leading) {
      this.setLeading(false);
      await this.release();
    }
  }

  private schedule(ms: number): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // A request that hangs (a dead connection, an API server that stopped
    // answering) must not keep a leader from stepping down: a leader's round
    // ends by its renew deadline, a follower's after renewDeadline.
    const budgetMs = this.leading ? this.lastRenewMs + this.renewDeadlineMs - this.now() : this.renewDeadlineMs;
    const ok = await this.within(this.tryAcquireOrRenew(), Math.max(budgetMs, 0));
    if (this.stopped) return;
    if (ok) {
      this.lastRenewMs = this.now();
      if (!this.leading) this.setLeading(true);
      this.schedule(this.renewPeriodMs);
      return;
    }
    if (this.leading && this.now() - this.lastRenewMs >= this.renewDeadlineMs) {
      this.opts.logger.warn({ lease: this.leaseRef() }, 'could not renew the lease in time; stepping down');
      this.setLeading(false);
    }
    this.schedule(this.retryPeriodMs);
  }

  /** `round`, or false when it has not finished after `ms`. */
  private within(round: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => {
        this.opts.logger.warn({ lease: this.leaseRef(), timeoutMs: ms }, 'lease acquire/renew timed out');
        resolve(false);
      }, ms);
      void round.then((ok) => {
        this.timers.clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.opts.logger.info({ lease: this.leaseRef(), identity: this.opts.identity }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  /** One round: true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, client } = this.opts;
    try {
      const current = await client.get(namespace, name);
      if (!current) {
        await client.create(namespace, this.record(undefined));
        return true;
      }
      const spec = current.spec ?? {};
      this.observe(spec.holderIdentity ?? '', String(spec.renewTime ?? ''));
      if (!this.canTake(spec.holderIdentity ?? '', current)) {
        if (this.leading) {
          this.opts.logger.warn({ lease: this.leaseRef(), holder: spec.holderIdentity }, 'lease taken by another holder');
          this.setLeading(false);
        }
        return false;
      }
      await client.replace(namespace, name, this.record(current));
      return true;
    } catch (err) {
      // 409: another candidate wrote first; anything else: the API is unreachable. Either way, not ours this round.
      const log = statusCode(err) === 409 ? this.opts.logger.debug.bind(this.opts.logger) : this.opts.logger.warn.bind(this.opts.logger);
      log({ lease: this.leaseRef(), ...errorFields(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  private observe(holder: string, renewTime: string): void {
    const key = `${holder}|${renewTime}`;
    if (key !== this.observed.key) this.observed = { key, atMs: this.now() };
  }

  private canTake(holder: string, current: V1Lease): boolean {
    if (holder === '' || holder === this.opts.identity) return true;
    const durationMs = (current.spec?.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    return this.now() >= this.observed.atMs + durationMs;
  }

  /** The Lease this candidate writes; keeps resourceVersion for optimistic concurrency. */
  private record(current: V1Lease | undefined): V1Lease {
    const now = new V1MicroTime(this.now());
    const prev = current?.spec;
    const ours = prev?.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(current?.metadata ?? {}), name: this.opts.name, namespace: this.opts.namespace },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: ours && prev?.acquireTime ? prev.acquireTime : now,
        renewTime: now,
        leaseTransitions: (prev?.leaseTransitions ?? 0) + (current && !ours ? 1 : 0),
      },
    };
  }

  private async release(): Promise<void> {
    const { namespace, name, identity, client } = this.opts;
    try {
      const current = await client.get(namespace, name);
      if (!current || current.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(this.now());
      const spec = { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now };
      await client.replace(namespace, name, { ...current, spec });
      this.opts.logger.info({ lease: this.leaseRef() }, 'released the lease');
    } catch (err) {
      this.opts.logger.warn({ lease: this.leaseRef(), ...errorFields(err) }, 'could not release the lease; it will expire');
    }
  }

  private leaseRef(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }
}
