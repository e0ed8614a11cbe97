// Publishing a target's output: the ConfigMap (non-secret files and
// files.json) and the Secret (files with credentials or private keys).
// Nothing is written when the stored objects already hold the content;
// updates carry the resourceVersion read from the cache, so a concurrent
// edit makes the write fail (409) and the pass is retried from fresh data.
//
// Order matters for the node agent, which reads files.json from the
// ConfigMap and secret keys from the Secret: new Secret keys are written
// first, the ConfigMap next, and a Secret that became empty is deleted last.
import type { V1ConfigMap, V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { KubeObject, Target } from '../model/source.js';
import type { Problem } from '../model/types.js';
import { statusCode } from '../common/api-errors.js';
import { byteOrder } from '../common/values.js';
import { CONTENT_HASH_ANNOTATION, formatHash, OUTPUT_LABEL, outputName, TARGET_LABEL, targetLabelValue, targetNamespace } from '../contract.js';
import { contentHash, type RenderedData } from '../pipeline.js';
import type { Writer } from './kube.js';
import type { Logger } from './log.js';
import type { TargetSources } from './reconcile.js';
import { type OutputObject, OutputProblem, refusedWrite, secretTypeProblem } from './write-errors.js';

/** What the operator stores for a target; compared with later watch events to spot drift. */
export interface Published {
  /** `sha256:<hex>` of the ConfigMap data, as in the annotation and the status. */
  configMapHash: string;
  /** Digest of the Secret data, kept in memory only; undefined when there is no Secret. */
  secretDigest: string | undefined;
}

export interface PublishResult {
  /** Something was written. */
  changed: boolean;
  configMap: string;
  secret?: string;
  hash: string;
}

export interface PublishDeps {
  sources: Pick<TargetSources, 'outputConfigMap' | 'outputSecret' | 'recordWrite'>;
  writer: Writer;
  operatorNamespace: string;
  logger: Logger;
}

/** The API server refuses a ConfigMap or Secret whose keys and values add up to more than this (bytes). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * A Problem when the output would not fit in a ConfigMap or Secret. Checked
 * before writing: the API server would refuse the write (422) on every
 * retry, and only the status can tell the user why.
 */
export function outputSizeProblem(target: Target, data: Pick<RenderedData, 'configMapData' | 'secretData'>, operatorNamespace: string): Problem | undefined {
  const where = `${targetNamespace(target, operatorNamespace)}/${outputName(target)}`;
  for (const [kind, values] of [
    ['ConfigMap', data.configMapData],
    ['Secret', data.secretData],
  ] as const) {
    const sizes = Object.entries(values).map(([k, v]) => ({ key: k, bytes: Buffer.byteLength(k) + Buffer.byteLength(v) }));
    const total = sizes.reduce((sum, x) => sum + x.bytes, 0);
    if (total <= MAX_OUTPUT_BYTES) continue;
    const largest = sizes.sort((a, b) => b.bytes - a.bytes || byteOrder(a.key, b.key)).slice(0, 3);
    const n = (x: number): string => x.toLocaleString('en-US');
    return {
      reason: 'OutputTooLarge',
      message:
        `output ${kind} ${where} would hold ${n(total)} bytes, over the ${n(MAX_OUTPUT_BYTES)}-byte limit of a ${kind} ` +
        `(largest keys: ${largest.map((x) => `${x.key} ${n(x.bytes)}`).join(', ')}); ` +
        'fewer mirror entries for this target (or fewer repository-scoped sources on the same host) make it fit',
    };
  }
  return undefined;
}

/** Digest of secret data for in-memory comparison only (never stored or logged). */
export function secretDigest(data: Readonly<Record<string, string>>): string {
  return contentHash({ ...data });
}

/** Our outputs as the caches keep them: metadata and a digest of the data, not the data. */
export type DigestedOutput = KubeObject & { contentDigest: string };

/**
 * The digest of an output's data: `sha256:<hex>` of a ConfigMap's data (as in
 * its annotation when nobody edited it), secretDigest of a Secret's decoded
 * data. Objects from the caches carry it already; others are hashed here.
 */
export function outputDigest(kind: 'ConfigMap' | 'Secret', obj: KubeObject): string {
  const cached = (obj as Partial<DigestedOutput>).contentDigest;
  if (typeof cached === 'string' && obj.data === undefined && obj.binaryData === undefined) return cached;
  const data = (obj.data ?? {}) as Record<string, string>;
  if (kind === 'Secret') return secretDigest(decodeAll(data));
  // binaryData is never ours: such an object differs from any output.
  return Object.keys((obj.binaryData ?? {}) as object).length > 0 ? 'binaryData' : formatHash(contentHash({ ...data }));
}

/**
 * What a cache keeps of an output: a fleet's outputs are tens of megabytes of
 * data the operator only ever compares, so it keeps their digests instead.
 */
export function digested(kind: 'ConfigMap' | 'Secret', obj: KubeObject): DigestedOutput {
  const { data: _data, binaryData: _binary, stringData: _string, ...rest } = obj;
  return { ...rest, contentDigest: outputDigest(kind, obj) };
}

function decodeAll(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export async function publishOutputs(
  deps: PublishDeps,
  target: Target,
  data: RenderedData,
  owner: KubeObject | undefined,
  onPublish: (p: Published) => void,
): Promise<PublishResult> {
  const name = outputName(target);
  const namespace = targetNamespace(target, deps.operatorNamespace);
  const meta = { name, namespace, labels: outputLabels(target), annotations: { [CONTENT_HASH_ANNOTATION]: formatHash(data.hash) } };
  const ownerRefs = owner ? [ownerReference(owner)] : [];
  const hasSecret = Object.keys(data.secretData).length > 0;
  onPublish({ configMapHash: formatHash(data.hash), secretDigest: hasSecret ? secretDigest(data.secretData) : undefined });
  let changed = false;
  if (hasSecret) changed = (await putSecret(deps, { ...meta, ownerReferences: ownerRefs }, data.secretData)) || changed;
  changed = (await putConfigMap(deps, { ...meta, ownerReferences: ownerRefs }, data.configMapData, data.hash)) || changed;
  const stale = hasSecret ? undefined : deps.sources.outputSecret(namespace, name);
  // A Secret of another type is not ours to delete (see putSecret).
  if (stale && secretType(stale) === OUTPUT_SECRET_TYPE) {
    await deps.writer.deleteSecret(namespace, name);
    deps.sources.recordWrite('Secret', namespace, name, stale, undefined);
    changed = true;
  }
  const result: PublishResult = { changed, configMap: name, hash: formatHash(data.hash) };
  if (hasSecret) result.secret = name;
  return result;
}

export function outputLabels(t: Target): Record<string, string> {
  return { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: targetLabelValue(t) };
}

export function ownerReference(owner: KubeObject): V1OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid ?? '', controller: true };
}

interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: V1OwnerReference[];
}

async function putConfigMap(deps: PublishDeps, meta: Meta, data: Record<string, string>, hash: string): Promise<boolean> {
  const cached = deps.sources.outputConfigMap(meta.namespace, meta.name);
  if (cached && !configMapDiffers(cached, meta, hash)) return false;
  const current = cached as V1ConfigMap | undefined;
  const build = (base: V1ConfigMap | undefined): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: mergedMeta(base, meta),
    data,
  });
  const w = await refusing({ kind: 'ConfigMap', namespace: meta.namespace, name: meta.name }, current, () =>
    createOrReplace(
      current,
      build,
      (cm) => deps.writer.createConfigMap(cm),
      (cm) => deps.writer.replaceConfigMap(cm),
      () => deps.writer.readConfigMap(meta.namespace, meta.name),
    ),
  );
  deps.sources.recordWrite('ConfigMap', meta.namespace, meta.name, w.before as KubeObject | undefined, w.after as KubeObject);
  deps.logger.info({ configMap: `${meta.namespace}/${meta.name}`, hash: formatHash(hash) }, 'published output ConfigMap');
  return true;
}

async function putSecret(deps: PublishDeps, meta: Meta, data: Record<string, string>): Promise<boolean> {
  const cached = deps.sources.outputSecret(meta.namespace, meta.name);
  if (cached && !secretDiffers(cached, meta, data)) return false;
  const current = cached as V1Secret | undefined;
  const where = { namespace: meta.namespace, name: meta.name };
  // The type of a Secret cannot change: replacing one of another type would be refused (422) on every try.
  const ofOurType = (s: V1Secret | undefined): void => {
    if (s && secretType(s) !== OUTPUT_SECRET_TYPE) throw new OutputProblem(secretTypeProblem(where, secretType(s)));
  };
  ofOurType(current);
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  const build = (base: V1Secret | undefined): V1Secret => {
    ofOurType(base);
    return { apiVersion: 'v1', kind: 'Secret', type: OUTPUT_SECRET_TYPE, metadata: mergedMeta(base, meta), data: encoded };
  };
  const w = await refusing({ kind: 'Secret', ...where }, current, () =>
    createOrReplace(
      current,
      build,
      (s) => deps.writer.createSecret(s),
      (s) => deps.writer.replaceSecret(s),
      () => deps.writer.readSecret(meta.namespace, meta.name),
    ),
  );
  deps.sources.recordWrite('Secret', meta.namespace, meta.name, w.before as KubeObject | undefined, w.after as KubeObject);
  // Names only: never the data.
  deps.logger.info({ secret: `${meta.namespace}/${meta.name}`, keys: Object.keys(data).length }, 'published output Secret');
  return true;
}

