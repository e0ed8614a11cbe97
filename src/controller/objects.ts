// Status of our cluster-scoped objects (IDMS, ITMS, RegistryAccess):
// Accepted (the object is valid, and consistent with the other inputs of
// every target it selects) and Applied (every selected target rendered it),
// each from a chain of small checks, plus observedGeneration. Decided from
// the object and the RenderedMirrorConfig statuses of the targets as cached
// (their contributors and problems name our objects), never from the target
// controller's memory: status is the interface between the two controllers.
import { OUR_API_VERSION } from '../model/kinds.js';
import { isEmptySelector, type LabelSelector, selectorMatches } from '../model/selector.js';
import { type KubeObject, originOf, type Target } from '../model/source.js';
import type { Origin, Problem } from '../model/types.js';
import { validateObject } from '../model/validate.js';
import { byteOrder } from '../common/values.js';
import {
  type Check,
  type CheckProblem,
  type Condition,
  type ConditionInput,
  conditionsOf,
  findCondition,
  firstProblem,
  sameJSON,
  setConditions,
} from './conditions.js';
import type { Resource, Writer } from './kube.js';
import { type AcceptedReason, type AppliedReason, VALID } from './reasons.js';
import { describeProblems, problemFromStatus, type StatusProblem, type TargetStatus, targetOfStatus } from './status.js';
import { describeTarget, targetId } from './targets.js';

export interface ObjectStatus {
  observedGeneration?: number;
  conditions: Condition[];
}

/** What one target's RenderedMirrorConfig says about our objects. */
export interface TargetReport {
  /** targetId of the target. */
  target: string;
  /** Ready=True: the published output reflects the current inputs. */
  rendered: boolean;
  /** Our cluster-scoped objects among the contributors of the published output. */
  contributors: readonly Origin[];
  /** Problems of the last pass. */
  problems: readonly Problem[];
}

/** Everything the object's conditions are decided from. */
export interface ObjectState {
  obj: KubeObject;
  /** Problems of the object alone. */
  own: Problem[];
  /** Problems attributed to the object while rendering targets, with the target. */
  inTargets: Array<{ target: string; problem: Problem }>;
  /** targetIds the object's nodePoolSelector selects. */
  selected: string[];
  /** Selected targets whose current output includes the object. */
  rendered: Set<string>;
}

export const ACCEPTED_CHECKS: readonly Check<ObjectState, CheckProblem<AcceptedReason>>[] = [
  (s) => (s.own[0] ? { reason: s.own[0].reason, message: describeProblems(s.own) } : undefined),
  (s) => {
    const problems = uniqueByMessage(s.inTargets.map((p) => p.problem));
    if (!problems[0]) return undefined;
    const where = [...new Set(s.inTargets.map((p) => describeTarget(p.target)))].sort();
    return { reason: problems[0].reason, message: `${describeProblems(problems)} (in ${listSome(where)})` };
  },
];

export const APPLIED_CHECKS: readonly Check<ObjectState, CheckProblem<AppliedReason>>[] = [
  (s) => (s.selected.length === 0 ? { reason: 'NoMatchingTargets', message: 'no target matches its nodePoolSelector' } : undefined),
  (s) => {
    const missing = s.selected.filter((t) => !s.rendered.has(t));
    if (missing.length === 0) return undefined;
    const message = `${missing.length} of ${s.selected.length} selected targets have not rendered it: ${listSome(missing.map(describeTarget))}`;
    return { reason: 'TargetNotRendered', message };
  },
];

/** The targets an object applies to: NodePools matched by its selector, or the cluster target for an empty selector. */
export function selectedTargets(obj: KubeObject, nodePools: readonly KubeObject[] | undefined): string[] {
  const sel = (obj.spec as { nodePoolSelector?: LabelSelector } | undefined)?.nodePoolSelector;
  if (!nodePools) return isEmptySelector(sel) ? [targetId({ kind: 'Cluster' })] : [];
  return nodePools
    .filter((np) => selectorMatches(sel, np.metadata.labels ?? {}))
    .map((np) => targetId({ kind: 'NodePool', namespace: np.metadata.namespace ?? '', name: np.metadata.name }))
    .sort();
}

/** What a RenderedMirrorConfig says about our objects; undefined when it names no target. */
export function reportOf(statusObject: KubeObject): TargetReport | undefined {
  const target: Target | undefined = targetOfStatus(statusObject);
  if (!target) return undefined;
  const status = (statusObject.status ?? {}) as Partial<TargetStatus>;
  const rendered = findCondition(conditionsOf(status), 'Ready')?.status === 'True';
  const contributors = (status.contributors ?? []).filter(isClusterObjectOrigin);
  const problems = (Array.isArray(status.problems) ? status.problems : []).map((p: StatusProblem) => problemFromStatus(p));
  return { target: targetId(target), rendered, contributors, problems };
}

/** Collects the state of one object from the reports of the targets. */
export function objectState(obj: KubeObject, selected: string[], reports: readonly TargetReport[]): ObjectState {
  const inTargets: ObjectState['inTargets'] = [];
  const rendered = new Set<string>();
  for (const r of [...reports].sort((a, b) => byteOrder(a.target, b.target))) {
    for (const p of r.problems) if (p.origin && isAbout(p.origin, obj)) inTargets.push({ target: r.target, problem: p });
    if (r.rendered && r.contributors.some((c) => isAbout(c, obj))) rendered.add(r.target);
  }
  return { obj, own: validateObject(obj, originOf(obj)), inTargets, selected, rendered };
}

/** Our own cluster-scoped objects (not documents embedded in ConfigMaps). */
export function isClusterObjectOrigin(o: Pick<Origin, 'apiVersion' | 'namespace' | 'location'>): boolean {
  return o.apiVersion === OUR_API_VERSION && !o.namespace && !o.location;
}

function isAbout(o: Pick<Origin, 'apiVersion' | 'kind' | 'name' | 'namespace' | 'location'>, obj: KubeObject): boolean {
  return isClusterObjectOrigin(o) && o.kind === obj.kind && o.name === obj.metadata.name;
}

export function buildObjectStatus(state: ObjectState, now: () => Date): ObjectStatus {
  const generation = state.obj.metadata.generation;
  const accepted = firstProblem(state, ACCEPTED_CHECKS);
  const applied = firstProblem(state, APPLIED_CHECKS);
  const n = state.rendered.size;
  const next: ConditionInput[] = [
    accepted ? { type: 'Accepted', status: 'False', ...accepted } : { type: 'Accepted', status: 'True', reason: VALID, message: 'the object is valid' },
    applied
      ? { type: 'Applied', status: 'False', ...applied }
      : { type: 'Applied', status: 'True', reason: 'Applied', message: `rendered into ${n} target${n === 1 ? '' : 's'}` },
  ];
  const status: ObjectStatus = { conditions: setConditions(conditionsOf(state.obj.status), next, generation, now) };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** Writes the status when it changed; true when written. */
export async function writeObjectStatus(writer: Writer, r: Resource, obj: KubeObject, status: ObjectStatus): Promise<boolean> {
  const current = (obj.status ?? {}) as Record<string, unknown>;
  // Keep fields of the status we do not manage.
  const next = { ...current, ...status };
  if (sameJSON(current, next)) return false;
  await writer.replaceStatus(r, { ...obj, status: next });
  return true;
}

function listSome(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function uniqueByMessage(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.reason}|${p.field ?? ''}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
