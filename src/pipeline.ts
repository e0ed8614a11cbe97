// One target from objects to output data: gather -> merge -> render ->
// ConfigMap/Secret data. Pure: the CLI feeds it files, the controller its
// informer caches, and both write what it returns.
import { createHash } from 'node:crypto';
import { contentHash } from './common/content-hash.js';
import { gather } from './model/gather.js';
import type { Gathered, ObjectSource, Target } from './model/source.js';
import type { MergeInputs, MirrorModel, Problem } from './model/types.js';
import { merge, sortedOrigins } from './merge/index.js';
import { policyConflicts } from './merge/policy.js';
import { InternalError, render } from './render/index.js';
import { MACHINE_CONFIG_KEY, mergeWarnings, renderMachineConfig } from './render/machineconfig.js';
import { type AgentFiles, agentFiles, agentFilesOf, DEFAULT_AGENT_FILES, splitWarnings } from './render/agent-files.js';
import type { FilesManifest, NodeFile, RenderOutput } from './render/types.js';
import type { RenderWarning } from './model/types.js';
import { byteOrder } from './common/values.js';
import { CONTENT_HASH_KEY, FILES_MANIFEST_KEY, OUTPUT_LABEL, outputName } from './contract.js';

/** One target's rendered output. Shared through the RenderMemo by targets with the same inputs: never changed after it is built. */
export interface RenderedData {
  readonly model: MirrorModel;
  readonly output: Readonly<RenderOutput>;
  readonly configMapData: Readonly<Record<string, string>>;
  /**
   * NodePool targets that publish the containerd files (`all`): their
   * warnings, which are not warnings of the target (its nodes run CRI-O).
   */
  readonly containerdWarnings?: readonly RenderWarning[];
  /** Empty when nothing secret was rendered. */
  readonly secretData: Readonly<Record<string, string>>;
  /**
   * sha256 of the ConfigMap data (keys sorted). It is the content hash of an
   * output without a Secret; with one, the operator's content hash also
   * covers the Secret, through an HMAC whose key lives in the Secret
   * (src/common/content-hash.ts): a plain hash of a known file around a weak
   * password would let anyone who reads the status guess it offline.
   */
  readonly hash: string;
}

/** How a target's output is shaped; the same for the controller and the CLI. */
export interface PipelineOptions {
  /** Node files of NodePool targets besides `config` (a NodePool's `imagemirror.io/agent-files` annotation overrides it). */
  nodePoolAgentFiles?: AgentFiles;
}

export interface RenderedTarget {
  target: Target;
  /** NodePool targets: which agent files the output holds. */
  agentFiles?: AgentFiles;
  gathered: Gathered;
  outcome: ({ ok: true } & RenderedData) | { ok: false; errors: Problem[] };
}

/**
 * Remembers the last few renders by their inputs. Targets with the same
 * inputs (every NodePool that only the cluster-wide objects configure) get
 * the same output; with a memo the controller merges and renders it once,
 * not once per target. What it returns is shared: read it, never change it.
 * Keys are digests, so no input (credentials included) is kept as a key.
 */
export class RenderMemo {
  /** The model's contributors are those of the target that rendered first: callers put their own in. */
  private readonly entries = new Map<string, RenderedData>();
  hits = 0;
  misses = 0;

  constructor(private readonly size = 32) {}

  /**
   * Digest of everything the output depends on: the inputs except the list
   * of contributors, and its shape (cluster, or a NodePool's agent files).
   * One line per entry (lineOf).
   */
  static key(inputs: MergeInputs, shape: 'cluster' | AgentFiles): string {
    const { contributors: _contributors, entries, insecure, blocked, access, defaultMirror, ...others } = inputs;
    // A field added to MergeInputs must join the key: this fails to compile until it does.
    const _noOtherInputs: Record<string, never> = others;
    const lines: string[] = [JSON.stringify(shape)];
    const list = (name: string, items: readonly object[]): void => {
      lines.push(`${name} ${items.length}`);
      for (const item of items) lines.push(lineOf(item));
    };
    list('entries', entries);
    list('insecure', insecure);
    list('blocked', blocked);
    list('access', access);
    lines.push(defaultMirror === undefined ? 'no default mirror' : `default ${JSON.stringify(defaultMirror)}`);
    return createHash('sha256').update(lines.join('\n')).digest('hex');
  }

