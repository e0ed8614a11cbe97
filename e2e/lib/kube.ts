// Thin helpers over @kubernetes/client-node for e2e tests and scripts: load a
// kubeconfig, apply YAML (create or replace), wait for CRDs and conditions,
// delete what a test created.
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { processGone } from '../../test/consumer/lib/proc.js';

/** One connection: a kubeconfig and the clients built from it (discovery is cached per Kube). */
export interface Kube {
  readonly kc: KubeConfig;
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  readonly apiext: ApiextensionsV1Api;
  readonly custom: CustomObjectsApi;
}

/** Loads the kubeconfig at `file`, else $KUBECONFIG, else ~/.kube/config. */
export function loadKubeConfig(file: string | undefined = process.env.KUBECONFIG): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export function connect(file?: string): Kube {
  const kc = loadKubeConfig(file);
  return {
    kc,
    objects: KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(CoreV1Api),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

// ---------------------------------------------------------------- errors

export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isAlreadyExists = (err: unknown): boolean => statusCode(err) === 409;

/** The API server's own message (Status.message) when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = (err as ApiException<unknown>).body;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    try {
      const status = JSON.parse(text) as { message?: string };
      if (status.message) return `${status.message} (HTTP ${err.code})`;
    } catch {
      // not JSON: fall through to the raw text
    }
    return `HTTP ${err.code}: ${text}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** "Kind namespace/name" or "Kind name", as error messages name objects. */
export function nameOf(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind ?? '?'} ${ns ? `${ns}/` : ''}${obj.metadata?.name ?? '?'}`;
}

// ---------------------------------------------------------------- waiting

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** The process that should bring the awaited state about: the wait ends as soon as it is gone. */
  readonly process?: ChildProcess;
}

/**
 * Polls `probe` until it returns something other than undefined/false and
 * returns that. Errors thrown by the probe count as "not yet"; the last one is
 * reported on timeout.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100, process: child }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let gone: string | undefined;
  const ended = child === undefined ? new Promise<never>(() => undefined) : processGone(child);
  void ended.then((how) => {
    gone = how;
  });
  for (;;) {
    try {
      const value = await Promise.race([probe(), ended.then(() => undefined)]);
      if (gone !== undefined) throw new Error(`the process ${gone} while waiting for ${what}`);
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (gone !== undefined) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : `; last error: ${errorMessage(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), ended]);
  }
}

// ---------------------------------------------------------------- YAML

export interface YamlObject extends KubernetesObject {
  /** file:document index the object came from, for messages. */
  readonly source: string;
}

/**
 * Every document of every *.yaml / *.yml file in `dir` (subdirectories too
 * when recursive), in path order; kustomization.yaml files are skipped.
 */
export async function readYamlDir(dir: string, { recursive = false } = {}): Promise<YamlObject[]> {
  if (!existsSync(dir)) return [];
  const files = (await listYamlFiles(dir, recursive)).sort();
  const out: YamlObject[] = [];
  for (const file of files) out.push(...parseYaml(await readFile(file, 'utf8'), file));
  return out;
}

async function listYamlFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && recursive) files.push(...(await listYamlFiles(full, true)));
    // kustomization.yaml describes a directory, it is not an object to apply.
    else if (e.isFile() && /\.ya?ml$/.test(e.name) && !/^kustomization\.ya?ml$/.test(e.name)) files.push(full);
  }
  return files;
}

/**
 * Parses multi-document YAML into client-node model objects. Known kinds must
 * go through loadAllYaml: KubernetesObjectApi serializes by the model's
 * property names, so wire names such as `x-kubernetes-preserve-unknown-fields`
 * in a CRD schema would otherwise be dropped silently.
 */
