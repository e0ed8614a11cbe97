// One order for warnings everywhere (render(), the MachineConfig, status):
// sorted and de-duplicated, so a status condition built from them is stable.
//
// The order is that of a stable sort by `compareWarnings`, then every warning
// equal to the one before it dropped. A large rendering has tens of thousands
// of warnings (containerd widenings, one per repository-scoped source and
// mirror), so the renderers hand them over nearly in order (RuleWarnings)
// and sortedWarnings checks that in one pass before it sorts anything.
import { byteOrder } from '../merge/scope.js';
import type { RenderWarning } from '../model/types.js';

export function sortedWarnings(warnings: readonly RenderWarning[]): RenderWarning[] {
  const inOrder = withoutDuplicatesIfSorted(warnings);
  if (inOrder) return inOrder;
  const sorted = [...warnings].sort(compareWarnings);
  return sorted.filter((w, i) => i === 0 || compareWarnings(sorted[i - 1]!, w) !== 0);
}

function compareWarnings(a: RenderWarning, b: RenderWarning): number {
  return byteOrder(a.renderer, b.renderer) || byteOrder(a.source, b.source) || compareRest(a, b);
}

/** compareWarnings for warnings of the same renderer and source. */
function compareRest(a: RenderWarning, b: RenderWarning): number {
  return byteOrder(a.mirror ?? '', b.mirror ?? '') || byteOrder(a.code, b.code) || byteOrder(a.message, b.message);
}

/** `warnings` without each warning equal to the one before it, when they are already sorted; undefined otherwise. */
function withoutDuplicatesIfSorted(warnings: readonly RenderWarning[]): RenderWarning[] | undefined {
  const out: RenderWarning[] = [];
  for (let i = 0; i < warnings.length; i++) {
    const w = warnings[i]!;
    if (i > 0) {
      const order = compareWarnings(warnings[i - 1]!, w);
      if (order > 0) return undefined;
      if (order === 0) continue;
    }
    out.push(w);
  }
  return out;
}

/**
 * sortedWarnings([...first, ...rest]) for a `first` that is sorted without
 * duplicates: when everything in `rest` comes after it, only `rest` is sorted.
 */
export function sortedAfter(first: RenderWarning[], rest: readonly RenderWarning[]): RenderWarning[] {
  const tail = sortedWarnings(rest);
  if (first.length === 0) return tail;
  if (tail.length === 0) return first;
  // tail[0] is the least of `rest`: if it follows the last of `first`, so does all of `rest`.
  if (compareWarnings(first[first.length - 1]!, tail[0]!) < 0) return first.concat(tail);
  return sortedWarnings([...first, ...rest]);
}

/** The most warnings RuleWarnings makes room for up front. */
const PREALLOCATED = 65_536;

/**
 * The warnings of one renderer, collected with the index of the rule each
 * one names in `rules` (sorted by source, as a model's rules are), or -1
 * where the renderer does not know it; `sorted()` gives them as a stable sort
 * by `compareWarnings` orders them (duplicates kept), in linear time for the
 * usual few warnings per rule: a counting sort on the indices, and only the
 * warnings of a rule that did not come one after another, in order, sorted
 * among themselves (checked as they are added, while they are in the cache).
 *
 * The result is exactly what a stable sort gives: an index is used only where
 * it names the warning's own source, a warning without one finds its group by
 * binary search, and within each group the order was seen or made (stably).
 * That needs the rules in strict order and warnings of one renderer; without
 * them the warnings come back in the order they were added. `strict` says
 * that they came back sorted without duplicates: sortedAfter may then take
 * them as they are; otherwise sortedWarnings checks (and if need be sorts)
 * them again, so rules out of order cost time, never correctness.
 */
export class RuleWarnings {
  /**
   * The warnings and their rule indices, in arrays made for the expected
   * number up front: filling them in place, rather than growing them by
   * push, is several times faster for tens of thousands of young objects.
   */
  private readonly list: RenderWarning[];
  private ranks: Int32Array;
  private count = 0;
  /** Per rule: its warnings may be out of order. */
  private readonly unordered: Uint8Array;
  private readonly seen: Uint8Array;
  /** The last warning added with a rule index, and that index. */
  private last: RenderWarning | undefined;
  private lastRank = -1;
  private oneRenderer = true;
  private renderer: string | undefined;

  /** The rules are in strict byte order of source. */
  readonly rulesInOrder: boolean;

