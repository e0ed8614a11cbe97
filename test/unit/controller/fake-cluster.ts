// An in-memory stand-in for the API server and the caches, for reconcile and
// controller unit tests: objects by kind/namespace/name, resourceVersion
// checks on update (409 on a stale one, 409 on create of an existing
// object), list and watch with the selectors the controller uses, and a log
// of every write. The e2e tests prove the same code on the real server.
import type { CoreV1Event, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { OUTPUT_LABEL } from '../../../src/contract.js';
import type { KubeObject, NamespacedKind, Reference } from '../../../src/model/source.js';
import { type DeletePreconditions, RESOURCES, type Resource, type Selectors, type Writer } from '../../../src/controller/kube.js';
import type { ListFn, WatchFn } from '../../../src/controller/informer.js';
import { toEvent } from '../../../src/controller/events.js';
import { silentLogger } from '../../../src/controller/log.js';
import type { ReconcileDeps, TargetSources } from '../../../src/controller/reconcile.js';
import type { InformerApi, WrittenKind } from '../../../src/controller/sources.js';

export interface Write {
  verb: 'create' | 'update' | 'delete';
  kind: string;
  namespace: string;
  name: string;
}

function apiError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}

const CLUSTER_KINDS = new Set(['ImageDigestMirrorSet', 'ImageTagMirrorSet', 'RegistryAccess']);

interface Watcher {
  kind: string;
  namespace: string | undefined;
  label: string | undefined;
  field: string | undefined;
  cb: (phase: string, obj: unknown) => void;
}

/** `key`, `!key` or nothing; `metadata.name=x` or nothing: the selectors the controller sends. */
function selected(o: KubeObject, label: string | undefined, field: string | undefined): boolean {
  const labels = o.metadata.labels ?? {};
  if (label?.startsWith('!') && Object.hasOwn(labels, label.slice(1))) return false;
  if (label && !label.startsWith('!') && !Object.hasOwn(labels, label)) return false;
  return !field || field === `metadata.name=${o.metadata.name}`;
}

const KIND_OF_PLURAL = new Map(Object.values(RESOURCES).map((r) => [r.plural, r.kind]));

export class FakeCluster implements Writer, TargetSources, InformerApi {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: Write[] = [];
  readonly events: CoreV1Event[] = [];
  /** While set, the output caches answer "not found" (a cache that lags behind the server). */
  cacheLag = false;
  /** Objects (`key()`) the input lookups answer "not found" for (no cache watches them yet). */
  readonly uncached = new Set<string>();
  private rv = 100;
  private uid = 0;

