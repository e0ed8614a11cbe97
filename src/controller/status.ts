// The RenderedMirrorConfig of a target: what is published, from which
// objects, what could not be rendered exactly, the problems of the last pass,
// and the conditions Ready and Degraded. One chain of small checks finds the
// first problem (STYLE.md 3); each condition is decided from it by a rule of
// TARGET_CONDITIONS. The status is written only when it differs from the
// stored one. It is also the input of the object status controller
// (objects.ts): contributors and problems name our objects.
import { statusName, TARGET_LABEL, targetLabelValue, targetNamespace } from '../contract.js';
import type { KubeObject, Target } from '../model/source.js';
import { formatProblem, type Origin, type Problem, type RenderWarning } from '../model/types.js';
import type { RenderedTarget } from '../pipeline.js';
import {
  type Check,
  type CheckProblem,
  type Condition,
  type ConditionInput,
  conditionsOf,
  firstProblem,
  formatTime,
  sameJSON,
  setConditions,
} from './conditions.js';
import { apiVersionOf, RESOURCES, type Writer } from './kube.js';
import { type DeliveryInput, nodePoolConditions } from './nodepool-conditions.js';
import type { DeliveryStatus } from './nodepool-delivery.js';
import { ownerReference, type PublishResult } from './outputs.js';
import { aggregateReachability, type NodeReport, type ReachabilityStatus, reachabilityCondition } from './reachability.js';
import { type DegradedReason, NOT_DEGRADED, type NotReadyReason, type ReadyReason } from './reasons.js';
import type { TargetSources } from './reconcile.js';

/**
 * The status lists at most this many warnings (they are sorted, so the same
 * ones every time) and counts all of them in warningCount: a large target
 * has tens of thousands, and a status past the API server's request limit
 * could not be written at all. `image-mirror render` prints every one.
 */
export const MAX_STATUS_WARNINGS = 100;
/** The status lists at most this many problems of the last pass (the first ones, in the order found). */
export const MAX_STATUS_PROBLEMS = 20;

export interface Contributor {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
  uid?: string;
  location?: string;
}

export interface StatusWarning {
  code: string;
  renderer: string;
  source: string;
  mirror?: string;
  message: string;
}

/** A problem of the last pass as the status lists it (no values: they may be secret). */
export interface StatusProblem {
  reason: Problem['reason'];
  message: string;
  field?: string;
  object?: { apiVersion: string; kind: string; name: string; namespace?: string; location?: string };
}

export interface TargetStatus {
  observedGeneration?: number;
  contentHash?: string;
  /** The first 12 hex digits of contentHash (printer column, as the CLI prints it). */
  shortHash?: string;
  outputs?: { configMap: string; secret?: string };
  sources?: number;
  contributors?: Contributor[];
  warnings?: StatusWarning[];
  warningCount?: number;
  /** NodePool targets publishing containerd files (agent files `all`): containerd's warnings, which are not the target's. */
  containerdWarnings?: StatusWarning[];
  containerdWarningCount?: number;
  lastRenderedTime?: string;
  /** NodePool targets: the published `config` key and a change of it that is held (nodepool-delivery.ts). */
  delivery?: DeliveryStatus;
  problems?: StatusProblem[];
  /** What the nodes' mirror probes say, for the current contentHash (reachability.ts). */
  mirrorReachability?: ReachabilityStatus;
  conditions: Condition[];
}

export interface TargetStatusInput {
  target: Target;
  rendered: RenderedTarget;
  published: PublishResult | undefined;
  existing: KubeObject | undefined;
  now: () => Date;
  /** NodePool targets whose NodePool exists: status.delivery and what Delivered is decided from. */
  delivery?: DeliveryInput;
  /** The target's Nodes with their probe summaries; undefined when not known (Nodes not readable). */
  nodes?: readonly NodeReport[] | undefined;
}

/** What makes a target Degraded, and the reason Ready gives for it. */
export interface TargetProblem extends CheckProblem<DegradedReason> {
  ready: NotReadyReason;
}

