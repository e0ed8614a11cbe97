// The object status controller: a queue of our cluster-scoped objects;
// `process(key)` decides an object's Accepted and Applied conditions from the
// object and the cached RenderedMirrorConfig statuses (objects.ts) and writes
// them when they changed. A status event queues the objects that status
// names, before and after the change.
//
// Object statuses summarise target passes, so they come after them: the
// queue's gate stays shut while target passes or their status writes are
// waiting or running (the target controller reopens it when it goes idle),
// and an object that waited 5 s goes ahead anyway. A fleet-wide change then
// writes each object's status once, not once per target.
import { CLUSTER_OBJECT_KINDS, type ClusterObjectKind } from '../model/kinds.js';
import type { KubeObject } from '../model/source.js';
import { conditionsOf, findCondition } from './conditions.js';
import { CLUSTER_EVENT_NAMESPACE, type EventSpec, involvedOf } from './events.js';
import type { EventType } from './informer.js';
import { RESOURCES, type Writer } from './kube.js';
import { errorFields, type Logger } from './log.js';
import type { ControllerMetrics } from './metrics.js';
import { buildObjectStatus, isClusterObjectOrigin, objectState, reportOf, selectedTargets, type TargetReport, writeObjectStatus } from './objects.js';
import { type Gate, WorkQueue } from './queue.js';
import type { ClusterSources } from './sources.js';

/** One of our cluster-scoped objects. */
export interface ObjectKey {
  kind: ClusterObjectKind;
  name: string;
}

export function objectId(k: ObjectKey): string {
  return `${k.kind}/${k.name}`;
}

/** How long an object status waits for target work at most. */
export const OBJECT_MAX_WAIT_MS = 5_000;

export interface ObjectControllerDeps {
  sources: ClusterSources;
  writer: Writer;
  logger: Logger;
  metrics: ControllerMetrics;
  now: () => Date;
  emit: (e: EventSpec) => Promise<void>;
  /** True while target work is waiting or running. */
  targetsBusy: () => boolean;
}

export class ObjectStatusController {
  readonly queue: WorkQueue<ObjectKey>;
  /** The objects each cached status named when last seen, by status `namespace/name`. */
  private readonly named = new Map<string, ObjectKey[]>();

  constructor(private readonly deps: ObjectControllerDeps) {
    const gate: Gate = { open: () => !deps.targetsBusy(), maxWaitMs: OBJECT_MAX_WAIT_MS };
    this.queue = new WorkQueue<ObjectKey>({
      id: objectId,
      concurrency: 1,
      gate,
      onError: (k, err, attempt) => deps.logger.warn({ object: objectId(k), attempt, ...errorFields(err) }, 'object status failed; retrying'),
    });
  }

  start(): void {
    // What each status names now, so that a later change also queues the objects it stops naming.
    for (const st of this.deps.sources.allStatuses()) {
      const report = reportOf(st);
      if (report) this.named.set(`${st.metadata.namespace ?? ''}/${st.metadata.name}`, namedBy(report));
    }
    this.queue.start((k) => this.process(k));
  }

  stop(): Promise<void> {
    return this.queue.shutdown();
  }

  /** Target work is done: held object statuses may go. */
  resume(): void {
    this.queue.pump();
  }

  add(k: ObjectKey): void {
    this.queue.add(k);
  }

  /** Every object (a NodePool came, went or changed labels: selections may have changed). */
  addAll(): void {
    for (const kind of CLUSTER_OBJECT_KINDS) for (const o of this.deps.sources.clusterObjects(kind)) this.add({ kind, name: o.metadata.name });
  }

  /** A RenderedMirrorConfig changed: the objects it names now or named before. */
  statusChanged(event: EventType, obj: KubeObject): void {
    const at = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const before = this.named.get(at) ?? [];
    const report = event === 'delete' ? undefined : reportOf(obj);
    const now = report ? namedBy(report) : [];
    if (now.length > 0) this.named.set(at, now);
    else this.named.delete(at);
    for (const k of [...before, ...now]) this.add(k);
  }

  idle(): boolean {
    return this.queue.idle();
  }

  async process(key: ObjectKey): Promise<void> {
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind: 'object' });
    try {
      const s = this.deps.sources;
      const obj = s.clusterObject(key.kind, key.name);
      if (!obj) return;
      const selected = selectedTargets(obj, s.hypershift ? s.nodePools() : undefined);
      const reports = s.allStatuses().flatMap((st) => reportOf(st) ?? []);
      const status = buildObjectStatus(objectState(obj, selected, reports), this.deps.now);
      const before = findCondition(conditionsOf(obj.status), 'Accepted');
      if (!(await writeObjectStatus(this.deps.writer, RESOURCES[key.kind], obj, status))) return;
      const after = findCondition(status.conditions, 'Accepted');
      const base = { involved: involvedOf(obj), namespace: CLUSTER_EVENT_NAMESPACE };
      if (after?.status === 'False' && (before?.status !== 'False' || before.message !== after.message)) {
        // Accepted=False carries the reason of the first problem about the object (objects.ts).
        await this.deps.emit({ ...base, type: 'Warning', reason: after.reason as EventSpec['reason'], message: after.message });
      } else if (after?.status === 'True' && before?.status === 'False') {
        await this.deps.emit({ ...base, type: 'Normal', reason: 'Accepted', message: after.message });
      }
    } catch (err) {
      this.deps.metrics.reconcileErrors.inc();
      throw err;
    } finally {
      end();
    }
  }
}

/** Our objects a target report names: contributors and the objects its problems are about. */
function namedBy(r: TargetReport): ObjectKey[] {
  const origins = [...r.contributors, ...r.problems.flatMap((p) => (p.origin ? [p.origin] : []))];
  const keys = new Map<string, ObjectKey>();
  for (const o of origins) {
    const kind = CLUSTER_OBJECT_KINDS.find((k) => RESOURCES[k].kind === o.kind);
    if (kind && isClusterObjectOrigin(o)) {
      keys.set(`${kind}/${o.name}`, { kind, name: o.name });
    }
  }
  return [...keys.values()];
}
