// Opt-in management of the reference that delivers a NodePool's output to its
// nodes: HyperShift installs the MachineConfig under the key `config` of every
// ConfigMap listed in `NodePool.spec.config` (docs/hypershift.md).
//
// By default the operator never writes a NodePool: users list
// `{name: <nodepool>-image-mirrors}` themselves (by hand or GitOps). With the
// annotation `imagemirror.io/manage-config-ref: "true"` the operator adds the
// entry while its output exists, and removes the entry it added when the
// annotation goes away or the output is gone. It records what it added in a
// second annotation, written in the same patch, so that it never removes an
// entry a user listed by hand, and still knows what to remove after its
// output (or the opt-in) is gone.
//
// Every write is one JSON patch whose first op tests the list (or the
// resourceVersion) as read: a concurrent edit makes the server refuse the
// patch (422) and the pass is retried from fresh data. Nothing else of the
// NodePool is sent, so no field can be dropped.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeObject } from '../model/source.js';
import { statusCode } from '../common/api-errors.js';
import { served } from '../model/kinds.js';
import type { Logger } from './log.js';

const NODE_POOL = served('NodePool');

/** `"true"` on a NodePool: the operator keeps its output listed in `spec.config`. */
export const MANAGE_CONFIG_REF_ANNOTATION = 'imagemirror.io/manage-config-ref';
/** Written by the operator together with the entry it adds: the name of that entry. */
export const CONFIG_REF_ADDED_ANNOTATION = 'imagemirror.io/config-ref-added';
/** HyperShift's limit on `NodePool.spec.config` (MaxItems). */
export const MAX_CONFIG_REFS = 10;

/** RFC 6902 operations the operator sends. */
export type JsonPatchOp = { op: 'test' | 'add'; path: string; value: unknown } | { op: 'remove'; path: string };

/** The write this module needs; `Writer.patchNodePool` in production. */
export type PatchNodePool = (namespace: string, name: string, ops: readonly JsonPatchOp[]) => Promise<unknown>;

export type ConfigRefPlan = { action: 'none' } | { action: 'full'; entries: number } | { action: 'add' | 'remove' | 'forget'; ops: JsonPatchOp[] };

export function optedIn(np: KubeObject): boolean {
  return np.metadata.annotations?.[MANAGE_CONFIG_REF_ANNOTATION] === 'true';
}

/**
 * What must change for the NodePool informer to report an update: the
 * annotations live in metadata, which does not bump the generation.
 */
export function configRefFingerprint(np: KubeObject): string {
  const a = np.metadata.annotations ?? {};
  return `${a[MANAGE_CONFIG_REF_ANNOTATION] ?? ''}|${a[CONFIG_REF_ADDED_ANNOTATION] ?? ''}`;
}

/**
 * The patch that brings `spec.config` in line, from the NodePool as cached.
 * Pure. `outputExists`: the output ConfigMap is stored (a reference to a
 * missing ConfigMap would stop HyperShift from rendering the pool's ignition).
 */
export function planConfigRef(np: KubeObject, outputName: string, outputExists: boolean): ConfigRefPlan {
  const list = configList(np);
  const present = (list ?? []).some((e) => nameOf(e) === outputName);
  const added = np.metadata.annotations?.[CONFIG_REF_ADDED_ANNOTATION];
  const want = optedIn(np) && outputExists;
  if (want && !present) {
    if ((list?.length ?? 0) >= MAX_CONFIG_REFS) return { action: 'full', entries: list?.length ?? 0 };
    return { action: 'add', ops: addOps(np, list, outputName) };
  }
  if (!want && present && added === outputName) return { action: 'remove', ops: removeOps(list ?? [], outputName) };
  // Someone else removed the entry: drop the record, so that a later hand-made entry is never taken for ours.
  if (!want && !present && added !== undefined) {
    return {
      action: 'forget',
      ops: [
        { op: 'test', path: ADDED_PATH, value: added },
        { op: 'remove', path: ADDED_PATH },
      ],
    };
  }
  // Listed by hand (no record of ours), or already as wanted.
  return { action: 'none' };
}

const ADDED_PATH = `/metadata/annotations/${escapePointer(CONFIG_REF_ADDED_ANNOTATION)}`;

