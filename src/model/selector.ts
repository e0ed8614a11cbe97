// metav1.LabelSelector matching for `spec.nodePoolSelector` (shared contract:
// an empty selector selects every target).
import { isRecord } from '../common/values.js';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}

/** No matchLabels and no matchExpressions: selects everything. */
export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  if (!sel) return true;
  return Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
}

/**
 * Kubernetes semantics: every matchLabels pair and every expression must
 * hold. `In` needs the label with one of the values; `NotIn` holds when the
 * label is absent or has none of them; `Exists`/`DoesNotExist` test the key.
 * An unknown operator never matches.
 */
export function selectorMatches(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!sel) return true;
  const has = (k: string): boolean => Object.hasOwn(labels, k);
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!has(k) || labels[k] !== v) return false;
  }
  return (sel.matchExpressions ?? []).every((e) => {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has(e.key) && values.includes(labels[e.key] as string);
      case 'NotIn':
        return !has(e.key) || !values.includes(labels[e.key] as string);
      case 'Exists':
        return has(e.key);
      case 'DoesNotExist':
        return !has(e.key);
      default:
        return false;
    }
  });
}

/**
 * True when `sel` has the LabelSelector shape (absent counts). gather treats
 * a malformed selector as selecting every target, so that the object's
 * validation problem is reported rather than the object silently skipped.
 */
export function isWellFormedSelector(sel: unknown): sel is LabelSelector | undefined {
  if (sel === undefined) return true;
  if (!isRecord(sel)) return false;
  const labels = sel.matchLabels ?? {};
  if (!isRecord(labels) || !Object.values(labels).every((v) => typeof v === 'string')) return false;
  const exprs = sel.matchExpressions ?? [];
  return (
    Array.isArray(exprs) &&
    exprs.every(
      (e) =>
        isRecord(e) &&
        typeof e.key === 'string' &&
        typeof e.operator === 'string' &&
        (e.values === undefined || (Array.isArray(e.values) && e.values.every((v) => typeof v === 'string'))),
    )
  );
}