/** The checks whose first failure makes a target Degraded (and not Ready). */
export const TARGET_CHECKS: readonly Check<RenderedTarget, TargetProblem>[] = [
  // Inputs that could not be read or validated (gather).
  (r) => problemOf(r.gathered.problems, 'InvalidInputs'),
  // A render that threw: a bug, reported as such; the last good output stays.
  (r) => failedWith(r, 'InternalError', 'RenderFailed'),
  // An output that would not fit in a ConfigMap or Secret: nothing is written.
  (r) => failedWith(r, 'OutputTooLarge', 'OutputTooLarge'),
  // An object that is not ours holds an output's name: nothing is written, that object is left alone.
  (r) => failedWith(r, 'OutputNameConflict', 'OutputNameConflict'),
  // An output the API server refuses, or an output Secret of another type: nothing (more) is written.
  (r) => failedWith(r, 'OutputRejected', 'OutputRejected'),
  (r) => failedWith(r, 'OutputTypeConflict', 'OutputRejected'),
  // Inputs that are valid alone but conflict (merge), or referenced objects that cannot be read.
  (r) => (r.outcome.ok ? undefined : problemOf(r.outcome.errors, 'InvalidInputs')),
];

/** Why the output is not current, by the Ready reason, for the Ready message. */
const NOT_READY_WHY: Record<NotReadyReason, string> = {
  InvalidInputs: 'inputs are invalid',
  RenderFailed: 'rendering failed',
  OutputTooLarge: 'the output does not fit in a ConfigMap or Secret',
  OutputNameConflict: "an object the operator does not own holds the output's name",
  OutputRejected: 'the output cannot be stored as it is',
};

/** Everything the conditions of a target are decided from. */
interface TargetState {
  rendered: RenderedTarget;
  published: PublishResult | undefined;
  problem: TargetProblem | undefined;
  /** The status as stored before this pass. */
  previous: Partial<TargetStatus>;
  /** NodePool targets: a change of the `config` key is held (config-gate.ts). */
  configHeld: boolean;
}

/** One rule per condition type, in the order the conditions are listed. */
const TARGET_CONDITIONS: ReadonlyArray<(s: TargetState) => ConditionInput<ReadyReason | DegradedReason>> = [readyCondition, degradedCondition];

function problemOf(problems: readonly Problem[], ready: NotReadyReason): TargetProblem | undefined {
  const first = problems[0];
  return first ? { reason: first.reason, message: describeProblems(problems), ready } : undefined;
}

function failedWith(r: RenderedTarget, reason: DegradedReason, ready: NotReadyReason): TargetProblem | undefined {
  return !r.outcome.ok && r.outcome.errors[0]?.reason === reason ? problemOf(r.outcome.errors, ready) : undefined;
}

function readyCondition(s: TargetState): ConditionInput<ReadyReason> {
  if (!s.problem && s.rendered.outcome.ok && s.published) {
    const { model, output } = s.rendered.outcome;
    const p = s.published;
    const held = s.configHeld ? ', except the key config: a change of it is held (see Delivered)' : '';
    const message = `ConfigMap ${p.configMap}${p.secret ? ` and Secret ${p.secret}` : ''} hold the current inputs${held} (${model.rules.length} registry entries, ${output.warnings.length} warnings)`;
    return { type: 'Ready', status: 'True', reason: 'Rendered', message };
  }
  const reason = s.problem?.ready ?? 'RenderFailed';
  const kept =
    reason === 'OutputNameConflict'
      ? 'nothing is written until the name is free'
      : s.previous.contentHash
        ? `the last good output (${s.previous.contentHash}) is kept`
        : 'nothing has been published';
  return { type: 'Ready', status: 'False', reason, message: `${NOT_READY_WHY[reason]}; ${kept}` };
}

function degradedCondition(s: TargetState): ConditionInput<DegradedReason> {
  if (!s.problem && s.rendered.outcome.ok && s.published) return { type: 'Degraded', status: 'False', reason: NOT_DEGRADED, message: 'inputs are valid' };
  const p = s.problem ?? { reason: 'InternalError', message: 'internal error: no output and no problem' };
  return { type: 'Degraded', status: 'True', reason: p.reason, message: p.message };
}

