// Status conditions (metav1.Condition): one setter that keeps
// lastTransitionTime while the status stays the same, and checks that turn
// state into the first problem found (STYLE.md 3).
import type { ConditionType } from './reasons.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** A condition as the controller decides it; time and generation are added by `setCondition`. */
export interface ConditionInput<R extends string = string> {
  type: ConditionType;
  status: ConditionStatus;
  reason: R;
  message: string;
}

/** What a failing check reports. */
export interface CheckProblem<R extends string = string> {
  reason: R;
  message: string;
}

/** One check of a chain: the problem it finds in `state`, or undefined. */
export type Check<S, P extends CheckProblem = CheckProblem> = (state: S) => P | undefined;

/** The first problem of a chain of checks, or undefined when all pass. */
export function firstProblem<S, P extends CheckProblem>(state: S, checks: readonly Check<S, P>[]): P | undefined {
  for (const check of checks) {
    const p = check(state);
    if (p) return p;
  }
  return undefined;
}

/**
 * Returns `conditions` with `next` set. lastTransitionTime changes only when
 * the status does (Kubernetes API conventions); reason, message and
 * observedGeneration follow `next`. The order of other conditions is kept.
 */
export function setCondition(conditions: readonly Condition[], next: ConditionInput, generation: number | undefined, now: () => Date): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : formatTime(now());
  const cond: Condition = { ...next, lastTransitionTime };
  if (generation !== undefined) cond.observedGeneration = generation;
  if (!prev) return [...conditions, cond];
  return conditions.map((c) => (c.type === next.type ? cond : c));
}

/** Sets several conditions in order. */
export function setConditions(conditions: readonly Condition[], next: readonly ConditionInput[], generation: number | undefined, now: () => Date): Condition[] {
  return next.reduce<Condition[]>((acc, c) => setCondition(acc, c, generation, now), [...conditions]);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Conditions as stored (lists from the API may be missing or malformed). */
export function conditionsOf(status: unknown): Condition[] {
  if (!status || typeof status !== 'object') return [];
  const list = (status as { conditions?: unknown }).conditions;
  return Array.isArray(list) ? (list.filter((c) => c && typeof c === 'object' && typeof c.type === 'string') as Condition[]) : [];
}

/** RFC 3339 with second precision, as the API server stores metav1.Time. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * JSON equality that ignores key order and undefined fields: the API
 * server returns objects with its own key order.
 */
export function sameJSON(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // As JSON.stringify would write them (a Date as its string).
  if (hasToJSON(a)) return sameJSON(a.toJSON(), b);
  if (hasToJSON(b)) return sameJSON(a, b.toJSON());
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // In an array, JSON writes undefined as null.
    for (let i = 0; i < a.length; i++) if (!sameJSON(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  // Compared field by field, not as canonical strings: a status is compared on every pass of every target.
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    fields++;
    if (y[k] === undefined || !Object.hasOwn(y, k) || !sameJSON(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) fields--;
  return fields === 0;
}

function hasToJSON(v: unknown): v is { toJSON: () => unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function';
}