  /** `expected`: about how many warnings will be added (more are fine); `rulesInOrder` when the caller has checked. */
  constructor(
    private readonly rules: readonly { source: string }[],
    expected = 16,
    rulesInOrder?: boolean,
  ) {
    // Made up to a size V8 still keeps as a plain array (larger holey ones become dictionaries); pushed beyond.
    this.list = new Array<RenderWarning>(Math.min(expected, PREALLOCATED));
    this.ranks = new Int32Array(expected);
    this.unordered = new Uint8Array(rules.length);
    this.seen = new Uint8Array(rules.length);
    this.rulesInOrder = rulesInOrder ?? strictlyOrdered(rules);
  }

  add(w: RenderWarning, given: number): void {
    // An index is used only where it names the warning's own source (checked once for a run of warnings of one rule).
    let rank = -1;
    if (given >= 0 && given === this.lastRank && w.source === this.last!.source) rank = given;
    else if (given >= 0 && given < this.rules.length && this.rules[given]!.source === w.source) rank = given;
    this.renderer ??= w.renderer;
    if (w.renderer !== this.renderer) this.oneRenderer = false;
    if (this.count === this.ranks.length) {
      const bigger = new Int32Array(2 * this.count + 16);
      bigger.set(this.ranks);
      this.ranks = bigger;
    }
    this.ranks[this.count] = rank;
    if (this.count < this.list.length) this.list[this.count] = w;
    else this.list.push(w);
    this.count++;
    if (rank < 0) return;
    if (rank === this.lastRank) {
      // Same source (both name rules[rank]); the renderer matters only when all have the same one.
      if (compareRest(this.last!, w) >= 0) this.unordered[rank] = 1;
    } else {
      if (this.seen[rank]) this.unordered[rank] = 1;
      this.seen[rank] = 1;
      this.lastRank = rank;
    }
    this.last = w;
  }

  /** The warnings in the order they were added (once all are added). */
  added(): RenderWarning[] {
    this.list.length = this.count;
    return this.list;
  }

  sorted(): { warnings: RenderWarning[]; strict: boolean } {
    const { ranks, rules } = this;
    const warnings = this.added();
    // Groups by source are in order only for rules in order and warnings of one renderer; otherwise the order they came in.
    if (!this.oneRenderer || !this.rulesInOrder) return { warnings: [...warnings], strict: false };
    const n = warnings.length;
    // Group 2i+1 holds the warnings about rules[i].source; group 2i those about a source between rules[i-1] and rules[i].
    const groups = 2 * rules.length + 1;
    const group = new Int32Array(n);
    const start = new Int32Array(groups + 1);
    for (let i = 0; i < n; i++) {
      const rank = ranks[i]!;
      let g = 2 * rank + 1;
      if (rank < 0) {
        g = groupOf(warnings[i]!.source, rules);
        // It joins the warnings of a rule, if any, wherever it was added.
        if (g % 2 === 1) this.unordered[g >> 1] = 1;
      }
      group[i] = g;
      start[g + 1]! += 1;
    }
    for (let g = 0; g < groups; g++) start[g + 1]! += start[g]!;
    const next = start.slice(0, groups);
    const out = new Array<RenderWarning>(n);
    for (let i = 0; i < n; i++) out[next[group[i]!]!++] = warnings[i]!;
    let strict = true;
    for (let g = 0; g < groups; g++) {
      const [from, to] = [start[g]!, start[g + 1]!];
      // A rule's own group is in order when its warnings came in order; a group between rules is sorted.
      if (to - from > 1 && (g % 2 === 0 || this.unordered[g >> 1] === 1)) strict = sortRange(out, from, to) && strict;
    }
    return { warnings: out, strict };
  }
}

/** Every source after the one before it. */
function strictlyOrdered(rules: readonly { source: string }[]): boolean {
  for (let i = 1; i < rules.length; i++) if (!(rules[i - 1]!.source < rules[i]!.source)) return false;
  return true;
}

/** The group of a source given without its rule: found by binary search over the rules' sources. */
function groupOf(source: string, rules: readonly { source: string }[]): number {
  let [lo, hi] = [0, rules.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byteOrder(rules[mid]!.source, source) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < rules.length && rules[lo]!.source === source ? 2 * lo + 1 : 2 * lo;
}

/** A stable sort of `list[from, to)` in place; true when the result has no two equal warnings. */
function sortRange(list: RenderWarning[], from: number, to: number): boolean {
  let inOrder = true;
  for (let i = from + 1; i < to && inOrder; i++) inOrder = compareWarnings(list[i - 1]!, list[i]!) < 0;
  if (inOrder) return true;
  const part = list.slice(from, to).sort(compareWarnings);
  let distinct = true;
  for (let i = 0; i < part.length; i++) {
    list[from + i] = part[i]!;
    if (i > 0 && compareWarnings(part[i - 1]!, part[i]!) === 0) distinct = false;
  }
  return distinct;
}