/** Fields that describe the published output; kept as they are while the inputs are invalid. */
const OUTPUT_FIELDS = [
  'contentHash',
  'shortHash',
  'outputs',
  'sources',
  'contributors',
  'warnings',
  'warningCount',
  'containerdWarnings',
  'containerdWarningCount',
  'lastRenderedTime',
] as const;

export function buildTargetStatus(input: TargetStatusInput): TargetStatus {
  const { rendered, published, existing, now } = input;
  const previous = (existing?.status ?? {}) as Partial<TargetStatus>;
  // The spec is immutable, so the generation stays 1 unless someone edits metadata-level fields.
  const generation = existing?.metadata.generation ?? 1;
  const problem = firstProblem(rendered, TARGET_CHECKS);
  const state: TargetState = { rendered, published, problem, previous, configHeld: input.delivery?.delivery.pendingConfigHash !== undefined };
  const status: TargetStatus = { observedGeneration: generation, ...outputFields(state, now), conditions: [] };
  if (!rendered.outcome.ok) status.problems = rendered.outcome.errors.slice(0, MAX_STATUS_PROBLEMS).map(statusProblem);
  if (input.delivery) status.delivery = input.delivery.delivery;
  const next: ConditionInput[] = TARGET_CONDITIONS.map((rule) => rule(state));
  if (input.nodes) {
    // Results count only for the files nodes install now: the kept hash while inputs are invalid.
    status.mirrorReachability = aggregateReachability(input.nodes, status.contentHash);
    next.push(reachabilityCondition(status.mirrorReachability));
  }
  next.push(...nodePoolConditions(input.delivery ? { rendered, delivery: input.delivery } : { rendered }));
  status.conditions = setConditions(conditionsOf(previous), next, generation, now);
  return status;
}

/** The fields describing the output: the new one when it was published, else those of the last good one. */
function outputFields(s: TargetState, now: () => Date): Partial<TargetStatus> {
  const { outcome } = s.rendered;
  const p = s.published;
  if (s.problem || !outcome.ok || !p) {
    const kept: Partial<TargetStatus> = {};
    for (const f of OUTPUT_FIELDS) if (s.previous[f] !== undefined) Object.assign(kept, { [f]: s.previous[f] });
    return kept;
  }
  const prev = s.previous;
  const containerd = outcome.containerdWarnings ?? [];
  return {
    contentHash: p.hash,
    shortHash: shortHash(p.hash),
    outputs: p.secret ? { configMap: p.configMap, secret: p.secret } : { configMap: p.configMap },
    sources: outcome.model.rules.length,
    contributors: outcome.model.contributors.map(contributorOf),
    warnings: statusWarnings(outcome.output.warnings),
    warningCount: outcome.output.warnings.length,
    ...(containerd.length > 0 ? { containerdWarnings: statusWarnings(containerd), containerdWarningCount: containerd.length } : {}),
    lastRenderedTime: prev.contentHash === p.hash && prev.lastRenderedTime ? prev.lastRenderedTime : formatTime(now()),
  };
}

/** `sha256:<hex>` -> its first 12 hex digits, as `image-mirror render` and `explain` print a hash. */
export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

function contributorOf(o: Origin): Contributor {
  const c: Contributor = { apiVersion: o.apiVersion, kind: o.kind, name: o.name };
  if (o.namespace) c.namespace = o.namespace;
  if (o.generation !== undefined) c.generation = o.generation;
  if (o.uid) c.uid = o.uid;
  if (o.location) c.location = o.location;
  return c;
}

/** Status lists by the render's list: targets that share a render (RenderMemo) share one list in the statuses they wait to write. */
const listed = new WeakMap<readonly RenderWarning[], StatusWarning[]>();

