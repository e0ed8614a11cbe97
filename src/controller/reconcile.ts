// One target, one pass: render from the caches, publish the output only when
// it differs from what is stored, then write the RenderedMirrorConfig status
// only when it changed (inline, or handed to the controller's StatusLane). Invalid inputs never touch the published output: the
// last good one stays and the status says why (SPEC §6).
import { outputName, statusName, targetNamespace } from '../contract.js';
import type { KubeObject, ObjectSource, Reference, Target } from '../model/source.js';
import type { Problem, Reason } from '../model/types.js';
import { type PipelineOptions, type RenderedTarget, type RenderMemo, renderTarget } from '../pipeline.js';
import { type Condition, conditionsOf, findCondition } from './conditions.js';
import { type EventSpec, eventsFor, withStatusUid } from './events.js';
import { RESOURCES, type Writer } from './kube.js';
import type { Logger } from './log.js';
import { syncConfigRef } from './nodepool-config-ref.js';
import { nodePoolConditionEvents } from './nodepool-conditions.js';
import { type Held, type HoldDeps, holdConfig } from './config-gate.js';
import type { DeliveryInput } from './nodepool-conditions.js';
import { DEFAULT_NODEPOOL_OPTIONS, type DeliveryStatus, type NodePoolOptions, recordPublished } from './nodepool-delivery.js';
import {
  deleteOwn,
  foreignReason,
  OutputNameConflict,
  outputLabels,
  outputSizeProblem,
  type Published,
  type PublishResult,
  publishOutputs,
} from './outputs.js';
import type { NodeReport } from './reachability.js';
import { CachesNotFilled, type WrittenKind } from './sources.js';
import { buildTargetStatus, statusUnchanged, type TargetStatusInput, writeTargetStatus } from './status.js';
import { targetId } from './targets.js';
import { derivedNamesProblem, OutputProblem } from './write-errors.js';

/** What reconciling reads: an ObjectSource over the caches plus our own objects. */
export interface TargetSources extends ObjectSource {
  ensure(refs: readonly Reference[]): Promise<boolean>;
  outputConfigMap(namespace: string, name: string): KubeObject | undefined;
  outputSecret(namespace: string, name: string): KubeObject | undefined;
  status(namespace: string, name: string): KubeObject | undefined;
  /** The Nodes that install this target's output, with their probe summaries; undefined when unknown. */
  nodeReports?(target: Target): readonly NodeReport[] | undefined;
  /** Tells the caches about a write of ours (see ClusterSources.recordWrite). */
  recordWrite(kind: WrittenKind, namespace: string, name: string, before: KubeObject | undefined, after: KubeObject | undefined): void;
}

export interface ReconcileDeps {
  sources: TargetSources;
  writer: Writer;
  operatorNamespace: string;
  logger: Logger;
  now: () => Date;
  /** Called before the output is written, with what will be stored (drift detection compares against it). */
  onPublish?: (targetKey: string, p: Published) => void;
  /** Emits an Event (the controller adds the source and timestamps). */
  emit?: (e: EventSpec) => Promise<void>;
  render?: (src: ObjectSource, target: Target, memo?: RenderMemo, options?: PipelineOptions) => RenderedTarget;
  /** Options for NodePool targets (agent files, settle window, approval); defaults: DEFAULT_NODEPOOL_OPTIONS. */
  nodePools?: Partial<NodePoolOptions>;
  /** Shares one render among targets with the same inputs. */
  memo?: RenderMemo;
  /**
   * Runs the status write and its event; by default inline, the controller
   * hands them to a StatusLane. `urgent`: the write is news (a new status, a
   * condition that changes, an event) and does not wait for the outputs.
   */
  deferStatus?: (work: () => Promise<void>, urgent: boolean) => Promise<void>;
}

/** What the controller keeps per target after a pass (reference index, metrics). */
export interface TargetSummary {
  ok: boolean;
  ready: boolean;
  degraded: boolean;
  references: Reference[];
  result: 'rendered' | 'unchanged' | 'degraded';
  /** A held change of a NodePool's `config` key is due then: the target needs a pass even if nothing else happens. */
  passAgainInMs?: number;
  /** Run the target again after this long even if no event comes (an output name held by someone else's object). */
  retryAfterMs?: number;
}

/**
 * While an object that is not ours holds an output's name, the target runs
 * again this often. The watch on that object is what normally ends the wait
 * (its deletion queues the target at once); this bounds it if that watch
 * cannot be started.
 */
export const CONFLICT_RETRY_MS = 30_000;

