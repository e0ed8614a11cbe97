// SPEC §2.4-2.6: from merged mirror lists per pool to one RegistryRule per
// source or scope.
//
// Every rule takes, for EACH pool separately, the mirrors of the most
// specific source of that pool that encloses it, with the remaining path
// appended (rule 5; better than upstream, a specific digest source does not
// hide a broader tag source). Scopes (insecure, blocked, default-mirror
// registries) are rules too, so a scope nested under a mirrored source keeps
// that source's mirrors instead of shadowing them in containers/image's
// longest-prefix lookup (rule 6).
//
// NeverContactSource: a rule is blocked from contacting its source when the
// source it takes mirrors from, in either pool, is NeverContactSource.
// registries.conf cannot block per pull type, so when the two pools disagree
// (say an IDMS `quay.io` Never and an ITMS `quay.io/ns` Allow), `quay.io/ns`
// is not contacted at all: the explicit "never" wins over the implicit
// "allow" (fail closed).
import type { RegistryRule } from '../model/types.js';
import { isInside, mostSpecific, remainder } from './scope.js';

/** Merged mirror lists of one pool, by source. */
export type PoolMirrors = ReadonlyMap<string, readonly string[]>;

export interface RuleInputs {
  digest: PoolMirrors;
  tag: PoolMirrors;
  /** Sources with NeverContactSource on a kept entry (rule 4). */
  neverContact: ReadonlySet<string>;
  blocked: ReadonlySet<string>;
  insecure: ReadonlySet<string>;
  /** Further scopes that need a rule of their own (default-mirror registries). */
  extraScopes: readonly string[];
}

export function buildRules(inputs: RuleInputs): RegistryRule[] {
  const scopes = new Set<string>(inputs.digest.keys());
  for (const more of [inputs.tag.keys(), inputs.blocked, inputs.insecure, inputs.extraScopes]) {
    for (const scope of more) scopes.add(scope);
  }
  // The default sort compares UTF-16 code units, the same order as byteOrder,
  // without a call per comparison (10,000 sources: the largest sort of the merge).
  return [...scopes].sort().map((source) => buildRule(source, inputs));
}

function buildRule(source: string, inputs: RuleInputs): RegistryRule {
  const digestFrom = mostSpecific(inputs.digest, source);
  const tagFrom = mostSpecific(inputs.tag, source);
  return {
    source,
    digestMirrors: inherit(inputs.digest, digestFrom, source),
    tagMirrors: inherit(inputs.tag, tagFrom, source),
    neverContactSource: isNever(inputs, digestFrom) || isNever(inputs, tagFrom),
    blocked: isInside(inputs.blocked, source),
    insecure: isInside(inputs.insecure, source),
  };
}

function isNever(inputs: RuleInputs, from: string | undefined): boolean {
  return from !== undefined && inputs.neverContact.has(from);
}

/** Rules that inherit nothing from a pool share this (read-only) empty list. */
const NONE: readonly string[] = Object.freeze([]);

/** The mirrors of `from` (the most specific enclosing source of one pool), re-rooted at `source`. */
function inherit(pool: PoolMirrors, from: string | undefined, source: string): readonly string[] {
  if (from === undefined) return NONE;
  const mirrors = pool.get(from)!;
  const rest = remainder(source, from);
  // A source's own list is used as it is (read-only): no copy per rule.
  return rest === '' ? mirrors : mirrors.map((m) => m + rest);
}