export function parseYaml(text: string, file: string): YamlObject[] {
  let docs: unknown[];
  try {
    docs = loadAllYaml(text, { filename: file }) as unknown[];
  } catch (err) {
    throw new Error(`${file}: invalid YAML: ${errorMessage(err)}`, { cause: err });
  }
  const out: YamlObject[] = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    const where = `${file} document ${i + 1}`;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${where}: expected a Kubernetes object, got ${typeof doc}`);
    const obj = doc as KubernetesObject;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      throw new Error(`${where}: apiVersion, kind and metadata.name are required`);
    }
    out.push(Object.assign(obj, { source: where }));
  });
  return out;
}

// ---------------------------------------------------------------- apply

export type ApplyAction = 'created' | 'replaced';

export interface Applied {
  readonly object: KubernetesObject;
  readonly action: ApplyAction;
}

function withoutSource(obj: KubernetesObject): KubernetesObject {
  const { source: _source, ...rest } = obj as YamlObject;
  return rest;
}

/** Create, or replace at the current resourceVersion when it exists (status is left alone). */
export async function apply(kube: Kube, obj: KubernetesObject): Promise<Applied> {
  const body = withoutSource(obj);
  try {
    return { object: await kube.objects.create(structuredClone(body)), action: 'created' };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const current = await kube.objects.read(ref(body));
  const next = structuredClone(body);
  next.metadata = { ...next.metadata, ...(current.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}) };
  return { object: await kube.objects.replace(next), action: 'replaced' };
}

const CRD_KIND = 'CustomResourceDefinition';

/** Namespaces first, then CRDs, then everything else; stable within a rank. */
function rank(obj: KubernetesObject): number {
  if (obj.kind === 'Namespace') return 0;
  if (obj.kind === CRD_KIND) return 1;
  return 2;
}

export interface ApplyResult {
  readonly applied: Applied[];
  readonly failed: { readonly object: KubernetesObject; readonly error: string }[];
}

/**
 * Applies objects in an order that works from an empty cluster: namespaces,
 * CRDs (then waits until they are Established and served), the rest.
 * Continues past failures and reports them all.
 */
export async function applyAll(kube: Kube, objects: readonly KubernetesObject[], opts: WaitOptions = {}): Promise<ApplyResult> {
  const ordered = withoutRepeatedNamespaces(objects).sort((a, b) => rank(a) - rank(b));
  const result: ApplyResult = { applied: [], failed: [] };
  let crdsReady = false;
  for (const obj of ordered) {
    if (!crdsReady && rank(obj) === 2) {
      await waitForCrds(
        kube,
        result.applied.map((a) => a.object).filter((o) => o.kind === CRD_KIND),
        opts,
      );
      crdsReady = true;
    }
    try {
      result.applied.push(await apply(kube, obj));
    } catch (err) {
      const where = 'source' in obj ? ` (${(obj as YamlObject).source})` : '';
      result.failed.push({ object: obj, error: `${nameOf(obj)}${where}: ${errorMessage(err)}` });
    }
  }
  if (!crdsReady)
    await waitForCrds(
      kube,
      result.applied.map((a) => a.object).filter((o) => o.kind === CRD_KIND),
      opts,
    );
  return result;
}

// Several example directories each declare the same namespace: apply it once, as last declared.
function withoutRepeatedNamespaces(objects: readonly KubernetesObject[]): KubernetesObject[] {
  const lastNamespace = new Map<string, KubernetesObject>();
  for (const o of objects) if (o.kind === 'Namespace') lastNamespace.set(o.metadata?.name ?? '', o);
  return objects.filter((o) => o.kind !== 'Namespace' || lastNamespace.get(o.metadata?.name ?? '') === o);
}

async function waitForCrds(kube: Kube, crds: readonly KubernetesObject[], opts: WaitOptions): Promise<void> {
  await waitForCrdsEstablished(
    kube,
    crds.map((c) => c.metadata?.name ?? ''),
    opts,
  );
}

// ---------------------------------------------------------------- CRDs

interface CrdNames {
  readonly apiVersions: string[];
  readonly kind: string;
}

/**
 * Waits until every named CRD has condition Established=True and discovery
 * serves its kind (so KubernetesObjectApi can map kind -> resource).
 */
export async function waitForCrdsEstablished(kube: Kube, names: readonly string[], opts: WaitOptions = {}): Promise<void> {
  await Promise.all(names.map((name) => waitForCrd(kube, name, opts)));
}

async function waitForCrd(kube: Kube, name: string, opts: WaitOptions): Promise<void> {
  const served = await waitUntil(
    `CustomResourceDefinition ${name} to be Established`,
    async () => {
      const crd = await kube.apiext.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      if (!established) return undefined;
      const names: CrdNames = {
        apiVersions: crd.spec.versions.filter((v) => v.served).map((v) => `${crd.spec.group}/${v.name}`),
        kind: crd.spec.names.kind,
      };
      return names;
    },
    { timeoutMs: 60_000, ...opts },
  );
  for (const apiVersion of served.apiVersions) {
    // A list goes through the same discovery lookup every later call needs.
    const list = () => kube.objects.list(apiVersion, served.kind, undefined, undefined, undefined, undefined, undefined, undefined, 1);
    await waitUntil(`discovery to serve ${apiVersion} ${served.kind}`, () => list().then(() => true), { timeoutMs: 30_000, ...opts });
  }
}

// ---------------------------------------------------------------- delete

/** Deletes an object; false when it was already gone. Does not wait for finalizers. */
export async function deleteObject(kube: Kube, obj: KubernetesObject): Promise<boolean> {
  try {
    await kube.objects.delete(ref(obj));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw new Error(`cannot delete ${nameOf(obj)}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Deletes an object and waits until reads return 404. */
export async function deleteAndWait(kube: Kube, obj: KubernetesObject, opts: WaitOptions = {}): Promise<void> {
  await deleteObject(kube, obj);
  await waitUntil(`${nameOf(obj)} to be gone`, () => exists(kube, obj).then((present) => !present), opts);
}

/** Deletes objects in reverse order (dependents were usually created last), ignoring ones already gone. */
export async function deleteAll(kube: Kube, objects: readonly KubernetesObject[]): Promise<void> {
  for (const obj of [...objects].reverse()) await deleteObject(kube, obj);
}

export async function exists(kube: Kube, obj: KubernetesObject): Promise<boolean> {
  try {
    await kube.objects.read(ref(obj));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Deletes a namespace. Without kube-controller-manager (the local control
 * plane) nothing empties it and clears its `kubernetes` finalizer, so with
 * `finalize` this clears it through the finalize subresource. Only do that
 * after deleting everything in it yourself.
 */
export async function deleteNamespace(kube: Kube, name: string, { finalize = false } = {}): Promise<void> {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  if (!(await deleteObject(kube, ns))) return;
  if (finalize) {
    const current = await kube.core.readNamespace({ name }).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (current) {
      current.spec = { ...current.spec, finalizers: [] };
      await kube.core.replaceNamespaceFinalize({ name, body: current });
    }
  }
  await waitUntil(`Namespace ${name} to be gone`, () => exists(kube, ns).then((present) => !present));
}

function ref(obj: KubernetesObject): KubernetesObject & { metadata: { name: string } } {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${nameOf(obj)}: metadata.name is required`);
  return {
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind ? { kind: obj.kind } : {}),
    metadata: { name, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) },
  };
}
