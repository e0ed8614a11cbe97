// One order for warnings everywhere (render(), the MachineConfig, status):
// sorted and de-duplicated, so a status condition built from them is stable.
//
// The order is that of a stable sort by `compareWarnings`, then every warning
// equal to the one before it dropped. A large rendering has tens of thousands
// of warnings (containerd widenings, one per repository-scoped source and
// mirror) but few per source, so they are ordered by renderer and source in
// linear time (a counting sort on the ranks of the distinct values), and only
// the warnings of one renderer and source are compared with each other.
import { byteOrder } from '../merge/scope.js';
import type { RenderWarning } from '../model/types.js';

/** Below this many warnings a comparison sort is as fast as anything. */
const SMALL = 64;

export function sortedWarnings(warnings: readonly RenderWarning[]): RenderWarning[] {
  if (isSorted(warnings)) return withoutDuplicates([...warnings]);
  if (warnings.length < SMALL) return withoutDuplicates([...warnings].sort(compareWarnings));
  return byRendererAndSource(warnings) ?? withoutDuplicates([...warnings].sort(compareWarnings));
}

function compareWarnings(a: RenderWarning, b: RenderWarning): number {
  return byteOrder(a.renderer, b.renderer) || byteOrder(a.source, b.source) || compareRest(a, b);
}

/** `compareWarnings` for two warnings of the same renderer and source. */
function compareRest(a: RenderWarning, b: RenderWarning): number {
  return byteOrder(a.mirror ?? '', b.mirror ?? '') || byteOrder(a.code, b.code) || byteOrder(a.message, b.message);
}

function isSorted(warnings: readonly RenderWarning[]): boolean {
  for (let i = 1; i < warnings.length; i++) if (compareWarnings(warnings[i - 1]!, warnings[i]!) > 0) return false;
  return true;
}

/** `sorted` without each warning equal to the one before it. */
function withoutDuplicates(sorted: RenderWarning[]): RenderWarning[] {
  return sorted.filter((w, i) => i === 0 || compareWarnings(sorted[i - 1]!, w) !== 0);
}

/**
 * `withoutDuplicates` of the stable sort of `warnings` by `compareWarnings`:
 * a stable counting sort by (renderer, source), then each run of one
 * renderer and source sorted by the rest and de-duplicated. Undefined when
 * there are too many distinct renderers for the counting sort to stay linear
 * (never for the renderers of this project).
 */
function byRendererAndSource(warnings: readonly RenderWarning[]): RenderWarning[] | undefined {
  const n = warnings.length;
  const renderers = new Ids();
  const sources = new Ids();
  const rendererId = new Int32Array(n);
  const sourceId = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const w = warnings[i]!;
    rendererId[i] = renderers.id(w.renderer);
    sourceId[i] = sources.id(w.source);
  }
  const sourceCount = sources.count();
  const buckets = renderers.count() * sourceCount;
  if (buckets > 4 * n) return undefined;
  const rendererRank = renderers.ranks();
  const sourceRank = sources.ranks();
  const key = new Int32Array(n);
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) {
    const k = rendererRank[rendererId[i]!]! * sourceCount + sourceRank[sourceId[i]!]!;
    key[i] = k;
    start[k + 1]! += 1;
  }
  for (let k = 0; k < buckets; k++) start[k + 1]! += start[k]!;
  const placed = new Array<RenderWarning>(n);
  const next = start.slice(0, buckets);
  for (let i = 0; i < n; i++) placed[next[key[i]!]!++] = warnings[i]!;
  const out: RenderWarning[] = [];
  for (let k = 0; k < buckets; k++) {
    const [from, to] = [start[k]!, start[k + 1]!];
    if (to - from === 1) out.push(placed[from]!);
    else if (to > from) pushRun(out, placed, from, to);
  }
  return out;
}

/** One run of a renderer and source (in input order): sorted by the remaining fields (stable), without duplicates. */
function pushRun(out: RenderWarning[], placed: RenderWarning[], from: number, to: number): void {
  let sorted = true;
  for (let i = from + 1; i < to && sorted; i++) sorted = compareRest(placed[i - 1]!, placed[i]!) < 0;
  const run = sorted ? placed : placed.slice(from, to).sort(compareRest);
  const [a, b] = sorted ? [from, to] : [0, to - from];
  out.push(run[a]!);
  for (let i = a + 1; i < b; i++) if (sorted || compareRest(run[i - 1]!, run[i]!) !== 0) out.push(run[i]!);
}

/** Dense ids for distinct strings, in order of first appearance, and their ranks in byte order. */
class Ids {
  private readonly values: string[] = [];
  private readonly byValue = new Map<string, number>();
  private last: string | undefined;
  private lastId = -1;

  id(value: string): number {
    // Consecutive warnings mostly share their renderer and source.
    if (value === this.last) return this.lastId;
    let id = this.byValue.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.byValue.set(value, id);
      this.values.push(value);
    }
    this.last = value;
    this.lastId = id;
    return id;
  }

  count(): number {
    return this.values.length;
  }

  /** rank[id]: the position of the value with that id among the distinct values in byte order. */
  ranks(): Int32Array {
    // The default sort compares UTF-16 code units, the same order as byteOrder.
    const sorted = [...this.values].sort();
    const position = new Map<string, number>();
    sorted.forEach((v, i) => position.set(v, i));
    const rank = new Int32Array(sorted.length);
    for (let id = 0; id < this.values.length; id++) rank[id] = position.get(this.values[id]!)!;
    return rank;
  }
}
