// The operator: caches (sources.ts) report changes; `route` turns each into
// keys of two controllers, each with its own typed queue
// (docs/adr/0003-two-controllers.md):
// - the target controller (target-controller.ts): a target's inputs ->
//   its output and RenderedMirrorConfig;
// - the object status controller (object-controller.ts): the cached
//   RenderedMirrorConfig statuses -> Accepted/Applied of our objects.
// With leader election only the Lease holder works; followers keep their
// caches warm to take over fast.
import { byteOrder } from '../common/values.js';
import { TARGET_LABEL, targetLabelValue, targetOfLabel } from '../contract.js';
import { appliesTo, CLUSTER_TARGET_SELECTS, nodePoolSelects } from '../model/gather.js';
import type { KubeObject, Target } from '../model/source.js';
import { EventRecorder, type EventSpec } from './events.js';
import { backoffDelay, DEFAULT_BACKOFF } from './informer.js';
import type { Writer } from './kube.js';
import { LeaderElector, type LeaseClient } from './leader.js';
import { errorFields, type Logger } from './log.js';
import type { ControllerMetrics } from './metrics.js';
import type { NodePoolOptions } from './nodepool-delivery.js';
import { ObjectStatusController } from './object-controller.js';
import type { Coalescing } from './queue.js';
import { nodeBelongsTo } from './reachability.js';
import { ClusterSources, type InformerApi, type SourceEvent } from './sources.js';
import { targetOfStatus } from './status.js';
import { TargetController } from './target-controller.js';
import { targetId } from './targets.js';

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
  /** How bursts of changes of cluster-scoped objects collapse per target (default DEFAULT_COALESCING). */
  coalesce?: Coalescing;
  /** Options for NodePool targets (nodepool-delivery.ts). */
  nodePools?: NodePoolOptions;
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

/** The two controllers of a leader, over one set of caches. */
interface Workers {
  targets: TargetController;
  objects: ObjectStatusController;
}

/** The resync runs this many times per period, each time for the targets whose last pass is a period old. */
const RESYNC_TICKS = 4;

