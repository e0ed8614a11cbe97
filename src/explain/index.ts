// `explain`: for one image reference, where each runtime will go and why.
// The prediction is read back from the rendered node files the way each
// runtime reads them (containers-image.ts, containerd.ts), never from the
// mirror model, so a renderer bug shows up as a wrong prediction; the
// gathered inputs only say who asked for what. Pure: no I/O, no clock.
import { hostPort, isInside, isWildcard } from '../merge/scope.js';
import type { MergeInputs, RenderWarning } from '../model/types.js';
import { explainContainerd } from './containerd.js';
import { explainContainersImage } from './containers-image.js';
import { NodeFiles, type NodeFileView } from './node-files.js';
import type { ImageRef } from './reference.js';
import { RUNTIMES, type Explanation, type Runtime, type RuntimeExplanation } from './types.js';

export { parseImageRef, type ImageRef } from './reference.js';
export { NodeFiles, type NodeFileView } from './node-files.js';
export * from './types.js';

export interface ExplainInput {
  ref: ImageRef;
  /** The node files of the target, by node path. */
  files: Iterable<NodeFileView>;
  /** The gathered inputs, for attribution; absent when only a published output was read. */
  inputs?: MergeInputs | undefined;
  /** The render's warnings. */
  warnings: readonly RenderWarning[];
  target: string;
  from: Explanation['from'];
  contentHash?: string | undefined;
  runtimes?: readonly Runtime[] | undefined;
  notes?: string[] | undefined;
}

export function explain(input: ExplainInput): Explanation {
  const files = new NodeFiles(input.files);
  const { ref } = input;
  const runtimes: RuntimeExplanation[] = [];
  for (const runtime of input.runtimes ?? RUNTIMES) {
    const r = runtime === 'containerd' ? explainContainerd({ ref, files, inputs: input.inputs }) : explainContainersImage({ ref, files, inputs: input.inputs });
    r.warnings = warningsFor(input.warnings, runtime, ref);
    runtimes.push(r);
  }
  const reference: Explanation['reference'] = {
    input: ref.input,
    pulled: ref.pulled,
    kind: ref.kind,
    registry: ref.domain,
    repository: ref.path,
    notes: ref.notes,
  };
  if (ref.tag && !ref.digest) reference.tag = ref.tag;
  if (ref.digest) reference.digest = ref.digest;
  const out: Explanation = { reference, target: input.target, from: input.from, runtimes, notes: input.notes ?? [] };
  if (input.contentHash) out.contentHash = input.contentHash;
  return out;
}

/**
 * The render warnings that concern this reference for one runtime:
 * containerd's are per registry host (a widening of another repository of
 * the same host changes what this pull tries); registries.conf's and the
 * MachineConfig's per enclosing source.
 */
export function warningsFor(warnings: readonly RenderWarning[], runtime: Runtime, ref: ImageRef): RenderWarning[] {
  return warnings.filter((w) => {
    if (runtime === 'containerd') return w.renderer === 'containerd' && (w.source === '*' || matchesHost(w.source, ref));
    if (w.renderer === 'containerd') return false;
    return w.source === '*' || isInside(new Set([w.source]), ref.name);
  });
}

function matchesHost(source: string, ref: ImageRef): boolean {
  return isWildcard(source) ? isInside(new Set([source]), ref.name) : hostPort(source) === ref.domain;
}

/** Exit status 3: some runtime explained cannot pull the reference under this configuration. */
export function cannotPull(e: Explanation): boolean {
  return e.runtimes.some((r) => r.pull.status === 'fails');
}
