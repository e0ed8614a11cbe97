// The merge (SPEC §2): one pure function from a target's gathered inputs to
// its mirror model. No I/O, no clock; the output depends only on the SET of
// inputs (any permutation gives a deep-equal model), and the cost is linear
// in the input size apart from sorting (no all-pairs comparisons: nesting is
// looked up by walking each reference's path prefixes, see scope.ts).
import type { HostAccess, MergeInputs, MirrorEntry, MirrorModel, Origin, Result } from '../model/types.js';
import { chainOrder, orderMirrors } from './order.js';
import { policyBit, policyConflicts } from './policy.js';
import { buildRules, type SourceMirrors, type Sources } from './rules.js';
import { byteOrder, isWildcard } from './scope.js';

export { orderMirrors } from './order.js';

export function merge(inputs: MergeInputs): Result<MirrorModel> {
  const sources = sourceMirrors(inputs.entries);
  if (sources === undefined) return { ok: false, errors: policyConflicts(inputs.entries) };
  // No sorting needed: every step below depends only on the set of entries.
  const insecureScopes = sortedUnique([...inputs.insecure.map((s) => s.scope), ...insecureAccessHosts(inputs.access)]);
  const rules = buildRules({
    sources,
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
  const mirrors = e.mirrors;
  for (let i = 0; i < mirrors.length; i++) if (mirrors[i] !== e.source) return true;
  return false;
}

/** A source's lists while they are collected: the first list of each pool, and any further ones. */
interface Collected extends SourceMirrors {
  moreDigest: (readonly string[])[] | undefined;
  moreTag: (readonly string[])[] | undefined;
  /** The policies of its entries (policy.ts policyBit). */
  policies: number;
}

/**
 * SPEC §2.1 to §2.4 in one pass over the entries: per source and pool, the
 * lists of entries with a real mirror, merged into one mirror order, and
 * whether a kept entry of the source is NeverContactSource. Undefined when a
 * source has conflicting policies (policyConflicts then says where).
 */
function sourceMirrors(entries: readonly MirrorEntry[]): Sources | undefined {
  const bySource = new Map<string, Collected>();
  // Policies of sources that have only entries without a real mirror (rare): they count for conflicts too.
  const dropped = new Map<string, number>();
  let conflict = false;
  let digestWildcards = false;
  let tagWildcards = false;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let c = bySource.get(e.source);
    if (!hasRealMirror(e)) {
      const policies = (dropped.get(e.source) ?? 0) | policyBit(e);
      dropped.set(e.source, policies);
      if ((policies | (c?.policies ?? 0)) === 3) conflict = true;
      continue;
    }
    if (c === undefined) {
      c = { digest: undefined, tag: undefined, neverContact: false, moreDigest: undefined, moreTag: undefined, policies: dropped.get(e.source) ?? 0 };
      bySource.set(e.source, c);
    }
    c.policies |= policyBit(e);
    if (c.policies === 3) conflict = true;
    if (e.policy === 'NeverContactSource') c.neverContact = true;
    if (e.pool === 'digest') {
      if (c.digest === undefined) c.digest = e.mirrors;
      else if (c.moreDigest === undefined) c.moreDigest = [e.mirrors];
      else c.moreDigest.push(e.mirrors);
      digestWildcards ||= isWildcard(e.source);
    } else {
      if (c.tag === undefined) c.tag = e.mirrors;
      else if (c.moreTag === undefined) c.moreTag = [e.mirrors];
      else c.moreTag.push(e.mirrors);
      tagWildcards ||= isWildcard(e.source);
    }
  }
  if (conflict) return undefined;
  // forEach rather than destructuring entries: no [key, value] pair per source.
  bySource.forEach((c, source) => {
    if (c.digest !== undefined) c.digest = c.moreDigest ? orderMirrors(source, [c.digest, ...c.moreDigest]) : chainOrder(source, c.digest);
    if (c.tag !== undefined) c.tag = c.moreTag ? orderMirrors(source, [c.tag, ...c.moreTag]) : chainOrder(source, c.tag);
  });
  return { bySource, digestWildcards, tagWildcards };
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