/** How many times references may pull in new caches before giving up for this pass. */
const MAX_RENDER_ROUNDS = 4;

export async function reconcileTarget(deps: ReconcileDeps, target: Target): Promise<TargetSummary> {
  let rendered = await renderWithCaches(deps, target);
  const key = targetId(target);
  const existing = deps.sources.status(targetNamespace(target, deps.operatorNamespace), statusName(target));
  const owner = ownerOf(rendered);
  const np = target.kind === 'NodePool' ? rendered.gathered.nodePool : undefined;
  const previousDelivery = (existing?.status as { delivery?: DeliveryStatus } | undefined)?.delivery;
  let published: PublishResult | undefined;
  let held: Held | undefined;
  let conflict: OutputNameConflict | undefined;
  if (rendered.outcome.ok) {
    // NodePool targets: a change of `config` that would roll the nodes may be held (config-gate.ts).
    held = np ? await holdConfig(holdDeps(deps), np, outputLocation(target, deps.operatorNamespace), rendered.outcome, previousDelivery) : undefined;
    try {
      published = await publishOutputs(deps, target, held?.data ?? rendered.outcome, owner, (p) => deps.onPublish?.(key, p));
    } catch (err) {
      if (err instanceof OutputProblem) {
        // Refused for good (write-errors.ts): a problem of this target, reported in its status; no retry loop.
        deps.logger.warn({ target: key, reason: err.problem.reason, err: err.problem.message }, 'output not written');
        rendered = { ...rendered, outcome: { ok: false, errors: [err.problem] } };
      } else {
        if (!(err instanceof OutputNameConflict)) throw err;
        conflict = err;
        rendered = { ...rendered, outcome: { ok: false, errors: err.problems() } };
        await watchConflicts(deps, target, err);
      }
    }
  }
  const own = deps.sources.outputConfigMap(targetNamespace(target, deps.operatorNamespace), outputName(target));
  const exists = published !== undefined || (own !== undefined && !conflict && foreignReason(own, target, owner) === undefined);
  if (np) {
    await syncConfigRef({ patchNodePool: deps.writer.patchNodePool?.bind(deps.writer), logger: deps.logger }, np, outputName(target), exists);
  }
  const input: TargetStatusInput = { target, rendered, published, existing, now: deps.now, nodes: deps.sources.nodeReports?.(target) };
  if (np) input.delivery = deliveryInput(np, outputName(target), exists, previousDelivery, held, deps.now());
  const status = buildTargetStatus(input);
  // Decided now, so that a deferred write holds the status and the events, not the render.
  const gated = (held?.decision.events ?? []).flatMap((text) => eventsFor(target, rendered, deps.operatorNamespace, text));
  const events = [...transitionEvents(deps, target, rendered, existing, status.conditions), ...(deps.emit ? gated : [])];
  // A resync that changes nothing has nothing to hand over.
  if (events.length > 0 || !statusUnchanged(existing, status)) {
    const report = async (): Promise<void> => {
      await writeTargetStatus(deps, target, existing, status, owner);
      const stored = deps.sources.status(targetNamespace(target, deps.operatorNamespace), statusName(target));
      for (const e of withStatusUid(events, stored)) await deps.emit?.(e);
    };
    const urgent = events.length > 0 || conditionsMoved(existing, status.conditions);
    await (deps.deferStatus ? deps.deferStatus(report, urgent) : report());
  }
  const summary = summarize(rendered, published, status.conditions);
  if (conflict) {
    // The objects in the way count as read: their watch events (a delete, above all) queue this target.
    summary.references = [...summary.references, ...conflict.references()];
    summary.retryAfterMs = CONFLICT_RETRY_MS;
  }
  const due = held?.decision.publish === 'stored' ? held.decision.dueInMs : undefined;
  if (due !== undefined) summary.passAgainInMs = due;
  return summary;
}

/** True for a new status, or when a condition comes, goes or changes its status or reason. */
function conditionsMoved(existing: KubeObject | undefined, next: readonly Condition[]): boolean {
  if (!existing) return true;
  const before = conditionsOf(existing.status);
  if (before.length !== next.length) return true;
  return next.some((c) => {
    const b = before.find((x) => x.type === c.type);
    return b?.status !== c.status || b.reason !== c.reason;
  });
}