  key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}/${namespace ?? ''}/${name}`;
  }

  private watchers: Watcher[] = [];

  /** InformerApi: lists by kind, namespace and selectors. */
  lister(r: Resource, sel: Selectors): ListFn<KubeObject> {
    return async () => {
      const items = [...this.objects.values()].filter(
        (o) => o.kind === r.kind && (!sel.namespace || o.metadata.namespace === sel.namespace) && selected(o, sel.labelSelector, sel.fieldSelector),
      );
      return { metadata: { resourceVersion: String(this.rv) }, items: structuredClone(items) };
    };
  }

  /** InformerApi: a watch from now on (the fake keeps no history, so resourceVersions are not checked). */
  readonly watch: WatchFn = async (path, query, cb) => {
    const m = /^\/apis?\/(?:[^/]+\/)?[^/]+(?:\/namespaces\/([^/]+))?\/([^/]+)$/.exec(path);
    const ctl = new AbortController();
    const kind = m?.[2] ? KIND_OF_PLURAL.get(m[2]) : undefined;
    if (!m || !kind) throw new Error(`fake watch: unknown path ${path}`);
    const w: Watcher = { kind, namespace: m[1], label: query.labelSelector as string | undefined, field: query.fieldSelector as string | undefined, cb };
    this.watchers.push(w);
    ctl.signal.addEventListener('abort', () => (this.watchers = this.watchers.filter((x) => x !== w)));
    return ctl;
  };

  private notify(phase: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeObject): void {
    for (const w of this.watchers) {
      if (w.kind === o.kind && (!w.namespace || w.namespace === o.metadata.namespace) && selected(o, w.label, w.field)) w.cb(phase, structuredClone(o));
    }
  }

  /** Seeds or edits an object without recording a write (a user's change). */
  put(obj: KubeObject): KubeObject {
    const prev = this.objects.get(this.key(obj.kind, obj.metadata.namespace, obj.metadata.name));
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    stored.metadata.uid = prev?.metadata.uid ?? obj.metadata.uid ?? `uid-${++this.uid}`;
    stored.metadata.generation = obj.metadata.generation ?? (prev ? (prev.metadata.generation ?? 1) + 1 : 1);
    this.objects.set(this.key(obj.kind, obj.metadata.namespace, obj.metadata.name), stored);
    this.notify(prev ? 'MODIFIED' : 'ADDED', stored);
    return structuredClone(stored);
  }

  /** A user's edit of an existing object: spec changes bump the generation. */
  edit(kind: string, namespace: string | undefined, name: string, mutate: (o: KubeObject) => void): KubeObject {
    const o = this.find(kind, namespace, name);
    if (!o) throw new Error(`${kind} ${namespace}/${name} not found`);
    mutate(o);
    o.metadata.generation = (o.metadata.generation ?? 1) + 1;
    return this.put(o);
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    const o = this.objects.get(this.key(kind, namespace, name));
    this.objects.delete(this.key(kind, namespace, name));
    if (o) this.notify('DELETED', o);
  }

  find(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(kind, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  writesSince(n: number): Write[] {
    return this.writes.slice(n);
  }

  // ---------------------------------------------------------------- TargetSources

  clusterScoped(): readonly KubeObject[] {
    return [...this.objects.values()].filter((o) => CLUSTER_KINDS.has(o.kind));
  }

  get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined {
    if (this.uncached.has(this.key(kind, namespace, name))) return undefined;
    return this.find(kind, namespace, name);
  }

  async ensure(_refs: readonly Reference[]): Promise<boolean> {
    return false;
  }

  /** Writes the reconciler reported to the caches (lookups here are never stale, so only recorded). */
  readonly recorded: Array<{ kind: WrittenKind; name: string; before: string | undefined; after: string | undefined }> = [];
  recordWrite(kind: WrittenKind, _namespace: string, name: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    this.recorded.push({ kind, name, before: before?.metadata.resourceVersion, after: after?.metadata.resourceVersion });
  }

  outputConfigMap(namespace: string, name: string): KubeObject | undefined {
    return this.output('ConfigMap', namespace, name);
  }

  outputSecret(namespace: string, name: string): KubeObject | undefined {
    return this.output('Secret', namespace, name);
  }

  status(namespace: string, name: string): KubeObject | undefined {
    return this.find('RenderedMirrorConfig', namespace, name);
  }

  private output(kind: string, namespace: string, name: string): KubeObject | undefined {
    if (this.cacheLag) return undefined;
    const o = this.find(kind, namespace, name);
    return o && o.metadata.labels?.[OUTPUT_LABEL] !== undefined ? o : undefined;
  }

  // ---------------------------------------------------------------- Writer

  async createConfigMap(cm: V1ConfigMap): Promise<V1ConfigMap> {
    return this.create(cm as unknown as KubeObject, 'ConfigMap') as unknown as V1ConfigMap;
  }
  async replaceConfigMap(cm: V1ConfigMap): Promise<V1ConfigMap> {
    return this.replace(cm as unknown as KubeObject, 'ConfigMap', false) as unknown as V1ConfigMap;
  }
  async deleteConfigMap(namespace: string, name: string, pre?: DeletePreconditions): Promise<void> {
    this.del('ConfigMap', namespace, name, pre);
  }
  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.find('ConfigMap', namespace, name) as unknown as V1ConfigMap | undefined;
  }
  async createSecret(s: V1Secret): Promise<V1Secret> {
    return this.create(s as unknown as KubeObject, 'Secret') as unknown as V1Secret;
  }
  async replaceSecret(s: V1Secret): Promise<V1Secret> {
    return this.replace(s as unknown as KubeObject, 'Secret', false) as unknown as V1Secret;
  }
  async deleteSecret(namespace: string, name: string, pre?: DeletePreconditions): Promise<void> {
    this.del('Secret', namespace, name, pre);
  }
  async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.find('Secret', namespace, name) as unknown as V1Secret | undefined;
  }
  async createCustom(r: Resource, obj: KubeObject): Promise<KubeObject> {
    return this.create(obj, r.kind);
  }
  async replaceStatus(r: Resource, obj: KubeObject): Promise<KubeObject> {
    return this.replace(obj, r.kind, true);
  }
  async deleteCustom(r: Resource, namespace: string | undefined, name: string): Promise<void> {
    this.del(r.kind, namespace ?? '', name);
  }
  async createEvent(ev: CoreV1Event): Promise<string> {
    const stored = structuredClone(ev);
    stored.metadata = { ...stored.metadata, name: `${stored.metadata?.generateName ?? ''}${this.events.length}` };
    this.events.push(stored);
    return stored.metadata.name as string;
  }

  /** Events the API server dropped (expired): a count patch of one of them answers 404. */
  readonly expiredEvents = new Set<string>();

  async patchEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void> {
    const ev = this.events.find((e) => e.metadata?.namespace === namespace && e.metadata.name === name);
    if (!ev || this.expiredEvents.has(name)) throw apiError(404, `events "${name}" not found`);
    ev.count = count;
    ev.lastTimestamp = lastTimestamp;
  }

  private create(obj: KubeObject, kind: string): KubeObject {
    const key = this.key(kind, obj.metadata.namespace, obj.metadata.name);
    this.writes.push({ verb: 'create', kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name });
    if (this.objects.has(key)) throw apiError(409, `${kind} ${obj.metadata.name} already exists`);
    // The status subresource ignores status on create, as the API server does.
    const { status: _status, ...rest } = obj;
    return this.put({ ...rest, kind, metadata: { ...obj.metadata, generation: 1 } } as KubeObject);
  }

  private replace(obj: KubeObject, kind: string, statusOnly: boolean): KubeObject {
    const key = this.key(kind, obj.metadata.namespace, obj.metadata.name);
    this.writes.push({ verb: 'update', kind: statusOnly ? `${kind}/status` : kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name });
    const cur = this.objects.get(key);
    if (!cur) throw apiError(404, `${kind} ${obj.metadata.name} not found`);
    if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw apiError(409, `${kind} ${obj.metadata.name}: stale resourceVersion`);
    const next = statusOnly ? { ...cur, status: structuredClone(obj.status) } : { ...structuredClone(obj), kind };
    return this.put({ ...next, metadata: { ...next.metadata, generation: cur.metadata.generation } } as KubeObject);
  }

  /** As the API server: a precondition the stored object does not meet is a 409, a missing object no error (the writer ignores 404). */
  private del(kind: string, namespace: string, name: string, pre?: DeletePreconditions): void {
    this.writes.push({ verb: 'delete', kind, namespace, name });
    const cur = this.objects.get(this.key(kind, namespace, name));
    if (cur && pre?.uid && pre.uid !== cur.metadata.uid) throw apiError(409, `${kind} ${name}: precondition failed: uid`);
    if (cur && pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw apiError(409, `${kind} ${name}: precondition failed: resourceVersion`);
    }
    this.remove(kind, namespace, name);
  }
}

/** Reconcile deps over `c` with a settable clock; Events go into `c` as the API server would store them. */
export function deps(c: FakeCluster, t0 = Date.parse('2030-01-01T00:00:00Z')): ReconcileDeps & { clock: { t: number } } {
  const clock = { t: t0 };
  return {
    clock,
    sources: c,
    writer: c,
    operatorNamespace: 'image-mirror-system',
    logger: silentLogger(),
    now: () => new Date(clock.t),
    emit: async (e) => void (await c.createEvent(toEvent(e, 'test', new Date(clock.t)))),
  };
}
