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
import { byteOrder, isInside, mostSpecific, remainder } from './scope.js';

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
  const scopes = new Set<string>([
    ...inputs.digest.keys(),
    ...inputs.tag.keys(),
    ...inputs.blocked,
    ...inputs.insecure,
    ...inputs.extraScopes,
  ]);
  return [...scopes].sort(byteOrder).map((source) => buildRule(source, inputs));
}

function buildRule(source: string, inputs: RuleInputs): RegistryRule {
  const digest = inherit(inputs.digest, source);
  const tag = inherit(inputs.tag, source);
  const neverContact = [digest.from, tag.from].some((s) => s !== undefined && inputs.neverContact.has(s));
  return {
    source,
    digestMirrors: digest.mirrors,
    tagMirrors: tag.mirrors,
    neverContactSource: neverContact,
    blocked: isInside(inputs.blocked, source),
    insecure: isInside(inputs.insecure, source),
  };
}

/** Mirrors of the most specific enclosing source of one pool, re-rooted at `source`. */
function inherit(pool: PoolMirrors, source: string): { mirrors: readonly string[]; from?: string } {
  const hit = mostSpecific(pool, source);
  if (!hit) return { mirrors: [] };
  const [from, mirrors] = hit;
  const rest = remainder(source, from);
  // A source's own list is used as it is (read-only): no copy per rule.
  return { mirrors: rest === '' ? mirrors : mirrors.map((m) => m + rest), from };
}
