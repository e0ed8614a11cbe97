// The target controller: a queue of targets; `process(target)` renders the
// target from the caches, publishes its output and hands its
// RenderedMirrorConfig write to the status lane (reconcile.ts). It keeps what
// only it needs: which objects each target read (to route input events), what
// it published (to notice drift) and one render per distinct inputs.
import type { KubeObject, Reference, Target } from '../model/source.js';
import { RenderMemo } from '../pipeline.js';
import type { EventSpec } from './events.js';
import type { EventType } from './informer.js';
import type { Writer } from './kube.js';
import { errorFields, type Logger } from './log.js';
import type { ControllerMetrics } from './metrics.js';
import { outputDigest, outputMetaCurrent, type Published } from './outputs.js';
import { type Coalescing, WorkQueue } from './queue.js';
import { reconcileTarget, removeTarget, type TargetSummary } from './reconcile.js';
import { ReferenceIndex } from './refindex.js';
import type { ClusterSources } from './sources.js';
import type { NodePoolOptions } from './nodepool-delivery.js';
import { StatusLane } from './status-lane.js';
import { targetId } from './targets.js';

export interface TargetControllerDeps {
  sources: ClusterSources;
  writer: Writer;
  operatorNamespace: string;
  concurrency: number;
  logger: Logger;
  metrics: ControllerMetrics;
  now: () => Date;
  /** Records an Event (best effort). */
  emit: (e: EventSpec) => Promise<void>;
  /** Called when no target pass and no status write is waiting or running. */
  onIdle: () => void;
  /** How bursts of changes of cluster-scoped objects are collapsed per target (`addCoalesced`). */
  coalesce?: Coalescing;
  /** Options for NodePool targets. */
  nodePools?: NodePoolOptions;
}

/**
 * A burst of edits of one cluster-scoped object becomes one pass per target
 * once it has been quiet for 250 ms, and at least one pass every 2 s while it
 * lasts (bench/RESULTS.md, edit storms).
 */
export const DEFAULT_COALESCING: Coalescing = { quietMs: 250, maxHoldMs: 2_000 };

export class TargetController {
  readonly queue: WorkQueue<Target>;
  private readonly lane: StatusLane;
  private readonly summaries = new Map<string, TargetSummary>();
  /** Targets by `condition|status`, from the summaries. */
  private readonly tally = new Map<string, number>();
  /** Targets with a pass since they last existed, by id. */
  private readonly passed = new Map<string, Target>();
  private readonly published = new Map<string, Published>();
  private readonly index = new ReferenceIndex();
  /** Targets with the same inputs share one merge and render. */
  private readonly memo = new RenderMemo();
  /** Passes due when a held change of a NodePool's `config` key goes out (config-gate.ts), by target id. */
  private readonly dueTimers = new Map<string, NodeJS.Timeout>();
  /** When the last pass of each target started (performance.now()), by target id: the resync skips targets that ran recently. */
  private readonly lastPass = new Map<string, number>();

  constructor(private readonly deps: TargetControllerDeps) {
    const idle = (): void => {
      if (this.idle()) deps.onIdle();
    };
    this.queue = new WorkQueue<Target>({
      id: targetId,
      concurrency: deps.concurrency,
      onError: (t, err, attempt) => deps.logger.warn({ target: targetId(t), attempt, ...errorFields(err) }, 'reconcile failed; retrying'),
      // Held status writes go ahead once no pass waits; the object statuses once nothing runs either.
      onDrained: () => this.lane.pump(),
      onIdle: idle,
      coalesce: deps.coalesce ?? DEFAULT_COALESCING,
      onCoalesced: () => deps.metrics.coalesced.inc(),
    });
    this.lane = new StatusLane({
      limit: deps.concurrency,
      busyLimit: 1,
      outputsWaiting: () => this.queue.depth() > 0,
      onIdle: idle,
      onError: (id, err) => {
        deps.metrics.reconcileErrors.inc();
        deps.logger.warn({ target: id, ...errorFields(err) }, 'status write failed; reconciling again');
        const t = this.passed.get(id);
        if (t) this.queue.addRateLimited(t);
      },
    });
  }

  start(): void {
    this.queue.start((t) => this.process(t));
  }

  /** Finishes the passes in progress and every status write handed over. */
  async stop(): Promise<void> {
    for (const h of this.dueTimers.values()) clearTimeout(h);
    this.dueTimers.clear();
    await this.queue.shutdown();
    await this.lane.drain();
  }

  add(t: Target): void {
    this.queue.add(t);
  }

  /** Queues a target for a change of a cluster-scoped object: edits in quick succession collapse into one pass (queue.ts). */
  addCoalesced(t: Target): void {
    this.queue.addCoalesced(t);
  }

  /** True when no pass and no status write is waiting or running (delayed retries aside). */
  idle(): boolean {
    return !this.queue.busy() && this.lane.idle();
  }

  statusWritesPending(): number {
    return this.lane.pending();
  }