/** Starts the caches that watch the objects in the way (best effort: the retry covers a failure). */
async function watchConflicts(deps: ReconcileDeps, target: Target, conflict: OutputNameConflict): Promise<void> {
  deps.logger.warn({ target: targetId(target), conflicts: conflict.references() }, 'output name held by an object the operator does not own; left untouched');
  try {
    await deps.sources.ensure(conflict.references());
  } catch (err) {
    if (!(err instanceof CachesNotFilled)) throw err;
    deps.logger.warn({ target: targetId(target), err: err.message }, 'cannot watch the objects holding the output name; retrying later');
  }
}

function holdDeps(deps: ReconcileDeps): HoldDeps {
  const o = { ...DEFAULT_NODEPOOL_OPTIONS, ...deps.nodePools };
  return { sources: deps.sources, writer: deps.writer, options: { settleMs: o.settleMs, approval: o.approval }, now: deps.now };
}

function outputLocation(target: Target, operatorNamespace: string): { namespace: string; name: string } {
  return { namespace: targetNamespace(target, operatorNamespace), name: outputName(target) };
}

/** status.delivery after this pass, and what Delivered is decided from. */
function deliveryInput(
  np: KubeObject,
  output: string,
  exists: boolean,
  previous: DeliveryStatus | undefined,
  held: Held | undefined,
  now: Date,
): DeliveryInput {
  // Invalid inputs publish nothing: the record stays, a pending change of earlier inputs is dropped.
  const record = recordPublished(previous, held?.config, np, now);
  const delivery = held?.decision.publish === 'stored' ? { ...record, ...held.decision.pending } : record;
  return { np, outputName: output, outputExists: exists, delivery, now };
}

/**
 * Deletes what the operator wrote for a target that no longer exists (its
 * output ConfigMap and Secret, its RenderedMirrorConfig), without assuming a
 * garbage collector. Outputs are deleted only when they are ours, and only
 * as found (uid and resourceVersion preconditions): an object someone else
 * owns, or changed meanwhile, stays. True when something was deleted.
 */
export async function removeTarget(deps: Pick<ReconcileDeps, 'sources' | 'writer' | 'operatorNamespace'>, t: Target): Promise<boolean> {
  const { sources: s, writer: w } = deps;
  const [ns, name] = [targetNamespace(t, deps.operatorNamespace), outputName(t)];
  const [sns, sname] = [ns, statusName(t)];
  const own = (o: KubeObject | undefined): KubeObject | undefined => (o && foreignReason(o, t, undefined) === undefined ? o : undefined);
  const cm = own(s.outputConfigMap(ns, name));
  const secret = own(s.outputSecret(ns, name));
  const doomed: Array<{ kind: WrittenKind; ns: string; name: string; obj: KubeObject | undefined; del: () => Promise<void> }> = [
    { kind: 'ConfigMap', ns, name, obj: cm, del: () => deleteOwn(w, 'ConfigMap', cm as KubeObject) },
    { kind: 'Secret', ns, name, obj: secret, del: () => deleteOwn(w, 'Secret', secret as KubeObject) },
    { kind: 'RenderedMirrorConfig', ns: sns, name: sname, obj: s.status(sns, sname), del: () => w.deleteCustom(RESOURCES.RenderedMirrorConfig, sns, sname) },
  ];
  const present = doomed.filter((d) => d.obj !== undefined);
  for (const d of present) {
    await d.del();
    s.recordWrite(d.kind, d.ns, d.name, d.obj, undefined);
  }
  return present.length > 0;
}

/**
 * Renders, then makes sure every object the render looked up is cached; if
 * a cache had to be filled first, renders again with the complete picture.
 * Without this a first reference would read as missing (a false Degraded).
 */
async function renderWithCaches(deps: ReconcileDeps, target: Target): Promise<RenderedTarget> {
  let rendered = safeRender(deps, target);
  for (let round = 1; round < MAX_RENDER_ROUNDS; round++) {
    try {
      if (!(await deps.sources.ensure(rendered.gathered.references))) break;
    } catch (err) {
      if (err instanceof CachesNotFilled) return unreadable(rendered, err);
      throw err;
    }
    rendered = safeRender(deps, target);
  }
  return withinLimits(rendered, deps.operatorNamespace);
}

/**
 * Referenced objects that could not be read are not "missing": say what the
 * API answered (e.g. 403 from RBAC). Their caches keep retrying; the first
 * object they list queues the target again.
 */
