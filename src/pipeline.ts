// One target from objects to output data: gather -> merge -> render ->
// ConfigMap/Secret data. Pure: the CLI feeds it files, the controller its
// informer caches, and both write what it returns.
import { createHash } from 'node:crypto';
import { gather } from './model/gather.js';
import type { Gathered, ObjectSource, Target } from './model/source.js';
import type { MirrorModel, Problem } from './model/types.js';
import { merge } from './merge/index.js';
import { InternalError, render } from './render/index.js';
import { MACHINE_CONFIG_KEY, mergeWarnings, renderMachineConfig } from './render/machineconfig.js';
import type { FilesManifest, NodeFile, RenderOutput } from './render/types.js';

/** Label on every object the operator writes; such objects are never read as inputs. */
export const OUTPUT_LABEL = 'imagemirror.io/output';
/** Label naming the target an output belongs to: `<namespace>.<name>` or `cluster`. */
export const TARGET_LABEL = 'imagemirror.io/target';
/** Annotation carrying the content hash of the ConfigMap data. */
export const HASH_ANNOTATION = 'imagemirror.io/content-hash';
/** ConfigMap key that maps every other key to its node path and mode. */
export const FILES_MANIFEST_KEY = 'files.json';

export interface RenderedData {
  model: MirrorModel;
  output: RenderOutput;
  configMapData: Record<string, string>;
  /** Empty when nothing secret was rendered. */
  secretData: Record<string, string>;
  /**
   * sha256 of the ConfigMap data (keys sorted). It deliberately leaves out
   * secret contents: a hash of a known file around a weak password would let
   * anyone who reads the status guess the password offline. The Secret is
   * compared by a digest that is kept in memory only.
   */
  hash: string;
}

export interface RenderedTarget {
  target: Target;
  gathered: Gathered;
  outcome: ({ ok: true } & RenderedData) | { ok: false; errors: Problem[] };
}

/** Name of the output ConfigMap and Secret of a target. */
export function outputName(t: Target): string {
  return t.kind === 'Cluster' ? 'cluster-image-mirrors' : `${t.name}-image-mirrors`;
}

/** Value of TARGET_LABEL for a target (label values cannot hold `/`). */
export function targetLabelValue(t: Target): string {
  return t.kind === 'Cluster' ? 'cluster' : `${t.namespace}.${t.name}`;
}

export function renderTarget(src: ObjectSource, target: Target): RenderedTarget {
  const gathered = gather(target.kind === 'NodePool' ? withOwnOutputHidden(src, target) : src, target);
  if (gathered.problems.length > 0) {
    return { target, gathered, outcome: { ok: false, errors: gathered.problems } };
  }
  const merged = merge(gathered.inputs);
  if (!merged.ok) return { target, gathered, outcome: { ok: false, errors: merged.errors } };
  const rendered = render(merged.value);
  if (target.kind !== 'NodePool') {
    return { target, gathered, outcome: { ok: true, model: merged.value, output: rendered, ...toData(rendered) } };
  }
  // NodePool nodes get their files through NodePool.spec.config (docs/hypershift.md).
  const mc = renderMachineConfig(merged.value, rendered.files);
  const output: RenderOutput = { files: rendered.files, warnings: mergeWarnings(rendered.warnings, mc.warnings) };
  const data = toData(output, { [MACHINE_CONFIG_KEY]: mc.content });
  return { target, gathered, outcome: { ok: true, model: merged.value, output, ...data } };
}

/**
 * A NodePool's own output may be listed in its `spec.config` (that is how
 * it reaches the nodes), possibly before the operator first wrote it. Gather
 * must see it as an output, present and labelled, so that it is skipped:
 * never read as an input, and never reported missing (which would keep it
 * from ever being written).
 */
function withOwnOutputHidden(src: ObjectSource, target: Extract<Target, { kind: 'NodePool' }>): ObjectSource {
  const name = outputName(target);
  const placeholder = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: target.namespace, labels: { [OUTPUT_LABEL]: 'true' } },
  };
  return {
    clusterScoped: () => src.clusterScoped(),
    get: (kind, namespace, n) =>
      kind === 'ConfigMap' && namespace === target.namespace && n === name ? placeholder : src.get(kind, namespace, n),
  };
}

/**
 * Splits rendered files into ConfigMap and Secret data plus `files.json`.
 * `extra` adds ConfigMap keys that are not node files (NodePool targets: the
 * MachineConfig under `config`); the node agent reads only what files.json
 * lists, and the content hash covers them too.
 */
export function toData(output: RenderOutput, extra: Readonly<Record<string, string>> = {}): Omit<RenderedData, 'model' | 'output'> {
  const configMapData: Record<string, string> = {};
  const secretData: Record<string, string> = {};
  const manifest: FilesManifest = {};
  for (const f of [...output.files].sort(byKey)) {
    manifest[f.key] = { path: f.path, mode: formatMode(f.mode), from: f.secret ? 'Secret' : 'ConfigMap' };
    (f.secret ? secretData : configMapData)[f.key] = f.content;
  }
  configMapData[FILES_MANIFEST_KEY] = JSON.stringify(manifest, null, 2) + '\n';
  for (const [key, value] of Object.entries(extra)) {
    if (Object.hasOwn(configMapData, key)) throw new InternalError(`internal error: ConfigMap key ${JSON.stringify(key)} is also a node file key`);
    configMapData[key] = value;
  }
  return { configMapData, secretData, hash: contentHash(configMapData) };
}

/** sha256 over keys and values in key order; stable across runs and platforms. */
export function contentHash(data: Record<string, string>): string {
  const h = createHash('sha256');
  for (const key of Object.keys(data).sort()) {
    h.update(`${key.length}:${key}`);
    h.update(`${Buffer.byteLength(data[key])}:${data[key]}`);
  }
  return h.digest('hex');
}

function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function byKey(a: NodeFile, b: NodeFile): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
