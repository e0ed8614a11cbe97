// The operator: caches (sources.ts) feed events into a work queue of target
// and object keys; workers reconcile targets (reconcile.ts) and the status
// of our cluster-scoped objects (objects.ts). With leader election only the
// Lease holder works; followers keep their caches warm to take over fast.
import type { KubeObject, Reference, Target } from '../model/source.js';
import { RenderMemo, TARGET_LABEL } from '../pipeline.js';
import { ACCEPTED, buildObjectStatus, objectState, selectedTargets, writeObjectStatus } from './objects.js';
import { conditionsOf, findCondition } from './conditions.js';
import { CLUSTER_EVENT_NAMESPACE, EventRecorder, involvedOf, type EventSpec } from './events.js';
import { RESOURCES, type ClusterObjectKind, type Writer } from './kube.js';
import { backoffDelay, DEFAULT_BACKOFF } from './informer.js';
import { LeaderElector, type LeaseClient } from './leader.js';
import { errorFields, type Logger } from './log.js';
import type { ControllerMetrics } from './metrics.js';
import { outputDigest, type Published } from './outputs.js';
import { WorkQueue, type HandlerResult } from './queue.js';
import { StatusLane } from './status-lane.js';
import { ReferenceIndex } from './refindex.js';
import { parseTargetKey, reconcileTarget, removeTarget, targetKey, type TargetSummary } from './reconcile.js';
import { ClusterSources, type InformerApi, type SourceEvent } from './sources.js';

export type TargetMode = 'auto' | 'cluster' | 'nodepools';

export interface LeaderElectionConfig {
  leaseName: string;
  leaseDurationMs: number;
  renewPeriodMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  client: LeaseClient;
}

export interface ControllerConfig {
  operatorNamespace: string;
  /** This replica, in the Lease and in Events. */
  identity: string;
  concurrency: number;
  /** Every period all targets are reconciled again (a no-op when nothing changed); 0 disables. */
  resyncPeriodMs: number;
  targets: TargetMode;
  leaderElection?: LeaderElectionConfig;
}

export interface ControllerDeps {
  informerApi: InformerApi;
  writer: Writer;
  /** Whether HyperShift's HostedCluster and NodePool CRDs are served. */
  hypershiftServed: () => Promise<boolean>;
  logger: Logger;
  metrics: ControllerMetrics;
  now?: () => Date;
}

/** Object keys are `obj:<Kind>/<name>`, target keys `cluster` or `np:<ns>/<name>`. */
const OBJECT_PREFIX = 'obj:';
const KIND_OF: Record<string, ClusterObjectKind> = {
  [RESOURCES.IDMS.kind]: 'IDMS',
  [RESOURCES.ITMS.kind]: 'ITMS',
  [RESOURCES.RegistryAccess.kind]: 'RegistryAccess',
};
/** Object statuses wait this long so that a burst of target passes updates them once. */
const OBJECT_DELAY_MS = 100;
/** How often an object status may wait for busy targets before it is written anyway. */
const MAX_OBJECT_DEFERRALS = 25;

export class Controller {
  private sources: ClusterSources | undefined;
  private queue: WorkQueue | undefined;
  private lane: StatusLane | undefined;
  /** Targets with the same inputs share one merge and render. */
  private memo = new RenderMemo();
  private elector: LeaderElector | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly index = new ReferenceIndex();
  private readonly summaries = new Map<string, TargetSummary>();
  private readonly published = new Map<string, Published>();
  private readonly deferrals = new Map<string, number>();
  /** Serialises starting and stopping work (leadership can flap). */
  private transition: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly now: () => Date;
  private readonly events: EventRecorder;

  constructor(
    private readonly config: ControllerConfig,
    private readonly deps: ControllerDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.events = new EventRecorder(deps.writer, config.identity, this.now);
    deps.metrics.setQueueDepth(() => this.queue?.depth() ?? 0);
    deps.metrics.setStatusWrites(() => this.lane?.pending() ?? 0);
    deps.metrics.setTargets(() => this.targetCounts());
  }

