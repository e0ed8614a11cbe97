// SPEC §1: the same source must have one effective mirrorSourcePolicy across
// all IDMS/ITMS/ICSP entries of a target (unset counts as Allow).
//
// Checked over ALL entries, before entries without a real mirror are dropped
// (§2.2): like upstream, a conflicting entry is an error even when it would
// contribute no mirror, because the user wrote two contradicting policies and
// silently picking one would hide that.
import { describeOrigin, type MirrorEntry, type MirrorSourcePolicy, type Problem } from '../model/types.js';
import { byteOrder } from './scope.js';

const ALLOW: MirrorSourcePolicy = 'AllowContactingSource';
const NEVER: MirrorSourcePolicy = 'NeverContactSource';

export function effectivePolicy(e: MirrorEntry): MirrorSourcePolicy {
  return e.policy ?? ALLOW;
}

/** A stable order of entries that does not depend on input order. */
export function entryOrder(a: MirrorEntry, b: MirrorEntry): number {
  return byteOrder(entryKey(a), entryKey(b));
}

function entryKey(e: MirrorEntry): string {
  const o = e.origin;
  return [e.source, o.kind, o.namespace ?? '', o.name, o.location ?? '', e.field, e.pool].join('\u0000');
}

/** One PolicyConflict problem per source whose entries disagree, sorted by source. */
export function policyConflicts(entries: readonly MirrorEntry[]): Problem[] {
  // Which policies each source has (cheap); the entries of a source are collected only when it has both (rare).
  const seen = new Map<string, number>();
  let anyConflict = false;
  for (const e of entries) {
    const before = seen.get(e.source);
    const bits = (before ?? 0) | policyBit(e);
    if (bits === before) continue;
    seen.set(e.source, bits);
    if (bits === 3) anyConflict = true;
  }
  if (!anyConflict) return [];
  const conflicting = new Map<string, MirrorEntry[]>();
  seen.forEach((bits, source) => bits === 3 && conflicting.set(source, []));
  for (const e of entries) conflicting.get(e.source)?.push(e);
  return [...conflicting.keys()].sort(byteOrder).map((source) => {
    const sorted = conflicting.get(source)!.sort(entryOrder);
    const never = sorted.filter((e) => effectivePolicy(e) === NEVER);
    const allow = sorted.filter((e) => effectivePolicy(e) === ALLOW);
    return conflict(source, never, allow);
  });
}

/** mirrorSourcePolicy as a bit: a source whose entries have both bits (3) is a PolicyConflict. */
export function policyBit(e: MirrorEntry): number {
  return effectivePolicy(e) === NEVER ? 1 : 2;
}

function conflict(source: string, never: MirrorEntry[], allow: MirrorEntry[]): Problem {
  const [n, a] = [never[0]!, allow[0]!];
  const others = never.length + allow.length - 2;
  const allowWords = a.policy === undefined ? `${ALLOW} (unset)` : ALLOW;
  const more = others > 0 ? ` (and ${others} more ${others === 1 ? 'entry' : 'entries'} for this source)` : '';
  return {
    reason: 'PolicyConflict',
    origin: n.origin,
    field: `${n.field}.mirrorSourcePolicy`,
    value: NEVER,
    message:
      `source ${JSON.stringify(source)} is ${NEVER} here but ${allowWords} in ` +
      `${describeOrigin(a.origin)} ${a.field}${more}; a source must have the same mirrorSourcePolicy ` +
      'in every ImageDigestMirrorSet, ImageTagMirrorSet and ImageContentSourcePolicy of a target',
  };
}