function addOps(np: KubeObject, list: unknown[] | undefined, outputName: string): JsonPatchOp[] {
  const record: JsonPatchOp = { op: 'add', path: ADDED_PATH, value: outputName };
  if (list === undefined) {
    // No list to test: the resourceVersion stands in for it.
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: np.metadata.resourceVersion },
      { op: 'add', path: '/spec/config', value: [{ name: outputName }] },
      record,
    ];
  }
  return [{ op: 'test', path: '/spec/config', value: list }, { op: 'add', path: '/spec/config/-', value: { name: outputName } }, record];
}

function removeOps(list: unknown[], outputName: string): JsonPatchOp[] {
  const test: JsonPatchOp = { op: 'test', path: '/spec/config', value: list };
  const drop: JsonPatchOp = { op: 'remove', path: ADDED_PATH };
  const kept = list.filter((e) => nameOf(e) !== outputName);
  // The field goes when nothing else is listed: the spec is then as it was before the operator added to it.
  if (kept.length === 0) return [test, { op: 'remove', path: '/spec/config' }, drop];
  const indices = list.flatMap((e, i) => (nameOf(e) === outputName ? [i] : [])).reverse();
  return [test, ...indices.map((i): JsonPatchOp => ({ op: 'remove', path: `/spec/config/${i}` })), drop];
}

/**
 * NodePools patched (key `NodePool <namespace>/<name>`), with the
 * resourceVersion the patch was planned from, until the cache shows a newer
 * one: a pass that runs before the watch delivers the patched object must not
 * plan again from the old one (its test op would fail and the pass would be
 * retried for nothing). One short entry per NodePool ever patched.
 */
export type PatchedFrom = Map<string, string>;
const PATCHED_FROM: PatchedFrom = new Map();

/** Applies the plan; resolves true when the NodePool was written. */
export async function syncConfigRef(
  deps: { patchNodePool: PatchNodePool | undefined; logger: Logger; patchedFrom?: PatchedFrom },
  np: KubeObject,
  outputName: string,
  outputExists: boolean,
): Promise<boolean> {
  const where = `NodePool ${np.metadata.namespace ?? ''}/${np.metadata.name}`;
  const patchedFrom = deps.patchedFrom ?? PATCHED_FROM;
  const rv = np.metadata.resourceVersion ?? '';
  if (patchedFrom.has(where)) {
    if (patchedFrom.get(where) === rv) return false;
    patchedFrom.delete(where);
  }
  const plan = planConfigRef(np, outputName, outputExists);
  if (plan.action === 'none') return false;
  if (plan.action === 'full') {
    deps.logger.warn({ nodePool: where, entries: plan.entries, max: MAX_CONFIG_REFS }, `spec.config is full; not adding ${outputName}`);
    return false;
  }
  if (!deps.patchNodePool) throw new Error(`internal error: ${where} needs a patch but the writer cannot patch NodePools`);
  try {
    await deps.patchNodePool(np.metadata.namespace ?? '', np.metadata.name, plan.ops);
  } catch (err) {
    const why =
      statusCode(err) === 422
        ? 'it changed since it was read (the test op failed); retrying from fresh data'
        : err instanceof Error
          ? err.message
          : String(err);
    throw new Error(`cannot ${plan.action} the spec.config entry ${outputName} of ${where}: ${why}`, { cause: err });
  }
  patchedFrom.set(where, rv);
  deps.logger.info({ nodePool: where, entry: outputName, action: plan.action }, 'updated NodePool spec.config reference');
  return true;
}

/** The real patch: JSON patch on the NodePool resource, nothing else sent. */
export async function jsonPatchNodePool(custom: CustomObjectsApi, namespace: string, name: string, ops: readonly JsonPatchOp[]): Promise<KubeObject> {
  const out: unknown = await custom.patchNamespacedCustomObject(
    { group: NODE_POOL.group, version: NODE_POOL.version, plural: NODE_POOL.plural, namespace, name, body: ops },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return out as KubeObject;
}

function configList(np: KubeObject): unknown[] | undefined {
  const spec = np.spec as { config?: unknown } | undefined;
  return Array.isArray(spec?.config) ? spec.config : undefined;
}

function nameOf(entry: unknown): unknown {
  return typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
}

/** RFC 6901: `~` -> `~0`, `/` -> `~1`. */
function escapePointer(s: string): string {
  return s.replaceAll('~', '~0').replaceAll('/', '~1');
}