function unreadable(rendered: RenderedTarget, err: CachesNotFilled): RenderedTarget {
  const errors: Problem[] = err.unread.map(({ ref, why }) => ({
    reason: 'UnreadableReference',
    message: `cannot read ${ref.kind} ${ref.namespace}/${ref.name}: ${why}`,
    value: ref.name,
  }));
  // The render saw those objects as absent: its "not found" for them would mislead.
  const notFound = err.unread.map((u) => `${u.ref.kind} ${u.ref.namespace}/${u.ref.name} not found`);
  const others = rendered.gathered.problems.filter((p) => !(p.reason === 'MissingReference' && notFound.some((m) => p.message.includes(m))));
  return { ...rendered, gathered: { ...rendered.gathered, problems: [] }, outcome: { ok: false, errors: [...errors, ...others] } };
}

/** An output that cannot be stored (too large, or a name, label or key Kubernetes refuses) is a failed render: nothing is written, the last good output stays. */
function withinLimits(rendered: RenderedTarget, operatorNamespace: string): RenderedTarget {
  if (!rendered.outcome.ok) return rendered;
  const t = rendered.target;
  const output = { namespace: targetNamespace(t, operatorNamespace), name: outputName(t), labels: outputLabels(t) };
  const problem = outputSizeProblem(t, rendered.outcome, operatorNamespace) ?? derivedNamesProblem(output, rendered.outcome);
  return problem ? { ...rendered, outcome: { ok: false, errors: [problem] } } : rendered;
}

/** A throwing render is a bug, not a user mistake: report it as InternalError and keep the last output. */
function safeRender(deps: ReconcileDeps, target: Target): RenderedTarget {
  try {
    const options: PipelineOptions = deps.nodePools?.agentFiles ? { nodePoolAgentFiles: deps.nodePools.agentFiles } : {};
    return (deps.render ?? renderTarget)(deps.sources, target, deps.memo, options);
  } catch (err) {
    const message = `internal error while rendering: ${err instanceof Error ? err.message : String(err)}`;
    deps.logger.error({ target: targetId(target), err: message }, 'render failed');
    const inputs = { entries: [], insecure: [], blocked: [], access: [], contributors: [] };
    return { target, gathered: { inputs, problems: [], references: [] }, outcome: { ok: false, errors: [{ reason: 'InternalError', message }] } };
  }
}

/** NodePool targets: outputs and status are owned by the NodePool, so the garbage collector also removes them. */
function ownerOf(rendered: RenderedTarget): KubeObject | undefined {
  const np = rendered.gathered.nodePool;
  return rendered.target.kind === 'NodePool' && np?.metadata.uid ? np : undefined;
}

function summarize(rendered: RenderedTarget, published: PublishResult | undefined, conditions: readonly Condition[]): TargetSummary {
  return {
    ok: rendered.outcome.ok,
    ready: findCondition(conditions, 'Ready')?.status === 'True',
    degraded: findCondition(conditions, 'Degraded')?.status === 'True',
    references: rendered.gathered.references,
    result: !rendered.outcome.ok ? 'degraded' : published?.changed ? 'rendered' : 'unchanged',
  };
}

/** The events for a change of Degraded (on, changed, or cleared), if any: on the NodePool (or named object) and the RenderedMirrorConfig. */
function transitionEvents(
  deps: ReconcileDeps,
  target: Target,
  rendered: RenderedTarget,
  existing: KubeObject | undefined,
  next: readonly Condition[],
): EventSpec[] {
  if (!deps.emit) return [];
  const nodePool = nodePoolConditionEvents(conditionsOf(existing?.status), next).flatMap((text) => eventsFor(target, rendered, deps.operatorNamespace, text));
  return [...degradedEvents(deps, target, rendered, existing, next), ...nodePool];
}

function degradedEvents(
  deps: ReconcileDeps,
  target: Target,
  rendered: RenderedTarget,
  existing: KubeObject | undefined,
  next: readonly Condition[],
): EventSpec[] {
  const prev = findCondition(conditionsOf(existing?.status), 'Degraded');
  const now = findCondition(next, 'Degraded');
  if (!now) return [];
  const wasDegraded = prev?.status === 'True';
  if (now.status === 'True' && (!wasDegraded || prev?.reason !== now.reason || prev?.message !== now.message)) {
    // Degraded=True carries the reason of the first problem (status.ts).
    return eventsFor(target, rendered, deps.operatorNamespace, { type: 'Warning', reason: now.reason as Reason, message: now.message });
  }
  if (now.status !== 'True' && wasDegraded) {
    const msg = `inputs are valid again; output ${describeOutput(target)} is current`;
    return eventsFor(target, rendered, deps.operatorNamespace, { type: 'Normal', reason: 'Recovered', message: msg });
  }
  return [];
}

function describeOutput(target: Target): string {
  return target.kind === 'Cluster' ? 'of the cluster target' : `of NodePool ${target.namespace}/${target.name}`;
}