/** The type of every output Secret. */
const OUTPUT_SECRET_TYPE = 'Opaque';

/** A Secret's type; the API server stores Opaque when none is given. */
function secretType(s: object): string {
  const type = (s as { type?: unknown }).type;
  return typeof type === 'string' && type !== '' ? type : OUTPUT_SECRET_TYPE;
}

/** Runs a write of `obj`; an answer that will never change (422, ...) becomes an OutputProblem for the status (write-errors.ts). */
async function refusing<T>(obj: OutputObject, current: unknown, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const problem = err instanceof OutputProblem ? undefined : refusedWrite(err, obj, current ? 'update' : 'create');
    throw problem ? new OutputProblem(problem) : err;
  }
}

/**
 * Creates when the cache has nothing; if the object exists after all (the
 * cache lagged, or the label was removed by hand), reads it and replaces it.
 * Returns the object replaced (undefined after a create) and the one stored.
 */
async function createOrReplace<T extends { metadata?: { resourceVersion?: string } }>(
  current: T | undefined,
  build: (base: T | undefined) => T,
  create: (o: T) => Promise<T>,
  replace: (o: T) => Promise<T>,
  read: () => Promise<T | undefined>,
): Promise<{ before: T | undefined; after: T }> {
  if (current) return { before: current, after: await replace(build(current)) };
  try {
    return { before: undefined, after: await create(build(undefined)) };
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
    const fresh = await read();
    if (!fresh) throw err;
    return { before: fresh, after: await replace(build(fresh)) };
  }
}

/** Our labels, annotation and owner over whatever else the stored object carries; keeps its resourceVersion. */
function mergedMeta(
  base:
    | { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; ownerReferences?: V1OwnerReference[] } }
    | undefined,
  meta: Meta,
): V1ObjectMeta {
  const out: V1ObjectMeta = {
    name: meta.name,
    namespace: meta.namespace,
    labels: { ...(base?.metadata?.labels ?? {}), ...meta.labels },
    annotations: { ...(base?.metadata?.annotations ?? {}), ...meta.annotations },
  };
  const others = (base?.metadata?.ownerReferences ?? []).filter((r) => !meta.ownerReferences.some((o) => o.uid === r.uid) && !r.controller);
  const owners = [...meta.ownerReferences, ...others];
  if (owners.length > 0) out.ownerReferences = owners;
  if (base?.metadata?.resourceVersion) out.resourceVersion = base.metadata.resourceVersion;
  return out;
}

function metaDiffers(
  current: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: V1OwnerReference[] } },
  meta: Meta,
): boolean {
  const labels = current.metadata?.labels ?? {};
  const annotations = current.metadata?.annotations ?? {};
  if (Object.entries(meta.labels).some(([k, v]) => labels[k] !== v)) return true;
  if (Object.entries(meta.annotations).some(([k, v]) => annotations[k] !== v)) return true;
  const owners = current.metadata?.ownerReferences ?? [];
  return meta.ownerReferences.some((o) => !owners.some((c) => c.uid === o.uid && c.controller === true));
}

/** Compares the stored data itself, not only the annotation: an edit by hand is drift to repair. */
function configMapDiffers(current: KubeObject, meta: Meta, hash: string): boolean {
  if (outputDigest('ConfigMap', current) !== formatHash(hash)) return true;
  return metaDiffers(current, meta);
}

function secretDiffers(current: KubeObject, meta: Meta, data: Record<string, string>): boolean {
  if (outputDigest('Secret', current) !== secretDigest(data)) return true;
  return metaDiffers(current, meta);
}