/** The first MAX_STATUS_WARNINGS of `warnings`, as a status lists them. Shared: never change it. */
function statusWarnings(warnings: readonly RenderWarning[]): StatusWarning[] {
  let list = listed.get(warnings);
  if (!list) {
    list = warnings.slice(0, MAX_STATUS_WARNINGS).map(warningOf);
    listed.set(warnings, list);
  }
  return list;
}

function warningOf(w: RenderWarning): StatusWarning {
  const s: StatusWarning = { code: w.code, renderer: w.renderer, source: w.source, message: w.message };
  if (w.mirror) s.mirror = w.mirror;
  return s;
}

function statusProblem(p: Problem): StatusProblem {
  const s: StatusProblem = { reason: p.reason, message: p.message };
  if (p.field) s.field = p.field;
  const o = p.origin;
  if (o) {
    s.object = { apiVersion: o.apiVersion, kind: o.kind, name: o.name };
    if (o.namespace) s.object.namespace = o.namespace;
    if (o.location) s.object.location = o.location;
  }
  return s;
}

/** The problem a status lists, as a Problem again (for messages about the object it names). */
export function problemFromStatus(s: StatusProblem): Problem {
  const p: Problem = { reason: s.reason, message: s.message };
  if (s.field) p.field = s.field;
  if (s.object) p.origin = { ...s.object };
  return p;
}

/** True when the stored status already is `status`: nothing to write. */
export function statusUnchanged(existing: KubeObject | undefined, status: TargetStatus): boolean {
  return existing !== undefined && sameJSON(existing.status ?? {}, status);
}

/** Creates the RenderedMirrorConfig when missing; writes its status when it changed. True when something was written. */
export async function writeTargetStatus(
  deps: { writer: Writer; operatorNamespace: string; sources: Pick<TargetSources, 'recordWrite'> },
  target: Target,
  existing: KubeObject | undefined,
  status: TargetStatus,
  owner: KubeObject | undefined,
): Promise<boolean> {
  if (statusUnchanged(existing, status)) return false;
  const [ns, name] = [targetNamespace(target, deps.operatorNamespace), statusName(target)];
  let obj = existing;
  if (!obj) {
    obj = await deps.writer.createCustom(RESOURCES.RenderedMirrorConfig, newStatusObject(target, deps.operatorNamespace, owner));
    deps.sources.recordWrite('RenderedMirrorConfig', ns, name, undefined, obj);
  }
  const stored = await deps.writer.replaceStatus(RESOURCES.RenderedMirrorConfig, { ...obj, status });
  deps.sources.recordWrite('RenderedMirrorConfig', ns, name, obj, stored);
  return true;
}

function newStatusObject(target: Target, operatorNamespace: string, owner: KubeObject | undefined): KubeObject {
  const metadata: KubeObject['metadata'] & { ownerReferences?: unknown[] } = {
    name: statusName(target),
    namespace: targetNamespace(target, operatorNamespace),
    labels: { [TARGET_LABEL]: targetLabelValue(target) },
  };
  if (owner) metadata.ownerReferences = [ownerReference(owner)];
  const spec = target.kind === 'Cluster' ? { target: { kind: 'Cluster' } } : { target: { kind: 'NodePool', namespace: target.namespace, name: target.name } };
  return { apiVersion: apiVersionOf(RESOURCES.RenderedMirrorConfig), kind: RESOURCES.RenderedMirrorConfig.kind, metadata, spec };
}

/** The target a RenderedMirrorConfig is for, from its spec. */
export function targetOfStatus(obj: KubeObject): Target | undefined {
  const t = (obj.spec as { target?: { kind?: string; namespace?: string; name?: string } } | undefined)?.target;
  if (t?.kind === 'Cluster') return { kind: 'Cluster' };
  if (t?.kind === 'NodePool' && t.namespace && t.name) return { kind: 'NodePool', namespace: t.namespace, name: t.name };
  return undefined;
}

/** Up to `max` problems, one line each, for condition messages and events. */
export function describeProblems(problems: readonly Problem[], max = 5): string {
  const lines = problems.slice(0, max).map(formatProblem);
  if (problems.length > max) lines.push(`and ${problems.length - max} more`);
  return lines.join('; ');
}