export class Controller {
  private sources: ClusterSources | undefined;
  private workers: Workers | undefined;
  private elector: LeaderElector | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
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
    deps.metrics.setQueueDepth(() => (this.workers ? this.workers.targets.queue.depth() + this.workers.objects.queue.depth() : 0));
    deps.metrics.setStatusWrites(() => this.workers?.targets.statusWritesPending() ?? 0);
    deps.metrics.setTargets(() => this.workers?.targets.counts() ?? []);
    deps.metrics.setHeld(() => this.workers?.targets.queue.heldCount() ?? 0);
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
    return this.workers !== undefined;
  }

  /** True when nothing is queued or running (tests and benchmarks). */
  idle(): boolean {
    return !this.workers || (this.workers.targets.idle() && this.workers.targets.queue.idle() && this.workers.objects.idle());
  }

  private makeSources(hypershift: boolean): ClusterSources {
    return new ClusterSources({
      api: this.deps.informerApi,
      operatorNamespace: this.config.operatorNamespace,
      hypershift,
      logger: this.deps.logger,
      onEvent: (e) => {
        if (this.workers) this.route(this.workers, e);
      },
    });
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
    const working = this.workers !== undefined;
    await this.stopWorking();
    await this.sources?.stop();
    this.sources = this.makeSources(hypershift);
    this.sources.start();
    if (working && !this.stopped) await this.startWorking();
  }

  private onLeading(leading: boolean): void {
    this.transition = this.transition.then(() => (leading && !this.stopped ? this.startWorking() : this.stopWorking()));
  }

  private async startWorking(): Promise<void> {
    const sources = this.sources;
    if (this.workers || !sources) return;
    this.deps.metrics.isLeader.set(1);
    while (!(await sources.waitForSync(5_000))) {
      if (this.stopped) return;
      this.deps.logger.info('waiting for caches to fill');
    }
    const common = {
      sources,
      writer: this.deps.writer,
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      now: this.now,
      emit: (e: EventSpec) => this.emit(e),
    };
    const workers: Workers = {
      targets: new TargetController({
        ...common,
        operatorNamespace: this.config.operatorNamespace,
        concurrency: this.config.concurrency,
        ...(this.config.nodePools ? { nodePools: this.config.nodePools } : {}),
        onIdle: () => workers.objects.resume(),
        ...(this.config.coalesce ? { coalesce: this.config.coalesce } : {}),
      }),
      objects: new ObjectStatusController({ ...common, targetsBusy: () => !workers.targets.idle() }),
    };
    this.workers = workers;
    workers.targets.start();
    workers.objects.start();
    this.enqueueAll(workers);
    const period = this.config.resyncPeriodMs;
    if (period > 0) {
      let ticks = 0;
      this.resyncTimer = setInterval(() => this.resync(period, ++ticks % RESYNC_TICKS === 0), period / RESYNC_TICKS);
    }
    this.deps.logger.info('workers started');
  }

  private async stopWorking(): Promise<void> {
    this.deps.metrics.isLeader.set(0);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    const w = this.workers;
    this.workers = undefined;
    if (!w) return;
    await Promise.all([w.targets.stop(), w.objects.stop()]);
    this.deps.logger.info('workers stopped');
  }

  /**
   * Every target whose last pass is at least one period old (so each runs
   * again within 1.25 periods, and a target that ran meanwhile for another
   * reason is not run again for the resync's sake: a fleet-wide change that
   * takes longer than a period is not slowed down by resync passes); at
   * every full period, API discovery too.
   */
  private resync(periodMs: number, full: boolean): void {
    if (full) void this.recheckTargets();
    const w = this.workers;
    if (!w) return;
    this.enqueueAll(w, periodMs);
    // Only between passes: a pass records its references after it started the caches they need.
    if (w.targets.idle()) {
      void this.sources
        ?.collectGarbage((ref) => w.targets.isReferenced(ref))
        .then((n) => {
          if (n > 0) this.deps.logger.info({ stopped: n, ...this.sources?.watchCounts() }, 'stopped caches nothing references');
        });
    }
  }

  // ---------------------------------------------------------------- events -> keys

  /** The keys a change of the caches queues. */
  private route(w: Workers, e: SourceEvent): void {
    switch (e.type) {
      case 'input': {
        // The targets that read the object, and a NodePool's own target (usually one of its readers): each added once,
        // since an add starts a pass at once and a second add of the same target would queue a second pass.
        const queued = new Map<string, Target>();
        for (const t of w.targets.readersOf({ kind: e.kind, namespace: e.namespace, name: e.name })) queued.set(targetId(t), t);
        if (e.kind === 'NodePool') {
          const own: Target = { kind: 'NodePool', namespace: e.namespace, name: e.name };
          queued.set(targetId(own), own);
        }
        for (const t of queued.values()) w.targets.add(t);
        // A NodePool's labels may have changed which objects select it.
        if (e.kind === 'NodePool') w.objects.addAll();
        return;
      }
      case 'clusterObject':
        // Only the targets it applies to, before or after the change; a burst of edits collapses per target.
        for (const t of this.targetsAffectedBy(e.obj, e.previous)) w.targets.addCoalesced(t);
        w.objects.add({ kind: e.kind, name: e.obj.metadata.name });
        return;
      case 'output': {
        const t = this.targetOfOutput(e.obj);
        if (t) w.targets.outputChanged(t, e.kind, e.event, e.obj);
        return;
      }
      case 'status': {
        const t = targetOfStatus(e.obj);
        if (e.event === 'delete' && t) w.targets.add(t);
        w.objects.statusChanged(e.event, e.obj);
        return;
      }
      case 'node':
        // The targets whose nodes these are, before and after (a relabelled node moves). The agents of a
        // NodePool's nodes report one after the other: their reports coalesce like edits of cluster-scoped objects.
        for (const t of this.allTargets()) {
          if ((e.now && nodeBelongsTo(e.now, t)) || (e.before && nodeBelongsTo(e.before, t))) w.targets.addCoalesced(t);
        }
        return;
    }
  }

  /**
   * The targets a change of one of our cluster-scoped objects can affect:
   * those gather takes it for (model/gather.ts `appliesTo`) as it is now or
   * as it was before the change. A target neither version applies to renders
   * the same output and status with or without the object. (A NodePool whose
   * labels change is queued by its own event.)
   */
  private targetsAffectedBy(now: KubeObject, before: KubeObject | undefined): Target[] {
    const s = this.sources;
    if (!s) return [];
    const versions = before ? [now, before] : [now];
    if (!s.hypershift) return versions.some((o) => appliesTo(o, CLUSTER_TARGET_SELECTS)) ? [{ kind: 'Cluster' }] : [];
    const out: Target[] = [];
    for (const np of s.nodePools()) {
      const selects = nodePoolSelects(np.metadata.labels ?? {});
      if (versions.some((o) => appliesTo(o, selects))) out.push({ kind: 'NodePool', namespace: np.metadata.namespace ?? '', name: np.metadata.name });
    }
    return out;
  }

  private allTargets(): Target[] {
    const s = this.sources;
    if (!s) return [];
    if (!s.hypershift) return [{ kind: 'Cluster' }];
    return s.nodePools().map((np) => ({ kind: 'NodePool', namespace: np.metadata.namespace ?? '', name: np.metadata.name }));
  }

  /** Every target, and every target that is gone but left outputs or a status behind (deleted while no leader ran); every object. */
  private enqueueAll(w: Workers, staleAfterMs?: number): void {
    const targets = new Map<string, Target>(this.allTargets().map((t) => [targetId(t), t]));
    for (const s of this.sources?.allStatuses() ?? []) {
      const t = targetOfStatus(s);
      if (t) targets.set(targetId(t), t);
    }
    for (const o of this.sources?.allOutputs() ?? []) {
      const t = this.targetOfOutput(o);
      if (t) targets.set(targetId(t), t);
    }
    for (const [, t] of [...targets].sort(([a], [b]) => byteOrder(a, b))) {
      if (staleAfterMs === undefined || w.targets.sinceLastPass(t) >= staleAfterMs) w.targets.add(t);
    }
    w.objects.addAll();
  }

  /**
   * The target an output of ours belongs to, by its TARGET_LABEL. A short
   * form of the label (long names, contract.ts) is matched against the
   * NodePool its ownerReference names, then the NodePools of its namespace.
   */
  private targetOfOutput(o: KubeObject): Target | undefined {
    const value = o.metadata.labels?.[TARGET_LABEL];
    const t = targetOfLabel(value);
    if (t || !value) return t;
    const namespace = o.metadata.namespace ?? '';
    const owners = ((o.metadata as { ownerReferences?: Array<{ kind?: string; name?: string }> }).ownerReferences ?? [])
      .filter((r) => r.kind === 'NodePool' && typeof r.name === 'string')
      .map((r) => r.name as string);
    const pools = this.sources?.hypershift ? this.sources.nodePools().filter((np) => np.metadata.namespace === namespace) : [];
    const names = [...owners, ...pools.map((np) => np.metadata.name)];
    for (const name of names) {
      const candidate: Target = { kind: 'NodePool', namespace, name };
      if (targetLabelValue(candidate) === value) return candidate;
    }
    return undefined;
  }

  /** Events are best effort: a failure is logged, never retried. */
  private async emit(e: EventSpec): Promise<void> {
    try {
      await this.events.record(e);
    } catch (err) {
      this.deps.logger.warn({ involved: `${e.involved.kind} ${e.involved.name}`, reason: e.reason, ...errorFields(err) }, 'could not record event');
    }
  }
}
