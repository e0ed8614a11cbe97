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
import { hostName, isInside, isWildcard, remainder } from './scope.js';

/** What the merge keeps of one source: its merged mirror list per pool (undefined: not a source of that pool). */
export interface SourceMirrors {
  digest: readonly string[] | undefined;
  tag: readonly string[] | undefined;
  /** NeverContactSource on a kept entry of this source (rule 4). */
  neverContact: boolean;
}

/** Every source of a kept entry, and whether any of them is a `*.` wildcard, per pool. */
export interface Sources {
  bySource: ReadonlyMap<string, SourceMirrors>;
  digestWildcards: boolean;
  tagWildcards: boolean;
}

export interface RuleInputs {
  sources: Sources;
  blocked: ReadonlySet<string>;
  insecure: ReadonlySet<string>;
  /** Further scopes that need a rule of their own (default-mirror registries). */
  extraScopes: readonly string[];
}

export function buildRules(inputs: RuleInputs): RegistryRule[] {
  const bySource = inputs.sources.bySource;
  const scopes = [...bySource.keys()];
  const more = new Set<string>();
  for (const list of [inputs.blocked, inputs.insecure, inputs.extraScopes]) {
    for (const scope of list) {
      if (!bySource.has(scope) && !more.has(scope)) {
        more.add(scope);
        scopes.push(scope);
      }
    }
  }
  // The default sort compares UTF-16 code units, the same order as byteOrder,
  // without a call per comparison (10,000 sources: the largest sort of the merge).
  scopes.sort();
  const rules = new Array<RegistryRule>(scopes.length);
  for (let i = 0; i < scopes.length; i++) rules[i] = buildRule(scopes[i]!, inputs);
  return rules;
}

function buildRule(source: string, inputs: RuleInputs): RegistryRule {
  const { bySource, digestWildcards, tagWildcards } = inputs.sources;
  const own = bySource.get(source);
  // The common case: a source is its own most specific source in its pool.
  const digestFrom = own?.digest !== undefined ? source : enclosingSource(bySource, source, true, digestWildcards);
  const tagFrom = own?.tag !== undefined ? source : enclosingSource(bySource, source, false, tagWildcards);
  const digestSource = digestFrom === source ? own : digestFrom === undefined ? undefined : bySource.get(digestFrom);
  const tagSource = tagFrom === source ? own : tagFrom === undefined ? undefined : bySource.get(tagFrom);
  return {
    source,
    digestMirrors: inherit(digestSource?.digest, digestFrom, source),
    tagMirrors: inherit(tagSource?.tag, tagFrom, source),
    neverContactSource: digestSource?.neverContact === true || tagSource?.neverContact === true,
    blocked: isInside(inputs.blocked, source),
    insecure: isInside(inputs.insecure, source),
  };
}

/**
 * The most specific source of one pool that strictly encloses `ref`
 * (scope.ts `mostSpecific` without `ref` itself, which the caller checked):
 * its path prefixes, longest first, then, only when the pool has wildcard
 * sources, the `*.` wildcards of its parent domains.
 */
function enclosingSource(bySource: ReadonlyMap<string, SourceMirrors>, ref: string, digest: boolean, wildcards: boolean): string | undefined {
  const wildcard = isWildcard(ref);
  if (!wildcard) {
    for (let end = ref.lastIndexOf('/'); end > 0; end = ref.lastIndexOf('/', end - 1)) {
      const candidate = ref.slice(0, end);
      if (inPool(bySource.get(candidate), digest)) return candidate;
    }
  }
  if (!wildcards) return undefined;
  const domain = wildcard ? ref.slice(2) : hostName(ref);
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
    const candidate = `*${domain.slice(dot)}`;
    if (inPool(bySource.get(candidate), digest)) return candidate;
  }
  return undefined;
}

function inPool(s: SourceMirrors | undefined, digest: boolean): boolean {
  return s !== undefined && (digest ? s.digest : s.tag) !== undefined;
}

/** Rules that inherit nothing from a pool share this (read-only) empty list. */
const NONE: readonly string[] = Object.freeze([]);

/** The mirrors of `from` (the most specific enclosing source of one pool), re-rooted at `source`. */
function inherit(mirrors: readonly string[] | undefined, from: string | undefined, source: string): readonly string[] {
  if (mirrors === undefined || from === undefined) return NONE;
  const rest = remainder(source, from);
  // A source's own list is used as it is (read-only): no copy per rule.
  return rest === '' ? mirrors : mirrors.map((m) => m + rest);
}