  /** Milliseconds since the last pass of `t` started (Infinity when it never ran). */
  sinceLastPass(t: Target): number {
    const at = this.lastPass.get(targetId(t));
    return at === undefined ? Number.POSITIVE_INFINITY : performance.now() - at;
  }

  /** The targets whose last pass looked `ref` up. */
  readersOf(ref: Reference): Target[] {
    return this.index.targetsOf(ref);
  }

  isReferenced(ref: Reference): boolean {
    return this.index.isReferenced(ref);
  }

  /**
   * Our output changed in the cache: a pass only when it no longer holds what
   * we stored (edited or deleted by someone else): its data, its content hash
   * annotation, its labels or its owner reference.
   */
  outputChanged(t: Target, kind: 'ConfigMap' | 'Secret', event: EventType, obj: KubeObject): void {
    const memo = this.published.get(targetId(t));
    if (event === 'delete' || !memo) {
      this.add(t);
      return;
    }
    const stored = kind === 'ConfigMap' ? memo.configMapDigest : memo.secretDigest;
    if (outputDigest(kind, obj) !== stored || !outputMetaCurrent(obj, t, memo)) this.add(t);
  }

  /** Targets by condition (metrics): kept as passes end, so a scrape does not walk every target. */
  counts(): Array<{ condition: string; status: string; count: number }> {
    return [...this.tally]
      .filter(([, n]) => n > 0)
      .map(([key, count]) => {
        const [condition = '', status = ''] = key.split('|');
        return { condition, status, count };
      });
  }

  /** Records `s` as the summary of `id` (undefined: the target is gone), keeping the counts by condition. */
  private summarize(id: string, s: TargetSummary | undefined): void {
    const count = (x: TargetSummary, by: number): void => {
      for (const key of [`Ready|${x.ready ? 'True' : 'False'}`, `Degraded|${x.degraded ? 'True' : 'False'}`])
        this.tally.set(key, (this.tally.get(key) ?? 0) + by);
    };
    const before = this.summaries.get(id);
    if (before) count(before, -1);
    if (s) {
      count(s, 1);
      this.summaries.set(id, s);
    } else this.summaries.delete(id);
  }

  /** One pass of one target. */
  async process(target: Target): Promise<void> {
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind: 'target' });
    try {
      const id = targetId(target);
      this.lastPass.set(id, performance.now());
      // This pass builds on the status the previous one wrote.
      await this.lane.settled(id);
      if (!this.exists(target)) return await this.cleanup(target);
      this.passed.set(id, target);
      const summary = await reconcileTarget(
        {
          sources: this.deps.sources,
          writer: this.deps.writer,
          operatorNamespace: this.deps.operatorNamespace,
          logger: this.deps.logger.child({ target: id }),
          now: this.deps.now,
          onPublish: (k, p) => this.published.set(k, p),
          emit: this.deps.emit,
          memo: this.memo,
          ...(this.deps.nodePools ? { nodePools: this.deps.nodePools } : {}),
          deferStatus: async (work, urgent) => this.lane.submit(id, work, { urgent }),
        },
        target,
      );
      this.summarize(id, summary);
      this.passAgain(target, summary.passAgainInMs);
      this.index.set(target, summary.references);
      if (summary.retryAfterMs !== undefined) this.queue.addAfter(target, summary.retryAfterMs);
      this.deps.metrics.reconciles.inc({ result: summary.result });
    } catch (err) {
      this.deps.metrics.reconcileErrors.inc();
      this.deps.metrics.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      end();
    }
  }

  /** Queues `t` again after `ms` (replacing an earlier timer); undefined cancels it. */
  private passAgain(t: Target, ms: number | undefined): void {
    const id = targetId(t);
    const before = this.dueTimers.get(id);
    if (before) clearTimeout(before);
    this.dueTimers.delete(id);
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.dueTimers.delete(id);
      this.add(t);
    }, ms + 10);
    timer.unref();
    this.dueTimers.set(id, timer);
  }

  private exists(t: Target): boolean {
    const s = this.deps.sources;
    if (t.kind === 'Cluster') return !s.hypershift;
    return s.hypershift && s.get('NodePool', t.namespace, t.name) !== undefined;
  }

  /** The target is gone: remove its outputs and status (no garbage collector is assumed to run). */
  private async cleanup(t: Target): Promise<void> {
    const deps = this.deps;
    const deleted = await removeTarget({ sources: deps.sources, writer: deps.writer, operatorNamespace: deps.operatorNamespace }, t);
    const id = targetId(t);
    this.passAgain(t, undefined);
    this.summarize(id, undefined);
    this.passed.delete(id);
    this.lastPass.delete(id);
    this.index.remove(t);
    this.published.delete(id);
    if (deleted) {
      deps.logger.info({ target: id }, 'target gone; removed its outputs and status');
      deps.metrics.reconciles.inc({ result: 'deleted' });
    }
  }
}
