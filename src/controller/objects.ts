// Status of our cluster-scoped objects (IDMS, ITMS, RegistryAccess):
// Accepted (the object is valid, and consistent with the other inputs of
// every target it selects) and Applied (every selected target rendered it),
// each from a chain of small checks, plus observedGeneration.
import { OUR_API_VERSION } from '../model/kinds.js';
import { isEmptySelector, selectorMatches, type LabelSelector } from '../model/selector.js';
import { originOf, type KubeObject } from '../model/source.js';
import type { Problem } from '../model/types.js';
import { validateObject } from '../model/validate.js';
import { conditionsOf, firstProblem, sameJSON, setConditions, type Check, type Condition } from './conditions.js';
import type { Resource, Writer } from './kube.js';
import { clusterObjectKey, describeProblems, type TargetSummary } from './reconcile.js';

export const ACCEPTED = 'Accepted';
export const APPLIED = 'Applied';

export const AcceptedReason = { Valid: 'Valid' } as const;
export const AppliedReason = {
  Applied: 'Applied',
  NoMatchingTargets: 'NoMatchingTargets',
  TargetNotRendered: 'TargetNotRendered',
} as const;

export interface ObjectStatus {
  observedGeneration?: number;
  conditions: Condition[];
}

/** Everything the object's conditions are decided from. */
export interface ObjectState {
  obj: KubeObject;
  /** Problems of the object alone. */
  own: Problem[];
  /** Problems attributed to the object while rendering targets, with the target. */
  inTargets: Array<{ target: string; problem: Problem }>;
  /** Target keys the object's nodePoolSelector selects. */
  selected: string[];
  /** Selected targets whose current output includes the object. */
  rendered: Set<string>;
}

export const ACCEPTED_CHECKS: readonly Check<ObjectState>[] = [
  (s) => (s.own[0] ? { reason: s.own[0].reason, message: describeProblems(s.own) } : undefined),
  (s) => {
    const problems = uniqueByMessage(s.inTargets.map((p) => p.problem));
    if (!problems[0]) return undefined;
    const where = [...new Set(s.inTargets.map((p) => describeTarget(p.target)))].sort();
    return { reason: problems[0].reason, message: `${describeProblems(problems)} (in ${listSome(where)})` };
  },
];

export const APPLIED_CHECKS: readonly Check<ObjectState>[] = [
  (s) => (s.selected.length === 0 ? { reason: AppliedReason.NoMatchingTargets, message: 'no target matches its nodePoolSelector' } : undefined),
  (s) => {
    const missing = s.selected.filter((t) => !s.rendered.has(t));
    if (missing.length === 0) return undefined;
    const message = `${missing.length} of ${s.selected.length} selected targets have not rendered it: ${listSome(missing.map(describeTarget))}`;
    return { reason: AppliedReason.TargetNotRendered, message };
  },
];

/** The targets an object applies to: NodePools matched by its selector, or the cluster target for an empty selector. */
export function selectedTargets(obj: KubeObject, nodePools: readonly KubeObject[] | undefined): string[] {
  const sel = (obj.spec as { nodePoolSelector?: LabelSelector } | undefined)?.nodePoolSelector;
  if (!nodePools) return isEmptySelector(sel) ? ['cluster'] : [];
  return nodePools
    .filter((np) => selectorMatches(sel, np.metadata.labels ?? {}))
    .map((np) => `np:${np.metadata.namespace ?? ''}/${np.metadata.name}`)
    .sort();
}

/** Collects the state of one object from the per-target summaries. */
export function objectState(obj: KubeObject, selected: string[], summaries: ReadonlyMap<string, TargetSummary>): ObjectState {
  const key = clusterObjectKey({ kind: obj.kind, name: obj.metadata.name });
  const inTargets: ObjectState['inTargets'] = [];
  const rendered = new Set<string>();
  for (const [target, s] of [...summaries].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const p of s.problems) if (isAbout(p, obj)) inTargets.push({ target, problem: p });
    if (s.ok && s.contributors.includes(key)) rendered.add(target);
  }
  return { obj, own: validateObject(obj, originOf(obj)), inTargets, selected, rendered };
}

function isAbout(p: Problem, obj: KubeObject): boolean {
  const o = p.origin;
  return !!o && o.apiVersion === OUR_API_VERSION && o.kind === obj.kind && o.name === obj.metadata.name && !o.namespace && !o.location;
}

export function buildObjectStatus(state: ObjectState, now: () => Date): ObjectStatus {
  const generation = state.obj.metadata.generation;
  const accepted = firstProblem(state, ACCEPTED_CHECKS);
  const applied = firstProblem(state, APPLIED_CHECKS);
  const n = state.rendered.size;
  const conditions = setConditions(
    conditionsOf(state.obj.status),
    [
      accepted
        ? { type: ACCEPTED, status: 'False', ...accepted }
        : { type: ACCEPTED, status: 'True', reason: AcceptedReason.Valid, message: 'the object is valid' },
      applied
        ? { type: APPLIED, status: 'False', ...applied }
        : { type: APPLIED, status: 'True', reason: AppliedReason.Applied, message: `rendered into ${n} target${n === 1 ? '' : 's'}` },
    ],
    generation,
    now,
  );
  const status: ObjectStatus = { conditions };
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

export function describeTarget(key: string): string {
  return key === 'cluster' ? 'the cluster target' : `NodePool ${key.replace(/^np:/, '')}`;
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
