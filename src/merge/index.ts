// The merge (SPEC §2): one pure function from a target's gathered inputs to
// its mirror model. No I/O, no clock; the output depends only on the SET of
// inputs (any permutation gives a deep-equal model), and the cost is linear
// in the input size apart from sorting (no all-pairs comparisons: nesting is
// looked up by walking each reference's path prefixes, see scope.ts).
import type { HostAccess, MergeInputs, MirrorEntry, MirrorModel, Origin, Pool, Result } from '../model/types.js';
import { orderMirrors } from './order.js';
import { effectivePolicy, policyConflicts } from './policy.js';
import { buildRules, type PoolMirrors } from './rules.js';
import { byteOrder } from './scope.js';

export { orderMirrors } from './order.js';

export function merge(inputs: MergeInputs): Result<MirrorModel> {
  const errors = policyConflicts(inputs.entries);
  if (errors.length > 0) return { ok: false, errors };
  // No sorting needed: every step below depends only on the set of entries.
  const kept = inputs.entries.filter(hasRealMirror);
  const insecureScopes = sortedUnique([...inputs.insecure.map((s) => s.scope), ...insecureAccessHosts(inputs.access)]);
  const rules = buildRules({
    digest: poolMirrors(kept, 'digest'),
    tag: poolMirrors(kept, 'tag'),
    neverContact: new Set(kept.filter((e) => effectivePolicy(e) === 'NeverContactSource').map((e) => e.source)),
    blocked: new Set(inputs.blocked.map((s) => s.scope)),
    insecure: new Set(insecureScopes),
    extraScopes: inputs.defaultMirror?.registries ?? [],
  });
  const model: MirrorModel = {
    rules,
    insecureScopes,
    access: [...inputs.access].sort((a, b) => byteOrder(a.host, b.host)),
    contributors: sortedOrigins(inputs.contributors),
  };
  if (inputs.defaultMirror) model.defaultMirror = inputs.defaultMirror;
  return { ok: true, value: model };
}

/** SPEC §2.2: an entry whose mirrors are empty or only the source itself adds nothing. */
function hasRealMirror(e: MirrorEntry): boolean {
  return e.mirrors.some((m) => m !== e.source);
}

/** SPEC §2.1 and §2.3: per pool, one merged mirror order per source. */
function poolMirrors(entries: readonly MirrorEntry[], pool: Pool): PoolMirrors {
  const lists = new Map<string, (readonly string[])[]>();
  for (const e of entries) {
    if (e.pool !== pool) continue;
    const forSource = lists.get(e.source);
    if (forSource) forSource.push(e.mirrors);
    else lists.set(e.source, [e.mirrors]);
  }
  const merged = new Map<string, readonly string[]>();
  // forEach rather than destructuring entries: no [key, value] pair per source.
  lists.forEach((sourceLists, source) => merged.set(source, orderMirrors(source, sourceLists)));
  return merged;
}

/**
 * A host reached over plain HTTP or without verifying TLS is an insecure
 * scope for containers/image: registries.conf has no other way to say it.
 */
function insecureAccessHosts(access: readonly HostAccess[]): string[] {
  return access.filter((a) => a.plainHTTP === true || a.insecureSkipVerify === true).map((a) => a.host);
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(byteOrder);
}

/** Sorted by kind, namespace, name, location; exact duplicates removed. */
export function sortedOrigins(origins: readonly Origin[]): Origin[] {
  const byKey = new Map<string, Origin>();
  for (const o of origins) byKey.set(originKey(o), o);
  return [...byKey.keys()].sort(byteOrder).map((k) => byKey.get(k)!);
}

function originKey(o: Origin): string {
  return [o.kind, o.namespace ?? '', o.name, o.location ?? '', o.apiVersion, o.uid ?? '', String(o.generation ?? ''), o.resourceVersion ?? ''].join('\u0000');
}