  async start(): Promise<void> {
    const hypershift = await this.detectHypershift();
    this.sources = this.makeSources(hypershift);
    this.sources.start();
    this.deps.logger.info({ targets: hypershift ? 'NodePools' : 'cluster', namespace: this.config.operatorNamespace }, 'controller started');
    const le = this.config.leaderElection;
    if (!le) {
      this.onLeading(true);
      return;
    }
    this.elector = new LeaderElector({
      namespace: this.config.operatorNamespace,
      name: le.leaseName,
      identity: this.config.identity,
      leaseDurationMs: le.leaseDurationMs,
      renewPeriodMs: le.renewPeriodMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      client: le.client,
      logger: this.deps.logger,
      onStartedLeading: () => this.onLeading(true),
      onStoppedLeading: () => this.onLeading(false),
    });
    this.elector.start();
  }

  /** Finishes the keys in progress, hands the Lease back, stops the caches. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Drain first, then hand the Lease back: the next leader must not overlap our last writes.
    // A pass waiting for a cache that cannot fill gives up now rather than after its timeout.
    this.sources?.cancelWaits();
    this.onLeading(false);
    await this.transition;
    if (this.elector) await this.elector.stop();
    await this.sources?.stop();
    this.deps.logger.info('controller stopped');
  }

  /** Caches filled: ready to serve (leader or follower). */
  ready(): boolean {
    return this.sources?.hasSynced() ?? false;
  }

  isLeader(): boolean {
    return this.queue !== undefined;
  }

  /** True when nothing is queued or running (tests and benchmarks). */
  idle(): boolean {
    return (this.queue?.idle() ?? true) && (this.lane?.idle() ?? true);
  }

  summary(key: string): TargetSummary | undefined {
    return this.summaries.get(key);
  }

  private makeSources(hypershift: boolean): ClusterSources {
    return new ClusterSources({
      api: this.deps.informerApi,
      operatorNamespace: this.config.operatorNamespace,
      hypershift,
      logger: this.deps.logger,
      onEvent: (e) => this.onEvent(e),
    });
  }

  /**
   * With `--targets auto`, HyperShift's CRDs may be installed or removed
   * while the controller runs: checked at every resync, and the caches are
   * rebuilt for the other kind of target. The next pass removes the outputs
   * of the targets that no longer exist.
   */
  private async recheckTargets(): Promise<void> {
    const current = this.sources;
    if (this.config.targets !== 'auto' || !current || this.stopped) return;
    let served: boolean;
    try {
      served = await this.deps.hypershiftServed();
    } catch (err) {
      this.deps.logger.warn(errorFields(err), 'API discovery failed; keeping the current targets');
      return;
    }
    if (served === current.hypershift || this.sources !== current) return;
    this.deps.logger.warn({ hypershift: served }, 'HyperShift API availability changed; switching targets');
    this.transition = this.transition.then(() => this.rebuild(served));
    await this.transition;
  }

  private async rebuild(hypershift: boolean): Promise<void> {
    const working = this.queue !== undefined;
    await this.stopWorking();
    await this.sources?.stop();
    this.summaries.clear();
    this.memo = new RenderMemo();
    this.published.clear();
    this.index.clear();
    this.sources = this.makeSources(hypershift);
    this.sources.start();
    if (working && !this.stopped) await this.startWorking();
  }

