// Every API call the controller makes, in one place: list/watch functions
// for the informers, discovery, and the writes (each counted by kind and
// verb for /metrics). The reconciler only sees the `Writer` interface, so
// its unit tests can record writes in memory.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type CoreV1Event,
  type KubernetesListObject,
  type V1ConfigMap,
  type V1DeleteOptions,
  type V1ListMeta,
  type V1Secret,
} from '@kubernetes/client-node';
import { apiVersionOf, RENDERED_MIRROR_CONFIG, type Resource, served } from '../model/kinds.js';
import type { KubeObject } from '../model/source.js';
import { formatTime } from './conditions.js';
import type { ListFn, ListPage, WatchFn } from './informer.js';
import { ignoreNotFound, orUndefined, statusCode } from '../common/api-errors.js';
import { jsonPatchNodePool, type PatchNodePool } from './nodepool-config-ref.js';
import { ACCEPT_METADATA_ONLY, DirectRequests } from './direct-requests.js';

export type { ClusterObjectKind, Resource } from '../model/kinds.js';
export { apiVersionOf };

/** The resources the controller lists, watches and writes (rows of the table of kinds, src/model/kinds.ts). */
export const RESOURCES = {
  IDMS: served('IDMS'),
  ITMS: served('ITMS'),
  RegistryAccess: served('RegistryAccess'),
  RenderedMirrorConfig: RENDERED_MIRROR_CONFIG,
  HostedCluster: served('HostedCluster'),
  NodePool: served('NodePool'),
  ConfigMap: served('ConfigMap'),
  Secret: served('Secret'),
  /** Read only for the agents' mirror probe summaries (reachability.ts). */
  Node: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
} satisfies Record<string, Resource>;

/** URL path of a collection, e.g. `/apis/imagemirror.io/v1alpha1/imagedigestmirrorsets`. */
export function collectionPath(r: Resource, namespace?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return namespace ? `${base}/namespaces/${namespace}/${r.plural}` : `${base}/${r.plural}`;
}

export interface Selectors {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type WriteVerb = 'create' | 'update' | 'delete' | 'patch';

/** What a delete requires of the stored object (DeleteOptions.preconditions): the server answers 409 otherwise. */
export interface DeletePreconditions {
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

/** The writes the reconciler makes. Objects go to the API as given; errors carry `.code`. */
export interface Writer {
  /**
   * Output writes (ConfigMaps and Secrets) may answer with the stored object's metadata only (a PartialObjectMetadata,
   * see storedAfterWrite): a fleet-wide change would otherwise read every output back whole.
   */
  createConfigMap(cm: V1ConfigMap): Promise<V1ConfigMap>;
  replaceConfigMap(cm: V1ConfigMap): Promise<V1ConfigMap>;
  /** A 404 is no error; a precondition the stored object does not meet is a 409. */
  deleteConfigMap(namespace: string, name: string, preconditions?: DeletePreconditions): Promise<void>;
  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  createSecret(s: V1Secret): Promise<V1Secret>;
  replaceSecret(s: V1Secret): Promise<V1Secret>;
  deleteSecret(namespace: string, name: string, preconditions?: DeletePreconditions): Promise<void>;
  readSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  createCustom(r: Resource, obj: KubeObject): Promise<KubeObject>;
  /** PUT on the status subresource, with the resourceVersion in `obj`. */
  replaceStatus(r: Resource, obj: KubeObject): Promise<KubeObject>;
  deleteCustom(r: Resource, namespace: string | undefined, name: string): Promise<void>;
  /** Creates an Event; resolves to the name the server gave it. */
  createEvent(ev: CoreV1Event): Promise<string | undefined>;
  /** Counts a repeat of an Event (merge patch of count and lastTimestamp); 404 when it has expired. */
  patchEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void>;
  /** JSON patch of a NodePool's spec.config reference (nodepool-config-ref.ts); absent where nothing patches NodePools. */
  patchNodePool?: PatchNodePool;
}

/** The client-node clients of one kubeconfig. */
export class KubeApi {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly metadataWatcher: Watch;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kc);
    // Watch reads only getCurrentCluster and applyToFetchOptions of its KubeConfig.
    const metadataOnly = {
      getCurrentCluster: () => kc.getCurrentCluster(),
      applyToFetchOptions: async (opts: Parameters<KubeConfig['applyToFetchOptions']>[0]) => {
        const init = await kc.applyToFetchOptions(opts);
        (init.headers as { set(name: string, value: string): void }).set('Accept', ACCEPT_METADATA_ONLY);
        return init;
      },
    };
    this.metadataWatcher = new Watch(metadataOnly as unknown as KubeConfig);
  }