  get(key: string): RenderedData | undefined {
    const hit = this.entries.get(key);
    if (!hit) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, data: RenderedData): void {
    this.entries.set(key, data);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/**
 * One line of the key per input entry: its JSON, or for entries that targets
 * share (gather freezes those of API objects) a digest of it, made once per
 * entry, not once per target. JSON never holds a raw newline, nor starts with '#'.
 */
const sharedLines = new WeakMap<object, string>();

function lineOf(item: object): string {
  if (!Object.isFrozen(item)) return JSON.stringify(item);
  let line = sharedLines.get(item);
  if (line === undefined) {
    line = `#${createHash('sha256').update(JSON.stringify(item)).digest('base64')}`;
    sharedLines.set(item, line);
  }
  return line;
}

export function renderTarget(src: ObjectSource, target: Target, memo?: RenderMemo, options: PipelineOptions = {}): RenderedTarget {
  const shape = withAgentFiles(withConflicts(gather(target.kind === 'NodePool' ? withOwnOutputHidden(src, target) : src, target)), target, options);
  const { gathered, agentFiles: which } = shape;
  const shaped = which ? { target, agentFiles: which } : { target };
  if (gathered.problems.length > 0) {
    return { ...shaped, gathered, outcome: { ok: false, errors: gathered.problems } };
  }
  const key = memo ? RenderMemo.key(gathered.inputs, which ?? 'cluster') : '';
  const known = memo?.get(key);
  if (known) {
    const model: MirrorModel = { ...known.model, contributors: sortedOrigins(gathered.inputs.contributors) };
    return { ...shaped, gathered, outcome: { ok: true, ...known, model, output: withInputWarnings(known.output, gathered) } };
  }
  const merged = merge(gathered.inputs);
  if (!merged.ok) return { ...shaped, gathered, outcome: { ok: false, errors: merged.errors } };
  const data = renderModel(merged.value, which);
  memo?.set(key, data);
  return { ...shaped, gathered, outcome: { ok: true, ...data, output: withInputWarnings(data.output, gathered) } };
}

/** A NodePool target's agent files (its annotation, else the option); an unknown annotation value joins the target's warnings. */
function withAgentFiles(gathered: Gathered, target: Target, options: PipelineOptions): { gathered: Gathered; agentFiles?: AgentFiles } {
  if (target.kind !== 'NodePool') return { gathered };
  const where = `NodePool ${target.namespace}/${target.name}`;
  const { which, warning } = agentFilesOf(gathered.nodePool?.metadata.annotations, options.nodePoolAgentFiles ?? DEFAULT_AGENT_FILES, where);
  if (!warning) return { gathered, agentFiles: which };
  return { gathered: { ...gathered, warnings: [...(gathered.warnings ?? []), warning] }, agentFiles: which };
}

/** The target's own warnings about its inputs join those of the renderers (after the memo: they are not part of its key). */
function withInputWarnings(output: RenderOutput, gathered: Gathered): RenderOutput {
  const own = gathered.warnings ?? [];
  return own.length === 0 ? output : { ...output, warnings: mergeWarnings(own, output.warnings) };
}

/**
 * Every problem in one pass: when gather already found some, the merge does
 * not run, so the PolicyConflicts it would find (also among the entries of
 * objects rejected for other reasons) are added here.
 */
function withConflicts(gathered: Gathered): Gathered {
  if (gathered.problems.length === 0) return gathered;
  const conflicts = policyConflicts([...gathered.inputs.entries, ...(gathered.rejectedEntries ?? [])]);
  return conflicts.length === 0 ? gathered : { ...gathered, problems: [...gathered.problems, ...conflicts] };
}

function renderModel(model: MirrorModel, nodePool: AgentFiles | undefined): RenderedData {
  const rendered = render(model);
  if (!nodePool) return { model, output: rendered, ...toData(rendered) };
  // NodePool nodes get their files through NodePool.spec.config (docs/hypershift.md); the agent, where one runs, the rest.
  const mc = renderMachineConfig(model, rendered.files);
  const warnings = splitWarnings(rendered.warnings, nodePool);
  const output: RenderOutput = { files: agentFiles(rendered.files, nodePool), warnings: mergeWarnings(warnings.target, mc.warnings) };
  const data = toData(output, { [MACHINE_CONFIG_KEY]: mc.content }, { manifest: nodePool !== 'none' });
  return { model, output, ...data, ...(warnings.containerd.length > 0 ? { containerdWarnings: warnings.containerd } : {}) };
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
    get: (kind, namespace, n) => (kind === 'ConfigMap' && namespace === target.namespace && n === name ? placeholder : src.get(kind, namespace, n)),
  };
}

/**
 * Splits rendered files into ConfigMap and Secret data plus `files.json`.
 * `extra` adds ConfigMap keys that are not node files (NodePool targets: the
 * MachineConfig under `config`); the node agent reads only what files.json
 * lists, and the content hash covers them too.
 */
export function toData(
  output: RenderOutput,
  extra: Readonly<Record<string, string>> = {},
  opts: { manifest?: boolean } = {},
): Omit<RenderedData, 'model' | 'output'> {
  const configMapData: Record<string, string> = {};
  const secretData: Record<string, string> = {};
  const manifest: FilesManifest = {};
  for (const f of [...output.files].sort(byKey)) {
    if (f.key === CONTENT_HASH_KEY) throw new InternalError(`internal error: node file key ${JSON.stringify(f.key)} is reserved for the content hash`);
    manifest[f.key] = { path: f.path, mode: formatMode(f.mode), from: f.secret ? 'Secret' : 'ConfigMap' };
    (f.secret ? secretData : configMapData)[f.key] = f.content;
  }
  // A NodePool output for no agent at all (`none`) holds `config` only.
  if (opts.manifest !== false) configMapData[FILES_MANIFEST_KEY] = `${JSON.stringify(manifest, null, 2)}\n`;
  for (const [key, value] of Object.entries(extra)) {
    if (Object.hasOwn(configMapData, key)) throw new InternalError(`internal error: ConfigMap key ${JSON.stringify(key)} is also a node file key`);
    configMapData[key] = value;
  }
  // Frozen: renders are shared (RenderMemo), and so is the JSON of their data in output writes (direct-requests.ts).
  return { configMapData: Object.freeze(configMapData), secretData: Object.freeze(secretData), hash: contentHash(configMapData) };
}

export { contentHash };

function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function byKey(a: NodeFile, b: NodeFile): number {
  return byteOrder(a.key, b.key);
}