  private async detectHypershift(): Promise<boolean> {
    if (this.config.targets !== 'auto') return this.config.targets === 'nodepools';
    // The API server may not be up yet: retry like the informers do.
    for (let attempt = 1; ; attempt++) {
      try {
        const served = await this.deps.hypershiftServed();
        this.deps.logger.info({ hypershift: served }, 'HyperShift API discovery');
        return served;
      } catch (err) {
        if (this.stopped) return false;
        const delay = backoffDelay(DEFAULT_BACKOFF, attempt, Math.random());
        this.deps.logger.warn({ attempt, retryInMs: delay, ...errorFields(err) }, 'API discovery failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private onLeading(leading: boolean): void {
    this.transition = this.transition.then(() => (leading && !this.stopped ? this.startWorking() : this.stopWorking()));
  }

  private async startWorking(): Promise<void> {
    if (this.queue) return;
    const sources = this.sources as ClusterSources;
    this.deps.metrics.isLeader.set(1);
    while (!(await sources.waitForSync(5_000))) {
      if (this.stopped) return;
      this.deps.logger.info('waiting for caches to fill');
    }
    this.queue = new WorkQueue({
      concurrency: this.config.concurrency,
      onError: (key, err, attempt) => this.deps.logger.warn({ key, attempt, ...errorFields(err) }, 'reconcile failed; retrying'),
    });
    const queue = this.queue;
    this.lane = new StatusLane({
      limit: this.config.concurrency,
      busyLimit: 1,
      outputsWaiting: () => queue.depth() > 0,
      onError: (key, err) => {
        this.deps.metrics.reconcileErrors.inc();
        this.deps.logger.warn({ key, ...errorFields(err) }, 'status write failed; reconciling again');
        queue.addRateLimited(key);
      },
    });
    this.queue.start((key) => this.handle(key));
    this.enqueueAll();
    if (this.config.resyncPeriodMs > 0) this.resyncTimer = setInterval(() => this.resync(), this.config.resyncPeriodMs);
    this.deps.logger.info('workers started');
  }

  private async stopWorking(): Promise<void> {
    this.deps.metrics.isLeader.set(0);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    const q = this.queue;
    this.queue = undefined;
    if (q) {
      await q.shutdown();
      await this.lane?.drain();
      this.deps.logger.info('workers stopped');
    }
    this.lane = undefined;
  }

  private resync(): void {
    void this.recheckTargets();
    this.enqueueAll();
    const q = this.queue;
    // Only between passes: a pass records its references after it started the caches they need.
    if (q && !q.busyWith(isTargetKey)) {
      void this.sources
        ?.collectGarbage((ref: Reference) => this.index.isReferenced(ref))
        .then((n) => {
          if (n > 0) this.deps.logger.info({ stopped: n, ...this.sources?.watchCounts() }, 'stopped caches nothing references');
        });
    }
  }

  // ---------------------------------------------------------------- events -> keys

  private onEvent(e: SourceEvent): void {
    const q = this.queue;
    if (!q) return;
    switch (e.type) {
      case 'input': {
        // One add per key: a second add of a key a worker already took would run it twice.
        const keys = new Set(this.index.targetsOf({ kind: e.kind, namespace: e.namespace, name: e.name }));
        if (e.kind === 'NodePool') {
          keys.add(targetKey({ kind: 'NodePool', namespace: e.namespace, name: e.name }));
          // Labels may have changed which objects select it.
          this.enqueueObjects();
        }
        for (const k of keys) q.add(k);
        return;
      }
      case 'clusterObject':
        for (const t of this.targetKeys()) q.add(t);
        q.addAfter(`${OBJECT_PREFIX}${RESOURCES[e.kind].kind}/${e.name}`, OBJECT_DELAY_MS);
        return;
      case 'output':
        this.onOutputEvent(q, e);
        return;
      case 'status': {
        const t = targetOfStatus(e.obj);
        if (e.event === 'delete' && t) q.add(targetKey(t));
        return;
      }
    }
  }

  /** Our outputs trigger a pass only when they no longer hold what we stored (edited or deleted by someone else). */
  private onOutputEvent(q: WorkQueue, e: Extract<SourceEvent, { type: 'output' }>): void {
    const key = keyOfTargetLabel(e.obj.metadata.labels?.[TARGET_LABEL]);
    if (!key) return;
    if (e.event === 'delete') {
      q.add(key);
      return;
    }
    const memo = this.published.get(key);
    const digest = outputDigest(e.kind, e.obj);
    if (digest !== (e.kind === 'ConfigMap' ? memo?.configMapHash : memo?.secretDigest)) q.add(key);
  }

  private enqueueAll(): void {
    const q = this.queue;
    if (!q) return;
    const keys = new Set(this.targetKeys());
    // Targets that are gone but left outputs or a status behind (deleted while no leader ran).
    for (const s of this.sources?.allStatuses() ?? []) {
      const t = targetOfStatus(s);
      if (t) keys.add(targetKey(t));
    }
    for (const o of this.sources?.allOutputs() ?? []) {
      const k = keyOfTargetLabel(o.metadata.labels?.[TARGET_LABEL]);
      if (k) keys.add(k);
    }
    for (const k of [...keys].sort()) q.add(k);
    this.enqueueObjects();
  }

  private enqueueObjects(): void {
    const q = this.queue;
    if (!q || !this.sources) return;
    for (const o of this.sources.clusterScoped()) q.addAfter(`${OBJECT_PREFIX}${o.kind}/${o.metadata.name}`, OBJECT_DELAY_MS);
  }

  private targetKeys(): string[] {
    const s = this.sources;
    if (!s) return [];
    if (!s.hypershift) return ['cluster'];
    return s.nodePools().map((np) => targetKey({ kind: 'NodePool', namespace: np.metadata.namespace ?? '', name: np.metadata.name }));
  }

  // ---------------------------------------------------------------- keys -> passes

  private async handle(key: string): Promise<HandlerResult> {
    const kind = key.startsWith(OBJECT_PREFIX) ? 'object' : 'target';
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind });
    try {
      return kind === 'object' ? await this.reconcileObject(key) : await this.reconcileTargetKey(key);
    } catch (err) {
      this.deps.metrics.reconcileErrors.inc();
      this.deps.metrics.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      end();
    }
  }

  private async reconcileTargetKey(key: string): Promise<HandlerResult> {
    const target = parseTargetKey(key);
    const sources = this.sources;
    if (!target || !sources) return;
    // This pass builds on the status the previous one wrote.
    const lane = this.lane;
    await lane?.settled(key);
    if (!this.targetExists(target)) return this.cleanup(key, target);
    const summary = await reconcileTarget(
      {
        sources,
        writer: this.deps.writer,
        operatorNamespace: this.config.operatorNamespace,
        logger: this.deps.logger.child({ target: key }),
        now: this.now,
        onPublish: (k, p) => this.published.set(k, p),
        emit: (e) => this.emit(e),
        memo: this.memo,
        ...(lane ? { deferStatus: async (work: () => Promise<void>) => lane.submit(key, work) } : {}),
      },
      target,
    );
    const prev = this.summaries.get(key);
    this.summaries.set(key, summary);
    this.index.set(key, summary.references);
    this.deps.metrics.reconciles.inc({ result: summary.result });
    this.enqueueAffectedObjects(prev, summary);
  }

  private targetExists(t: Target): boolean {
    const s = this.sources as ClusterSources;
    if (t.kind === 'Cluster') return !s.hypershift;
    return s.hypershift && s.get('NodePool', t.namespace, t.name) !== undefined;
  }

  /** The target is gone: remove its outputs and status (no garbage collector is assumed to run). */
  private async cleanup(key: string, t: Target): Promise<void> {
    const deleted = await removeTarget(
      { sources: this.sources as ClusterSources, writer: this.deps.writer, operatorNamespace: this.config.operatorNamespace },
      t,
    );
    const prev = this.summaries.get(key);
    this.summaries.delete(key);
    this.index.remove(key);
    this.published.delete(key);
    if (deleted) {
      this.deps.logger.info({ target: key }, 'target gone; removed its outputs and status');
      this.deps.metrics.reconciles.inc({ result: 'deleted' });
    }
    if (prev) this.enqueueObjects();
  }

  /** Object statuses depend on target results: refresh the objects whose part in a target changed. */
  private enqueueAffectedObjects(prev: TargetSummary | undefined, now: TargetSummary): void {
    const q = this.queue;
    if (!q) return;
    const fingerprint = (s: TargetSummary | undefined): string =>
      s ? JSON.stringify([s.ok, s.contributors, s.problems.map((p) => [p.origin?.kind, p.origin?.name, p.reason, p.message])]) : '';
    if (fingerprint(prev) === fingerprint(now)) return;
    const keys = new Set([...(prev?.contributors ?? []), ...now.contributors]);
    for (const p of [...(prev?.problems ?? []), ...now.problems]) {
      if (p.origin && KIND_OF[p.origin.kind] && !p.origin.namespace) keys.add(`${p.origin.kind}/${p.origin.name}`);
    }
    // Objects that select the target but did not contribute (invalid ones) are refreshed too.
    if (prev?.ok !== now.ok) {
      this.enqueueObjects();
      return;
    }
    for (const k of keys) q.addAfter(`${OBJECT_PREFIX}${k}`, OBJECT_DELAY_MS);
  }

  private async reconcileObject(key: string): Promise<HandlerResult> {
    const s = this.sources as ClusterSources;
    const [kindName, ...rest] = key.slice(OBJECT_PREFIX.length).split('/');
    const kind = kindName === undefined ? undefined : KIND_OF[kindName];
    const obj = kind ? s.clusterObject(kind, rest.join('/')) : undefined;
    if (!kind || !obj) return;
    // Wait for target passes in flight, so counts are not written half-way (bounded, never starves).
    const waited = this.deferrals.get(key) ?? 0;
    if (this.queue?.busyWith(isTargetKey) && waited < MAX_OBJECT_DEFERRALS) {
      this.deferrals.set(key, waited + 1);
      return { requeueAfterMs: 200 };
    }
    this.deferrals.delete(key);
    const selected = selectedTargets(obj, s.hypershift ? s.nodePools() : undefined);
    const status = buildObjectStatus(objectState(obj, selected, this.summaries), this.now);
    const before = findCondition(conditionsOf(obj.status), ACCEPTED);
    if (!(await writeObjectStatus(this.deps.writer, RESOURCES[kind], obj, status))) return;
    const after = findCondition(status.conditions, ACCEPTED);
    if (after?.status === 'False' && (before?.status !== 'False' || before.message !== after.message)) {
      await this.emit({ involved: involvedOf(obj), namespace: CLUSTER_EVENT_NAMESPACE, type: 'Warning', reason: after.reason, message: after.message });
    } else if (after?.status === 'True' && before?.status === 'False') {
      await this.emit({ involved: involvedOf(obj), namespace: CLUSTER_EVENT_NAMESPACE, type: 'Normal', reason: 'Accepted', message: after.message });
    }
  }

  /** Events are best effort: a failure is logged, never retried. */
  private async emit(e: EventSpec): Promise<void> {
    try {
      await this.events.record(e);
    } catch (err) {
      this.deps.logger.warn({ involved: `${e.involved.kind} ${e.involved.name}`, reason: e.reason, ...errorFields(err) }, 'could not record event');
    }
  }

  private targetCounts(): Array<{ condition: string; status: string; count: number }> {
    const counts = new Map<string, number>();
    for (const s of this.summaries.values()) {
      for (const [condition, on] of [
        ['Ready', s.ready],
        ['Degraded', s.degraded],
      ] as const) {
        const k = `${condition}|${on ? 'True' : 'False'}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    return [...counts].map(([k, count]) => {
      const [condition = '', status = ''] = k.split('|');
      return { condition, status, count };
    });
  }
}

function isTargetKey(key: string): boolean {
  return !key.startsWith(OBJECT_PREFIX);
}

/** TARGET_LABEL values: `cluster` or `<namespace>.<name>` (namespaces hold no dots). */
export function keyOfTargetLabel(label: string | undefined): string | undefined {
  if (!label) return undefined;
  if (label === 'cluster') return 'cluster';
  const dot = label.indexOf('.');
  if (dot <= 0) return undefined;
  return targetKey({ kind: 'NodePool', namespace: label.slice(0, dot), name: label.slice(dot + 1) });
}

function targetOfStatus(obj: KubeObject): Target | undefined {
  const t = (obj.spec as { target?: { kind?: string; namespace?: string; name?: string } } | undefined)?.target;
  if (t?.kind === 'Cluster') return { kind: 'Cluster' };
  if (t?.kind === 'NodePool' && t.namespace && t.name) return { kind: 'NodePool', namespace: t.namespace, name: t.name };
  return undefined;
}
