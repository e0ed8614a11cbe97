// Publishing a target's output: the ConfigMap (non-secret files and
// files.json) and the Secret (files with credentials or private keys).
// Nothing is written when the stored objects already hold the content;
// updates carry the resourceVersion read from the cache, and deletes the
// uid and resourceVersion, so a concurrent edit makes the write fail (409)
// and the pass is retried from fresh data.
//
// Only the operator's own objects are ever written or deleted (`foreignReason`):
// an object under an output's name that is not ours is left as it is, and
// the pass fails with OutputNameConflict (reported in the status) until the
// name is free.
//
// Order matters for the node agent, which reads files.json from the
// ConfigMap and secret keys from the Secret: new Secret keys are written
// first, the ConfigMap next, and a Secret that became empty is deleted last.
import type { V1ConfigMap, V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { KubeObject, Reference, Target } from '../model/source.js';
import type { Problem } from '../model/types.js';
import { statusCode } from '../common/api-errors.js';
import { byteOrder } from '../common/values.js';
import {
  CONTENT_HASH_ANNOTATION,
  CONTENT_HASH_KEY,
  formatHash,
  OUTPUT_LABEL,
  outputContentHash,
  outputName,
  TARGET_LABEL,
  targetLabelValue,
  targetNamespace,
} from '../contract.js';
import { contentHash, type RenderedData } from '../pipeline.js';
import type { Writer } from './kube.js';
import type { Logger } from './log.js';
import type { TargetSources } from './reconcile.js';
import { type OutputObject, OutputProblem, refusedWrite, secretTypeProblem } from './write-errors.js';

/** What the operator stores for a target; compared with later watch events to spot drift. */
export interface Published {
  /** `sha256:<hex>` of the ConfigMap data (outputDigest). */
  configMapDigest: string;
  /** Digest of the Secret data, kept in memory only; undefined when there is no Secret. */
  secretDigest: string | undefined;
  /** The content hash, as in the annotation of both objects and the status. */
  hash: string;
  /** uid of the controller owner reference both objects carry; undefined for the cluster target. */
  ownerUid: string | undefined;
}

export interface PublishResult {
  /** Something was written. */
  changed: boolean;
  configMap: string;
  secret?: string;
  hash: string;
}

export interface PublishDeps {
  sources: Pick<TargetSources, 'outputConfigMap' | 'outputSecret' | 'recordWrite' | 'get'>;
  writer: Writer;
  operatorNamespace: string;
  logger: Logger;
}

export type OutputKind = 'ConfigMap' | 'Secret';

/** Objects under an output's names that are not the operator's: nothing was written or deleted. */
export class OutputNameConflict extends Error {
  constructor(readonly conflicts: ReadonlyArray<{ kind: OutputKind; namespace: string; name: string; why: string }>) {
    super(conflicts.map((c) => conflictMessage(c)).join('; '));
  }

  /** The objects in the way, for a watch that notices when they go. */
  references(): Reference[] {
    return this.conflicts.map((c) => ({ kind: c.kind, namespace: c.namespace, name: c.name }));
  }

  problems(): Problem[] {
    return this.conflicts.map((c) => ({ reason: 'OutputNameConflict', message: conflictMessage(c), value: c.name }));
  }
}

function conflictMessage(c: { kind: OutputKind; namespace: string; name: string; why: string }): string {
  return (
    `${c.kind} ${c.namespace}/${c.name} exists and is not the operator's (${c.why}): it is left untouched and the output is not ` +
    'published until that name is free (delete or rename the object)'
  );
}

interface OwnedMeta {
  metadata?: { labels?: Record<string, string>; ownerReferences?: V1OwnerReference[] } | undefined;
}

/**
 * Undefined when `obj` is the operator's output of `target`, else why not.
 * Ours: it carries our labels, or our controller owner reference (a label
 * removed by hand is repaired); and no other controller owns it. A NodePool
 * of the target's name counts as ours whatever its uid (one deleted and made
 * again). `owner`: the owner the output gets now (undefined for the cluster
 * target, or when the NodePool is gone).
 */
export function foreignReason(obj: OwnedMeta, target: Target, owner: KubeObject | undefined): string | undefined {
  const labels = obj.metadata?.labels ?? {};
  const controller = (obj.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (controller) {
    if (owner?.metadata.uid && controller.uid === owner.metadata.uid) return undefined;
    const ourKind =
      target.kind === 'NodePool' &&
      controller.kind === 'NodePool' &&
      controller.name === target.name &&
      (controller.apiVersion ?? '').split('/')[0] === 'hypershift.openshift.io';
    if (!ourKind) return `its controller is ${controller.kind} ${controller.name}`;
  }
  if (labels[OUTPUT_LABEL] === 'true' && labels[TARGET_LABEL] === targetLabelValue(target)) return undefined;
  return `it lacks the labels ${OUTPUT_LABEL}=true and ${TARGET_LABEL}=${targetLabelValue(target)}`;
}

/**
 * True when a stored output still carries what the operator wrote on it:
 * the content hash annotation, our labels and (NodePool targets) our
 * controller owner reference. Its data is compared apart (outputDigest).
 */
export function outputMetaCurrent(obj: OwnedMeta & { metadata?: { annotations?: Record<string, string> } }, target: Target, p: Published): boolean {
  const m = obj.metadata ?? {};
  if (m.annotations?.[CONTENT_HASH_ANNOTATION] !== p.hash) return false;
  if (m.labels?.[OUTPUT_LABEL] !== 'true' || m.labels?.[TARGET_LABEL] !== targetLabelValue(target)) return false;
  return !p.ownerUid || (m.ownerReferences ?? []).some((r) => r.uid === p.ownerUid && r.controller === true);
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
    const total = dataBytes(values);
    if (total <= MAX_OUTPUT_BYTES) continue;
    const sizes = Object.entries(values).map(([k, v]) => ({ key: k, bytes: Buffer.byteLength(k) + Buffer.byteLength(v) }));
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

/** Sizes of frozen data objects (a render's, shared by the targets that share the render: measured once). */
const sizes = new WeakMap<object, number>();

/** Bytes of the keys and values of `data`, as the API server counts them against MAX_OUTPUT_BYTES. */
function dataBytes(data: Readonly<Record<string, string>>): number {
  const known = sizes.get(data);
  if (known !== undefined) return known;
  let total = 0;
  for (const [k, v] of Object.entries(data)) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (Object.isFrozen(data)) sizes.set(data, total);
  return total;
}

/** Digest of secret data for in-memory comparison only (never stored or logged). */
export function secretDigest(data: Readonly<Record<string, string>>): string {
  return contentHash({ ...data });
}

/**
 * Our outputs as the caches keep them: metadata and a digest of the data, not
 * the data; a Secret also keeps the key of its content hash (`hashKey`), so
 * that the hash stays the same from one pass (and one process) to the next.
 */
export type DigestedOutput = KubeObject & { contentDigest: string; hashKey?: string };

/**
 * The digest of an output's data: `sha256:<hex>` of a ConfigMap's data,
 * secretDigest of a Secret's decoded data. Objects from the caches carry it
 * already; others are hashed here.
 */
export function outputDigest(kind: OutputKind, obj: KubeObject): string {
  const cached = (obj as Partial<DigestedOutput>).contentDigest;
  if (typeof cached === 'string' && obj.data === undefined && obj.binaryData === undefined) return cached;
  const data = (obj.data ?? {}) as Record<string, string>;
  if (kind === 'Secret') return secretDigest(decodeAll(data));
  const known = obj.binaryData === undefined ? writtenDigests.get(data) : undefined;
  if (known) return known;
  // binaryData is never ours: such an object differs from any output.
  return Object.keys((obj.binaryData ?? {}) as object).length > 0 ? 'binaryData' : formatHash(contentHash({ ...data }));
}

/**
 * Digests of ConfigMap data our writes stored, when that data is what we sent
 * (so its digest is the one we computed): the stored object is remembered
 * digested (recordWrite) without hashing the whole output again. Keyed by the
 * stored object's data: the data sent, under a metadata-only answer
 * (storedAfterWrite), or a whole answer's own data.
 */
const writtenDigests = new WeakMap<object, string>();

/**
 * Remembers `digest` (of `sent`) for the data of `stored`, what our write of `sent` stored (storedAfterWrite), when
 * that data is what we sent. A whole answer may show that an admission webhook changed it, and then it is hashed as
 * usual; under a metadata-only answer that shows in the watch event of that version instead (sources.ts ownWrite).
 */
export function noteWritten(stored: KubeObject, sent: Readonly<Record<string, string>>, digest: string): void {
  const data = stored.data as Record<string, unknown> | undefined;
  if (data && stored.binaryData === undefined && sameData(data, sent)) writtenDigests.set(data, digest);
}

/** Same keys, same values. */
export function sameData(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * What a cache keeps of an output: a fleet's outputs are tens of megabytes of
 * data the operator only ever compares, so it keeps their digests instead.
 */
export function digested(kind: OutputKind, obj: KubeObject): DigestedOutput {
  const { data: _data, binaryData: _binary, stringData: _string, ...rest } = obj;
  const out: DigestedOutput = { ...rest, contentDigest: outputDigest(kind, obj) };
  const key = kind === 'Secret' ? storedHashKey(obj) : undefined;
  if (key) out.hashKey = key;
  return out;
}

/** The content hash key a stored output Secret holds (cached, or in its data), if it is one we could have made. */
function storedHashKey(obj: KubeObject): string | undefined {
  const cached = (obj as Partial<DigestedOutput>).hashKey;
  const raw = (obj.data as Record<string, string> | undefined)?.[CONTENT_HASH_KEY];
  const key = cached ?? (raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8'));
  return key !== undefined && /^[0-9a-f]{64}$/.test(key) ? key : undefined;
}

function decodeAll(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/**
 * The stored output of `kind`, when it is ours. Throws the conflict when an
 * object under that name is known not to be ours: from the output cache (our
 * label, another controller), or from the input caches (a watch started by
 * an earlier conflict). Unknown objects are found by the create (409).
 */
function ownStored(
  deps: PublishDeps,
  kind: OutputKind,
  namespace: string,
  name: string,
  target: Target,
  owner: KubeObject | undefined,
): KubeObject | string | undefined {
  const cached = kind === 'ConfigMap' ? deps.sources.outputConfigMap(namespace, name) : deps.sources.outputSecret(namespace, name);
  const seen = cached ?? deps.sources.get(kind, namespace, name);
  if (!seen) return undefined;
  const why = foreignReason(seen, target, owner);
  if (why) return why;
  // An unlabelled one of ours (its label removed) is not in the output cache: the create finds it.
  return cached;
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
  const hasSecret = Object.keys(data.secretData).length > 0;
  // Nothing is written while either name is held by an object that is not ours.
  const stored = { ConfigMap: ownStored(deps, 'ConfigMap', namespace, name, target, owner), Secret: ownStored(deps, 'Secret', namespace, name, target, owner) };
  const needed: OutputKind[] = hasSecret ? ['ConfigMap', 'Secret'] : ['ConfigMap'];
  const conflicts = needed.flatMap((kind) => {
    const s = stored[kind];
    return typeof s === 'string' ? [{ kind, namespace, name, why: s }] : [];
  });
  if (conflicts.length > 0) throw new OutputNameConflict(conflicts);
  const ownSecret = typeof stored.Secret === 'object' ? stored.Secret : undefined;

  // The Secret keeps the key of the content hash it was written with: the same content, the same hash.
  const secretData: Record<string, string> = hasSecret
    ? { ...data.secretData, [CONTENT_HASH_KEY]: (ownSecret && storedHashKey(ownSecret)) ?? randomBytes(32).toString('hex') }
    : {};
  // Without a Secret the content hash is the ConfigMap data's hash, which the render computed already (pipeline.ts).
  const hash = hasSecret ? outputContentHash(data.configMapData, secretData) : formatHash(data.hash);
  const meta = { name, namespace, labels: outputLabels(target), annotations: { [CONTENT_HASH_ANNOTATION]: hash } };
  const ownerRefs = owner ? [ownerReference(owner)] : [];
  const claim = (kind: OutputKind) => ({ kind, namespace, name, check: (o: OwnedMeta) => foreignReason(o, target, owner) });
  onPublish({
    configMapDigest: formatHash(data.hash),
    secretDigest: hasSecret ? secretDigest(secretData) : undefined,
    hash,
    ownerUid: owner?.metadata.uid,
  });
  let changed = false;
  if (hasSecret) {
    try {
      changed = await putSecret(deps, { ...meta, ownerReferences: ownerRefs }, secretData, claim('Secret'));
    } catch (err) {
      // Say at once whether the ConfigMap's name is taken too (no cache may know the object yet).
      if (!(err instanceof OutputNameConflict) || stored.ConfigMap !== undefined) throw err;
      const cm = await deps.writer.readConfigMap(namespace, name);
      const why = cm ? foreignReason(cm, target, owner) : undefined;
      throw why ? new OutputNameConflict([{ kind: 'ConfigMap', namespace, name, why }, ...err.conflicts]) : err;
    }
  }
  changed = (await putConfigMap(deps, { ...meta, ownerReferences: ownerRefs }, data.configMapData, formatHash(data.hash), claim('ConfigMap'))) || changed;
  // A Secret of another type is not ours to delete (see putSecret).
  if (!hasSecret && ownSecret && secretType(ownSecret) === OUTPUT_SECRET_TYPE) {
    await deleteOwn(deps.writer, 'Secret', ownSecret);
    deps.sources.recordWrite('Secret', namespace, name, ownSecret, undefined);
    changed = true;
  }
  const result: PublishResult = { changed, configMap: name, hash };
  if (hasSecret) result.secret = name;
  return result;
}

/** Deletes an output of ours only as it was when found ours: another uid or a later version is a 409. */
export async function deleteOwn(writer: Writer, kind: OutputKind, obj: KubeObject): Promise<void> {
  const { namespace = '', name, uid, resourceVersion } = obj.metadata;
  const pre = { uid, resourceVersion };
  if (kind === 'ConfigMap') await writer.deleteConfigMap(namespace, name, pre);
  else await writer.deleteSecret(namespace, name, pre);
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

/** The name an output is written under, and how to tell whether an object found there is ours. */
interface Claim {
  kind: OutputKind;
  namespace: string;
  name: string;
  /** Undefined when ours, else why not (foreignReason). */
  check: (o: OwnedMeta) => string | undefined;
}

async function putConfigMap(deps: PublishDeps, meta: Meta, data: Record<string, string>, digest: string, claim: Claim): Promise<boolean> {
  const cached = deps.sources.outputConfigMap(meta.namespace, meta.name);
  if (cached && !configMapDiffers(cached, meta, digest)) return false;
  const current = cached as V1ConfigMap | undefined;
  const build = (base: V1ConfigMap | undefined): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: mergedMeta(base, meta),
    data,
  });
  const w = await refusing(claim, current, () =>
    createOrReplace(
      claim,
      current,
      build,
      (cm) => deps.writer.createConfigMap(cm),
      (cm) => deps.writer.replaceConfigMap(cm),
      () => deps.writer.readConfigMap(meta.namespace, meta.name),
    ),
  );
  noteWritten(w.after as KubeObject, data, digest);
  deps.sources.recordWrite('ConfigMap', meta.namespace, meta.name, w.before as KubeObject | undefined, w.after as KubeObject);
  deps.logger.info({ configMap: `${meta.namespace}/${meta.name}`, hash: meta.annotations[CONTENT_HASH_ANNOTATION] }, 'published output ConfigMap');
  return true;
}

async function putSecret(deps: PublishDeps, meta: Meta, data: Record<string, string>, claim: Claim): Promise<boolean> {
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
  const w = await refusing(claim, current, () =>
    createOrReplace(
      claim,
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
 * Updates `current` (ours, from the cache) with its resourceVersion, or
 * creates when the cache has nothing. If the object exists after all (the
 * cache lagged, or our label was removed by hand), reads it and replaces it
 * only if it is ours; an object that is not ours is left alone
 * (OutputNameConflict). Returns the object replaced (undefined after a
 * create) and the one stored.
 */
async function createOrReplace<T extends OwnedMeta & { metadata?: { resourceVersion?: string } }>(
  claim: Claim,
  current: T | undefined,
  build: (base: T | undefined) => T,
  create: (o: T) => Promise<T>,
  replace: (o: T) => Promise<T>,
  read: () => Promise<T | undefined>,
): Promise<{ before: T | undefined; after: T }> {
  const write = async (fn: (o: T) => Promise<T>, base: T | undefined): Promise<T> => {
    const sent = build(base);
    return storedAfterWrite(sent, await fn(sent));
  };
  if (current) return { before: current, after: await write(replace, current) };
  try {
    return { before: undefined, after: await write(create, undefined) };
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
    const fresh = await read();
    if (!fresh) throw err;
    const why = claim.check(fresh);
    if (why) throw new OutputNameConflict([{ kind: claim.kind, namespace: claim.namespace, name: claim.name, why }]);
    return { before: fresh, after: await write(replace, fresh) };
  }
}

/**
 * The object a write stored: the answer itself, or, when the answer is the stored metadata only (the real writer asks
 * for that, kube.ts), what was sent under that metadata. An admission webhook that changed the data shows in the watch
 * event of that version, which is compared with what was sent (sources.ts ownWrite).
 */
export function storedAfterWrite<T extends { metadata?: object }>(sent: T, answer: T): T {
  return isPartialObjectMetadata(answer) ? { ...sent, metadata: answer.metadata } : answer;
}

/** An answer or a watch event that carries the object's metadata only (asked for with ACCEPT_METADATA_ONLY). */
export function isPartialObjectMetadata(o: object): boolean {
  return (o as { kind?: unknown }).kind === 'PartialObjectMetadata';
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
function configMapDiffers(current: KubeObject, meta: Meta, digest: string): boolean {
  if (outputDigest('ConfigMap', current) !== digest) return true;
  return metaDiffers(current, meta);
}

function secretDiffers(current: KubeObject, meta: Meta, data: Record<string, string>): boolean {
  if (outputDigest('Secret', current) !== secretDigest(data)) return true;
  return metaDiffers(current, meta);
}