  readonly watch: WatchFn = (path, query, cb, done) => this.watcher.watch(path, query, cb, done);

  /**
   * A watch whose events carry each object's metadata only (`as=PartialObjectMetadata`): the output ConfigMaps'
   * watch (sources.ts), where every write of ours would otherwise come back whole (22 KB per output, parsed for the
   * resourceVersion that already tells the operator it is its own write).
   */
  readonly metadataWatch: WatchFn = (path, query, cb, done) => this.metadataWatcher.watch(path, query, cb, done);

  /** The stored ConfigMap, whole; undefined when it does not exist. */
  readonly readOutputConfigMap = async (namespace: string, name: string): Promise<KubeObject | undefined> => {
    const cm = await orUndefined(this.core.readNamespacedConfigMap({ namespace, name }));
    return cm && ({ ...cm, apiVersion: 'v1', kind: 'ConfigMap' } as KubeObject);
  };

  /** A list function for an informer; items get apiVersion and kind (lists leave them out). */
  lister(r: Resource, sel: Selectors): ListFn<KubeObject> {
    return async (page) => {
      const list = await this.rawList(r, sel, page);
      const items = (list.items ?? []) as Array<Partial<KubeObject>>;
      const apiVersion = apiVersionOf(r);
      // Typed lists (core) name the token `_continue`; custom object lists come back as JSON, where it is `continue`.
      const { continue: token, ...metadata } = (list.metadata ?? {}) as V1ListMeta & { continue?: string };
      return {
        ...list,
        metadata: token && !metadata._continue ? { ...metadata, _continue: token } : metadata,
        items: items.filter(hasName).map((i) => ({ ...i, apiVersion, kind: r.kind }) as KubeObject),
      };
    };
  }

