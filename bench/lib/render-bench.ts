// Measurements of the render-scale benchmark: merge and both renderers on
// generated inputs, plus `gather` on equivalent objects.
import { merge } from '../../src/merge/index.js';
import { gather } from '../../src/model/gather.js';
import type { MergeInputs, MirrorModel } from '../../src/model/types.js';
import { render, renderContainerd, renderRegistriesConf } from '../../src/render/index.js';
import type { RenderOutput } from '../../src/render/types.js';
import { clusterObjectSource, mirrorSetObjects, nodePoolObjectSource, renderScaleInputs } from './render-inputs.js';
import { median, min, mib, timeMs } from './stats.js';

export type Phase = 'merge' | 'registriesConf' | 'containerd' | 'render' | 'total' | 'gatherCluster' | 'gatherNodePool';
export const PHASES: readonly Phase[] = ['merge', 'registriesConf', 'containerd', 'render', 'total', 'gatherCluster', 'gatherNodePool'];

export interface SizeResult {
  n: number;
  entries: number;
  runs: number;
  /** Milliseconds per run, by phase. */
  samples: Record<Phase, number[]>;
  /** Heap after one merge + render with their results still referenced (needs --expose-gc). */
  heapUsedMiB?: number;
  /** Of which retained by the model and the rendered files. */
  retainedMiB?: number;
  files: number;
  bytes: number;
}

function mergeOk(inputs: MergeInputs): MirrorModel {
  const r = merge(inputs);
  if (!r.ok) throw new Error(`merge failed: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

/** One merge + render, the unit the operator runs per target. */
export function mergeAndRender(inputs: MergeInputs): RenderOutput {
  return render(mergeOk(inputs));
}

/** `runs` timed repetitions of every phase after `warmup` untimed ones. */
export function measureSize(n: number, runs: number, warmup: number): SizeResult {
  const inputs = renderScaleInputs(n);
  const objects = mirrorSetObjects(n);
  const cluster = clusterObjectSource(objects);
  const nodePool = nodePoolObjectSource(n);
  const samples = Object.fromEntries(PHASES.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;
  for (let i = 0; i < warmup + runs; i++) {
    let model: MirrorModel | undefined;
    const t: Record<Phase, number> = {
      merge: timeMs(() => (model = mergeOk(inputs))),
      registriesConf: timeMs(() => renderRegistriesConf(model!)),
      containerd: timeMs(() => renderContainerd(model!)),
      render: timeMs(() => render(model!)),
      total: timeMs(() => mergeAndRender(inputs)),
      gatherCluster: timeMs(() => gatherOk(gather(cluster, { kind: 'Cluster' }))),
      gatherNodePool: timeMs(() => gatherOk(gather(nodePool, { kind: 'NodePool', namespace: 'clusters', name: 'bench-pool' }))),
    };
    if (i >= warmup) for (const p of PHASES) samples[p].push(t[p]);
  }
  const out = mergeAndRender(inputs);
  return {
    n,
    entries: inputs.entries.length,
    runs,
    samples,
    ...heap(inputs),
    files: out.files.length,
    bytes: out.files.reduce((sum, f) => sum + f.content.length, 0),
  };
}

function gatherOk(g: ReturnType<typeof gather>): void {
  if (g.problems.length > 0)
    throw new Error(
      `gather reported problems: ${g.problems
        .map((p) => p.message)
        .slice(0, 3)
        .join('; ')}`,
    );
}

/** Heap figures when the process runs with --expose-gc; empty otherwise. */
function heap(inputs: MergeInputs): { heapUsedMiB?: number; retainedMiB?: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return {};
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = mergeAndRender(inputs);
  const heapUsed = process.memoryUsage().heapUsed;
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  if (kept.files.length === 0) throw new Error('rendered nothing');
  return { heapUsedMiB: mib(heapUsed), retainedMiB: mib(retained) };
}

export function summary(r: SizeResult, phase: Phase): { median: number; min: number } {
  return { median: median(r.samples[phase]), min: min(r.samples[phase]) };
}