  /** True when the API server serves `r` (its CRD is installed and established). */
  async serves(r: Resource): Promise<boolean> {
    try {
      const list = await this.custom.getAPIResources({ group: r.group, version: r.version });
      return list.resources.some((res) => res.name === r.plural);
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  private async rawList(r: Resource, sel: Selectors, page: ListPage | undefined): Promise<KubernetesListObject<object>> {
    const { namespace } = sel;
    // Only the selectors (and page) that are set (the request types take no explicit undefined).
    const selectors = {
      ...(sel.labelSelector ? { labelSelector: sel.labelSelector } : {}),
      ...(sel.fieldSelector ? { fieldSelector: sel.fieldSelector } : {}),
      ...(page ? { limit: page.limit } : {}),
      ...(page?.continue ? { _continue: page.continue } : {}),
    };
    if (r.group === '' && r.plural === 'configmaps') {
      return namespace ? this.core.listNamespacedConfigMap({ namespace, ...selectors }) : this.core.listConfigMapForAllNamespaces(selectors);
    }
    if (r.group === '' && r.plural === 'nodes') return this.core.listNode(selectors);
    if (r.group === '' && r.plural === 'secrets') {
      return namespace ? this.core.listNamespacedSecret({ namespace, ...selectors }) : this.core.listSecretForAllNamespaces(selectors);
    }
    const base = { group: r.group, version: r.version, plural: r.plural, ...selectors };
    const list = !r.namespaced
      ? await this.custom.listClusterCustomObject(base)
      : namespace
        ? await this.custom.listNamespacedCustomObject({ ...base, namespace })
        : await this.custom.listCustomObjectForAllNamespaces(base);
    return list as KubernetesListObject<object>;
  }
}

function hasName(o: Partial<KubeObject>): boolean {
  return typeof o.metadata?.name === 'string';
}

/** The real writer; `count` is called once per write attempt (for the API writes metric). */
export function apiWriter(api: KubeApi, count: (kind: string, verb: WriteVerb) => void): Writer {
  const { core, custom } = api;
  const ns = (o: { metadata?: { namespace?: string } }): string => o.metadata?.namespace ?? '';
  const nm = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';
  // Outputs go out through direct-requests.ts (every output is written on a fleet-wide change) and ask for the stored
  // metadata only in the answer: their data is what was sent (storedAfterWrite), and a 22 KB output read back on every
  // write cost the API server an encoding and the operator a parse, for nothing. Errors still come back as a Status.
  const direct = new DirectRequests(api.kc);
  const path = (plural: 'configmaps' | 'secrets', o: { metadata?: { namespace?: string; name?: string } }, named: boolean): string =>
    `/api/v1/namespaces/${encodeURIComponent(ns(o))}/${plural}${named ? `/${encodeURIComponent(nm(o))}` : ''}`;
  return {
    createConfigMap: (body) => counted(count, 'ConfigMap', 'create', () => direct.send<V1ConfigMap>('POST', path('configmaps', body, false), body, 'metadata')),
    replaceConfigMap: (body) => counted(count, 'ConfigMap', 'update', () => direct.send<V1ConfigMap>('PUT', path('configmaps', body, true), body, 'metadata')),
    deleteConfigMap: (namespace, name, pre) =>
      counted(count, 'ConfigMap', 'delete', () => ignoreNotFound(core.deleteNamespacedConfigMap({ namespace, name, ...deleteBody(pre) }))),
    readConfigMap: (namespace, name) => orUndefined(core.readNamespacedConfigMap({ namespace, name })),
    createSecret: (body) => counted(count, 'Secret', 'create', () => direct.send<V1Secret>('POST', path('secrets', body, false), body, 'metadata')),
    replaceSecret: (body) => counted(count, 'Secret', 'update', () => direct.send<V1Secret>('PUT', path('secrets', body, true), body, 'metadata')),
    deleteSecret: (namespace, name, pre) =>
      counted(count, 'Secret', 'delete', () => ignoreNotFound(core.deleteNamespacedSecret({ namespace, name, ...deleteBody(pre) }))),
    readSecret: (namespace, name) => orUndefined(core.readNamespacedSecret({ namespace, name })),
    createCustom: (r, body) =>
      counted(count, r.kind, 'create', async () => {
        const base = { group: r.group, version: r.version, plural: r.plural, body };
        const out = r.namespaced
          ? await custom.createNamespacedCustomObject({ ...base, namespace: body.metadata.namespace ?? '' })
          : await custom.createClusterCustomObject(base);
        return out as KubeObject;
      }),
    replaceStatus: (r, body) =>
      counted(count, `${r.kind}/status`, 'update', async () => {
        const base = { group: r.group, version: r.version, plural: r.plural, name: body.metadata.name, body };
        const out = r.namespaced
          ? await custom.replaceNamespacedCustomObjectStatus({ ...base, namespace: body.metadata.namespace ?? '' })
          : await custom.replaceClusterCustomObjectStatus(base);
        return out as KubeObject;
      }),
    deleteCustom: (r, namespace, name) =>
      counted(count, r.kind, 'delete', async () => {
        const base = { group: r.group, version: r.version, plural: r.plural, name };
        await ignoreNotFound(namespace ? custom.deleteNamespacedCustomObject({ ...base, namespace }) : custom.deleteClusterCustomObject(base));
      }),
    createEvent: (body) => counted(count, 'Event', 'create', async () => (await core.createNamespacedEvent({ namespace: ns(body), body })).metadata?.name),
    patchEventCount: (namespace, name, n, lastTimestamp) =>
      counted(count, 'Event', 'patch', async () => {
        await core.patchNamespacedEvent(
          { namespace, name, body: { count: n, lastTimestamp: formatTime(lastTimestamp) } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }),
    patchNodePool: (namespace, name, ops) => counted(count, 'NodePool', 'patch', () => jsonPatchNodePool(custom, namespace, name, ops)),
  };
}

function deleteBody(pre: DeletePreconditions | undefined): { body?: V1DeleteOptions } {
  const preconditions = {
    ...(pre?.uid ? { uid: pre.uid } : {}),
    ...(pre?.resourceVersion ? { resourceVersion: pre.resourceVersion } : {}),
  };
  return Object.keys(preconditions).length > 0 ? { body: { preconditions } } : {};
}

async function counted<T>(count: (kind: string, verb: WriteVerb) => void, kind: string, verb: WriteVerb, fn: () => Promise<T>): Promise<T> {
  count(kind, verb);
  return fn();
}
