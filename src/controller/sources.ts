// An ObjectSource over informer caches, caching only what targets use
// (docs/adr/0001-referenced-object-caches.md):
// - our cluster-scoped IDMS/ITMS/RegistryAccess, and HostedClusters and
//   NodePools when HyperShift's CRDs are served: whole collections;
// - ConfigMaps, namespace-wide but only in namespaces that hold
//   HostedClusters/NodePools (plus the operator namespace), and only once a
//   target references one there; our own outputs are excluded by label;
// - any other referenced ConfigMap, and every referenced Secret: one watch
//   per object (field selector metadata.name), started on first reference,
//   stopped when nothing references it any more;
// - our outputs (by label) and RenderedMirrorConfigs, to compare before writing.
import { Interner } from '../common/interner.js';
import { MIRROR_PROBES_ANNOTATION, NODEPOOL_LABEL, OUTPUT_LABEL } from '../contract.js';
import { CLUSTER_OBJECT_KINDS } from '../model/kinds.js';
import type { KubeObject, NamespacedKind, ObjectSource, Reference, Target } from '../model/source.js';
import { Informer, RetryGroup, type Backoff, type EventType, type ListFn, type WatchFn } from './informer.js';
import { RESOURCES, collectionPath, type ClusterObjectKind, type Resource, type Selectors } from './kube.js';
import { errorFields, type Logger } from './log.js';
import { configRefFingerprint } from './nodepool-config-ref.js';
import { deliveryFingerprint, withConfigHash } from './nodepool-delivery.js';
import { digested, type DigestedOutput, isPartialObjectMetadata, sameData } from './outputs.js';
import { type NodeReport, nodeBelongsTo, nodeReportOf } from './reachability.js';

/** What the informers need from the API (KubeApi in production, a fake in unit tests). */
export interface InformerApi {
  lister(r: Resource, sel: Selectors): ListFn<KubeObject>;
  watch: WatchFn;
  /**
   * A watch whose events carry the objects' metadata only (PartialObjectMetadata), with a read of the whole object:
   * the output ConfigMaps are watched so when both are given (dataUnknown, readBack).
   */
  metadataWatch?: WatchFn;
  readOutputConfigMap?: (namespace: string, name: string) => Promise<KubeObject | undefined>;
}

/** contentDigest of an output known by its metadata only: it equals no digest, so a pass that sees it writes. */
export const DATA_UNKNOWN = 'unknown';

/** See SourcesOptions.readBackDelayMs. */
export const READ_BACK_DELAY_MS = 500;

function isDataUnknown(o: KubeObject): boolean {
  return (o as Partial<DigestedOutput>).contentDigest === DATA_UNKNOWN;
}

/** Kinds whose writes are remembered until the cache shows them. */
/** References whose caches could not be filled (RBAC forbids reading them, or the API is slow). */
export class CachesNotFilled extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly unread: ReadonlyArray<{ ref: Reference; why: string }>,
  ) {
    super(`caches not filled within ${timeoutMs} ms: ${unread.map((u) => `${u.ref.kind} ${u.ref.namespace}/${u.ref.name} (${u.why})`).join(', ')}`);
  }
}

export type WrittenKind = 'ConfigMap' | 'Secret' | 'RenderedMirrorConfig';

/** A change the controller may have to react to. */
export type SourceEvent =
  | { type: 'input'; kind: NamespacedKind; namespace: string; name: string }
  /**
   * `obj` as it is now (as it was, for a delete) and `previous`, the version forwarded before (none for
   * an add): their selectors say which targets the change can affect.
   */
  | { type: 'clusterObject'; kind: ClusterObjectKind; event: EventType; obj: KubeObject; previous: KubeObject | undefined }
  | { type: 'output'; kind: 'ConfigMap' | 'Secret'; event: EventType; obj: KubeObject }
  | { type: 'status'; event: EventType; obj: KubeObject }
  /** A Node's probe summary or NodePool label changed (before and after: either may name a target). */
  | { type: 'node'; now: NodeReport | undefined; before: NodeReport | undefined };

export interface SourcesOptions {
  api: InformerApi;
  operatorNamespace: string;
  /** HostedCluster and NodePool CRDs are served. */
  hypershift: boolean;
  logger: Logger;
  onEvent: (e: SourceEvent) => void;
  backoff?: Partial<Backoff>;
  /**
   * How long a metadata-only event of an output that is not a write of ours waits before the output is read back
   * (default READ_BACK_DELAY_MS): the event of a write can come before the write's answer, which then tells it.
   */
  readBackDelayMs?: number;
  /** How long `ensure` waits for a new cache to fill. */
  syncTimeoutMs?: number;
}

export class ClusterSources implements ObjectSource {
  private readonly cluster = new Map<ClusterObjectKind, Informer<KubeObject>>();
  private readonly hostedClusters: Informer<KubeObject> | undefined;
  private readonly nodePoolInformer: Informer<KubeObject> | undefined;
  private readonly outputConfigMaps: Informer<KubeObject>;
  private readonly outputSecrets: Informer<KubeObject>;
  private readonly statuses: Informer<KubeObject>;
  /** Nodes, reduced to what the reachability aggregation reads; not needed to start (RBAC may forbid it). */
  private readonly nodes: Informer<KubeObject>;
  /** ConfigMaps of one namespace, by namespace. */
  private readonly namespaceConfigMaps = new Map<string, Informer<KubeObject>>();
  /** One object each, by `Kind/namespace/name`. */
  private readonly objectWatches = new Map<string, Informer<KubeObject>>();
  private started = false;
  /** Every cache retries together once the API server is back (informer.ts). */
  private readonly retries = new RetryGroup();
  /** Our recent writes the caches may not show yet, by `Kind/namespace/name`. */
  private readonly written = new Map<string, { fromVersion: string; obj: KubeObject | undefined; data?: Readonly<Record<string, string>> }>();
  /** Status lists (warnings, contributors) equal across RenderedMirrorConfigs, kept once. */
  private readonly statusLists = new Interner<unknown[]>();
  /** Read-backs waiting for their delay (readBackDelayMs); cleared at stop. */
  private readonly readBacks = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly opts: SourcesOptions) {
    for (const kind of CLUSTER_OBJECT_KINDS) {
      const inf = this.informer(RESOURCES[kind], {}, `${RESOURCES[kind].plural}`);
      // Status writes (ours) do not change the generation: only spec changes count.
      const forwarded = new Map<string, KubeObject>();
      this.onChange(inf, generationOf, (event, o) => {
        const previous = forwarded.get(o.metadata.name);
        if (event === 'delete') forwarded.delete(o.metadata.name);
        else forwarded.set(o.metadata.name, o);
        opts.onEvent({ type: 'clusterObject', kind, event, obj: o, previous });
      });
      this.cluster.set(kind, inf);
    }
    if (opts.hypershift) {
      this.hostedClusters = this.informer(RESOURCES.HostedCluster, {}, 'hostedclusters');
      this.onChange(this.hostedClusters, generationOf, (_e, o) => this.emitInput('HostedCluster', o));
      this.nodePoolInformer = this.informer(RESOURCES.NodePool, {}, 'nodepools');
      // Labels matter too: they decide which nodePoolSelectors select the NodePool; so do the spec.config opt-in
      // annotation and what decides delivery (our annotations, HyperShift's config conditions).
      this.onChange(
        this.nodePoolInformer,
        (o) => `${generationOf(o)}|${JSON.stringify(o.metadata.labels ?? {})}|${configRefFingerprint(o)}|${deliveryFingerprint(o)}`,
        (_e, o) => this.emitInput('NodePool', o),
      );
    }
    const outputs = { labelSelector: OUTPUT_LABEL };
    // Outputs are compared: their caches keep a digest of the data (outputs.ts), not the data. The output ConfigMaps'
    // watch is metadata-only where the API gives one: a change that is not ours is read back once (readBack).
    // NodePool outputs also keep the hash of their `config` key: a change of it rolls the NodePool (config-gate.ts).
    // The watch event of a write of ours is the object that write returned (same resourceVersion): its digest is known.
    const { metadataWatch, readOutputConfigMap } = opts.api;
    const metadataOnly = metadataWatch !== undefined && readOutputConfigMap !== undefined;
    this.outputConfigMaps = this.informer(
      RESOURCES.ConfigMap,
      outputs,
      'configmaps (outputs)',
      (o) => this.ownWrite('ConfigMap', o) ?? (isPartialObjectMetadata(o) ? this.dataUnknown(o) : withConfigHash(digested('ConfigMap', o), o)),
      metadataOnly ? metadataWatch : undefined,
    );
    this.outputSecrets = this.informer(RESOURCES.Secret, outputs, 'secrets (outputs)', (o) => this.ownWrite('Secret', o) ?? digested('Secret', o));
    this.statuses = this.informer(
      RESOURCES.RenderedMirrorConfig,
      {},
      'renderedmirrorconfigs',
      (o) => this.ownWrite('RenderedMirrorConfig', o) ?? this.compactStatus(o),
    );
    this.forward(this.outputConfigMaps, (event, obj) => {
      this.settle('ConfigMap', obj);
      if (event !== 'delete' && isDataUnknown(obj) && readOutputConfigMap) {
        const later = setTimeout(() => {
          this.readBacks.delete(later);
          void this.readBack(readOutputConfigMap, obj).then((known) => {
            if (known && this.started) opts.onEvent({ type: 'output', kind: 'ConfigMap', event, obj: known });
          });
        }, opts.readBackDelayMs ?? READ_BACK_DELAY_MS);
        later.unref?.();
        this.readBacks.add(later);
        return;
      }
      opts.onEvent({ type: 'output', kind: 'ConfigMap', event, obj });
    });
    this.forward(this.outputSecrets, (event, obj) => {
      this.settle('Secret', obj);
      opts.onEvent({ type: 'output', kind: 'Secret', event, obj });
    });
    this.forward(this.statuses, (event, obj) => {
      this.settle('RenderedMirrorConfig', obj);
      opts.onEvent({ type: 'status', event, obj });
    });
    // Kubelets update their Node often; only a change of the label or the summary is forwarded.
    this.nodes = this.informer(RESOURCES.Node, {}, 'nodes', reducedNode);
    const reported = new Map<string, NodeReport>();
    this.forward(this.nodes, (event, obj) => {
      const now = event === 'delete' ? undefined : nodeReportOf(obj);
      const before = reported.get(obj.metadata.name);
      if (now && before && now.pool === before.pool && now.summary === before.summary) return;
      if (now) reported.set(obj.metadata.name, now);
      else reported.delete(obj.metadata.name);
      opts.onEvent({ type: 'node', now, before });
    });
  }

  get hypershift(): boolean {
    return this.opts.hypershift;
  }

  start(): void {
    this.started = true;
    for (const inf of this.baseInformers()) inf.start();
    this.nodes.start();
  }

  /** Passes waiting for a cache to fill stop waiting (shutdown: such a cache may never fill, e.g. forbidden). */
  cancelWaits(): void {
    const all = [...this.baseInformers(), ...this.namespaceConfigMaps.values(), ...this.objectWatches.values()];
    for (const inf of all) inf.settleWaiters();
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const t of this.readBacks) clearTimeout(t);
    this.readBacks.clear();
    const all = [...this.baseInformers(), this.nodes, ...this.namespaceConfigMaps.values(), ...this.objectWatches.values()];
    await Promise.all(all.map((i) => i.stop()));
  }

  /** The always-on caches have been filled once. */
  hasSynced(): boolean {
    return this.baseInformers().every((i) => i.hasSynced());
  }

  async waitForSync(timeoutMs: number): Promise<boolean> {
    // The Node cache is waited for too, unless listing Nodes is refused: a first pass without it would
    // write every status a second time once it fills (mirrorReachability), a write no input asked for.
    const [results] = await Promise.all([
      Promise.all(this.baseInformers().map((i) => i.waitForSync(timeoutMs))),
      this.nodes.waitForSync(timeoutMs, { untilRefused: true }),
    ]);
    return results.every(Boolean);
  }

  // ---------------------------------------------------------------- ObjectSource

  clusterScoped(): readonly KubeObject[] {
    return CLUSTER_OBJECT_KINDS.flatMap((k) => this.clusterObjects(k));
  }

  get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined {
    switch (kind) {
      case 'HostedCluster':
        return this.hostedClusters?.get(name, namespace);
      case 'NodePool':
        return this.nodePoolInformer?.get(name, namespace);
      case 'ConfigMap': {
        // Our outputs are cached apart (the input caches exclude them), but a NodePool may list an
        // output in spec.config (its own is hidden by the pipeline; another NodePool's is not): answer
        // with it, labelled as it is, so that gather skips it instead of reporting it missing.
        const output = this.outputConfigMap(namespace, name);
        if (output) return output;
        const nsWide = this.namespaceConfigMaps.get(namespace);
        if (nsWide?.hasSynced()) return nsWide.get(name, namespace);
        return this.objectWatches.get(refKey({ kind, namespace, name }))?.get(name, namespace);
      }
      case 'Secret':
        return this.objectWatches.get(refKey({ kind, namespace, name }))?.get(name, namespace);
    }
  }

  // ---------------------------------------------------------------- other lookups

  clusterObjects(kind: ClusterObjectKind): readonly KubeObject[] {
    return this.cluster.get(kind)?.list() ?? [];
  }

  clusterObject(kind: ClusterObjectKind, name: string): KubeObject | undefined {
    return this.cluster.get(kind)?.get(name);
  }

  /**
   * The Nodes as the reachability aggregation sees them; undefined until
   * their cache filled (or when listing Nodes is refused: the status then
   * says nothing about reachability rather than "no nodes").
   */
  nodeReports(target: Target): readonly NodeReport[] | undefined {
    if (!this.nodes.hasSynced()) return undefined;
    return this.nodes
      .list()
      .map(nodeReportOf)
      .filter((n) => nodeBelongsTo(n, target));
  }

  nodePools(): readonly KubeObject[] {
    return this.nodePoolInformer?.list() ?? [];
  }

  outputConfigMap(namespace: string, name: string): KubeObject | undefined {
    return this.overlay('ConfigMap', namespace, name, this.outputConfigMaps.get(name, namespace));
  }

  outputSecret(namespace: string, name: string): KubeObject | undefined {
    return this.overlay('Secret', namespace, name, this.outputSecrets.get(name, namespace));
  }

  allOutputs(): readonly KubeObject[] {
    return [...this.outputConfigMaps.list(), ...this.outputSecrets.list()];
  }

  status(namespace: string, name: string): KubeObject | undefined {
    return this.overlay('RenderedMirrorConfig', namespace, name, this.statuses.get(name, namespace));
  }

  /**
   * Remembers a write of ours until the cache shows it (client-go's mutation
   * cache). A pass that runs before the watch event arrives then compares
   * against, and updates from, what was written rather than the older cached
   * object: otherwise it would write again with a stale resourceVersion and
   * get a conflict. `before` is the object the write replaced (undefined for
   * a create), `after` what the API returned (undefined for a delete).
   */
  recordWrite(kind: WrittenKind, namespace: string, name: string, before: KubeObject | undefined, after: KubeObject | undefined): void {
    const cached = (o: KubeObject): KubeObject =>
      kind === 'RenderedMirrorConfig' ? this.compactStatus(o) : kind === 'ConfigMap' ? withConfigHash(digested(kind, o), o) : digested(kind, o);
    const obj = after && cached(stripManagedFields(after));
    const data = kind === 'RenderedMirrorConfig' ? undefined : (after?.data as Record<string, string> | undefined);
    this.written.set(`${kind}/${namespace}/${name}`, { fromVersion: before?.metadata.resourceVersion ?? '', obj, ...(data ? { data } : {}) });
  }

  /**
   * Drops a remembered write as soon as the cache has caught up with it, not
   * only at the next pass of its target: each one holds a whole output, so
   * after a fleet-wide change they would otherwise double the memory for
   * outputs until every target ran again.
   */
  private settle(kind: WrittenKind, obj: KubeObject): void {
    const { namespace = '', name } = obj.metadata;
    const cache = kind === 'ConfigMap' ? this.outputConfigMaps : kind === 'Secret' ? this.outputSecrets : this.statuses;
    this.overlay(kind, namespace, name, cache.get(name, namespace));
  }

  /**
   * Our remembered write of `o`'s object when `o` is that very version (watch events of our own writes), as the cache
   * keeps it. An output whose stored data is not what we sent (an admission webhook changed it) is digested anew.
   */
  private ownWrite(kind: WrittenKind, o: KubeObject): KubeObject | undefined {
    const rv = o.metadata.resourceVersion;
    const w = rv ? this.written.get(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`) : undefined;
    if (!w?.obj || w.obj.metadata.resourceVersion !== rv) return undefined;
    const data = o.data as Record<string, unknown> | undefined;
    if (w.data && data !== undefined && (o.binaryData !== undefined || !sameData(data, w.data))) return undefined;
    return w.obj;
  }

  /**
   * An output ConfigMap from a metadata-only watch event that is not one of our writes (someone else changed it, or a
   * write of ours the operator no longer remembers): its data is unknown until it is read back. The cache keeps it
   * with DATA_UNKNOWN (a pass that meets it before the read writes the output again: a repair if the data changed, a
   * no-op for the API server if not) and the `config` hash the cache had (the NodePool config gate decides as a moment
   * before; the read brings the stored one).
   */
  private dataUnknown(o: KubeObject): KubeObject {
    const { namespace = '', name } = o.metadata;
    const before = this.outputConfigMaps?.get(name, namespace) as { configHash?: unknown } | undefined;
    const configHash = typeof before?.configHash === 'string' ? { configHash: before.configHash } : {};
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: o.metadata, contentDigest: DATA_UNKNOWN, ...configHash } as KubeObject;
  }

  /**
   * Reads a changed output ConfigMap whole and remembers it digested over the cached version it was read for (as our
   * writes are, until the cache moves on); its target's pass then compares with the stored data. What the read cannot
   * tell (gone meanwhile: the delete event follows; an error) leaves the cached DATA_UNKNOWN in place.
   */
  private async readBack(read: (namespace: string, name: string) => Promise<KubeObject | undefined>, obj: KubeObject): Promise<KubeObject | undefined> {
    const { namespace = '', name, resourceVersion = '' } = obj.metadata;
    const key = `ConfigMap/${namespace}/${name}`;
    // The cache has moved on: the newer version's event does what is needed.
    if (this.outputConfigMaps.get(name, namespace)?.metadata.resourceVersion !== resourceVersion) return undefined;
    // Our write of this very version, whose answer came after its watch event: nothing to read.
    const ours = this.written.get(key)?.obj;
    if (ours?.metadata.resourceVersion === resourceVersion) return ours;
    try {
      const full = await read(namespace, name);
      if (!full) return obj;
      const known = withConfigHash(digested('ConfigMap', stripManagedFields(full)), full);
      // A write of ours since the event (or a newer read) knows better.
      const cached = this.outputConfigMaps.get(name, namespace);
      if (!this.written.has(key) && cached?.metadata.resourceVersion === resourceVersion) {
        this.written.set(key, { fromVersion: resourceVersion, obj: known });
      }
      return known;
    } catch (err) {
      this.opts.logger.warn({ configMap: `${namespace}/${name}`, ...errorFields(err) }, 'cannot read back a changed output ConfigMap; its next pass writes it');
      return obj;
    }
  }

  /** Writes remembered until the cache shows them (memory checks). */
  pendingWrites(): number {
    return this.written.size;
  }

  /** The cached object, or our write when the cache still shows the object that write replaced. */
  private overlay(kind: WrittenKind, namespace: string, name: string, cached: KubeObject | undefined): KubeObject | undefined {
    const key = `${kind}/${namespace}/${name}`;
    const w = this.written.get(key);
    if (!w) return cached;
    if ((cached?.metadata.resourceVersion ?? '') === w.fromVersion) return w.obj;
    // A metadata-only event of our own write that came before the write's answer: the write knows the data.
    // It stands for that version from now on (not for the one it replaced: after a delete, that would bring it back).
    if (cached && isDataUnknown(cached) && w.obj?.metadata.resourceVersion === cached.metadata.resourceVersion) {
      this.written.set(key, { ...w, fromVersion: cached.metadata.resourceVersion ?? '' });
      return w.obj;
    }
    // The cache has caught up (or someone wrote after us): it is the truth again.
    this.written.delete(key);
    return cached;
  }

  /** Every RenderedMirrorConfig, with our writes the cache does not show yet (creates included, deletes left out). */
  allStatuses(): readonly KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.statuses.list()) {
      const seen = this.status(o.metadata.namespace ?? '', o.metadata.name);
      if (seen) out.push(seen);
    }
    for (const [key, w] of this.written) {
      const [kind, namespace = '', name = ''] = key.split('/');
      if (kind === 'RenderedMirrorConfig' && w.obj && !this.statuses.get(name, namespace)) out.push(w.obj);
    }
    return out;
  }

  /** Open watches by kind of cache, for logs and docs. */
  watchCounts(): { base: number; namespaces: number; objects: number } {
    return { base: this.baseInformers().length, namespaces: this.namespaceConfigMaps.size, objects: this.objectWatches.size };
  }

  // ---------------------------------------------------------------- referenced objects

  /**
   * Makes sure every referenced ConfigMap/Secret is cached, starting caches
   * as needed and waiting for them to fill. Resolves true when it had to wait
   * (the caller renders again: what it read before was incomplete), and
   * throws when a cache does not fill in time or its list is refused (the
   * caller reports it and retries later).
   */
  async ensure(refs: readonly Reference[]): Promise<boolean> {
    const waiting = new Map<Informer<KubeObject>, Reference[]>();
    for (const ref of refs) {
      const inf = this.cacheFor(ref);
      if (inf && !inf.hasSynced()) waiting.set(inf, [...(waiting.get(inf) ?? []), ref]);
    }
    if (waiting.size === 0) return false;
    const timeout = this.opts.syncTimeoutMs ?? 10_000;
    // A refused list (RBAC, say) ends the wait at once: the pass reports it instead of holding a worker.
    const results = await Promise.all([...waiting].map(async ([i, forRefs]) => ({ i, forRefs, ok: await i.waitForSync(timeout, { untilRefused: true }) })));
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new CachesNotFilled(
        timeout,
        failed.flatMap((r) => r.forRefs.map((ref) => ({ ref, why: r.i.lastError() ?? `nothing listed within ${timeout} ms` }))),
      );
    }
    return true;
  }

  /**
   * Stops caches nothing needs any more: per-object watches no target
   * references (or whose namespace is now cached whole), namespace caches
   * of namespaces that no longer hold HostedClusters/NodePools.
   */
  async collectGarbage(isReferenced: (ref: Reference) => boolean): Promise<number> {
    const stops: Promise<void>[] = [];
    for (const [key, inf] of this.objectWatches) {
      const ref = parseRefKey(key);
      const coveredByNamespace = ref.kind === 'ConfigMap' && this.namespaceConfigMaps.get(ref.namespace)?.hasSynced() === true;
      if (isReferenced(ref) && !coveredByNamespace) continue;
      this.objectWatches.delete(key);
      stops.push(inf.stop());
    }
    for (const [ns, inf] of this.namespaceConfigMaps) {
      if (this.namespaceWide(ns)) continue;
      this.namespaceConfigMaps.delete(ns);
      stops.push(inf.stop());
    }
    await Promise.all(stops);
    return stops.length;
  }

  /** The cache serving a reference, started if it was not; undefined for kinds always cached. */
  private cacheFor(ref: Reference): Informer<KubeObject> | undefined {
    if (ref.kind === 'HostedCluster' || ref.kind === 'NodePool') return undefined;
    if (ref.kind === 'ConfigMap' && this.namespaceWide(ref.namespace)) return this.namespaceCache(ref.namespace);
    return this.objectCache(ref);
  }

  /** Namespaces whose ConfigMaps are cached whole: few of them, each referenced by many targets. */
  private namespaceWide(ns: string): boolean {
    if (ns === this.opts.operatorNamespace) return true;
    return (this.hostedClusters?.list(ns).length ?? 0) > 0 || (this.nodePoolInformer?.list(ns).length ?? 0) > 0;
  }

  private namespaceCache(ns: string): Informer<KubeObject> {
    let inf = this.namespaceConfigMaps.get(ns);
    if (inf) return inf;
    // Outputs are never inputs (shared contract): the server filters them out.
    inf = this.informer(RESOURCES.ConfigMap, { namespace: ns, labelSelector: `!${OUTPUT_LABEL}` }, `configmaps ns=${ns}`);
    this.forward(inf, (_e, o) => this.emitInput('ConfigMap', o));
    this.namespaceConfigMaps.set(ns, inf);
    if (this.started) inf.start();
    return inf;
  }

  private objectCache(ref: Reference): Informer<KubeObject> {
    const key = refKey(ref);
    let inf = this.objectWatches.get(key);
    if (inf) return inf;
    const r = ref.kind === 'Secret' ? RESOURCES.Secret : RESOURCES.ConfigMap;
    const sel = { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` };
    inf = this.informer(r, sel, `${r.plural} ${ref.namespace}/${ref.name}`);
    this.forward(inf, (_e, o) => this.emitInput(ref.kind, o));
    this.objectWatches.set(key, inf);
    if (this.started) inf.start();
    return inf;
  }

  // ---------------------------------------------------------------- plumbing

  private baseInformers(): Informer<KubeObject>[] {
    const list = [...this.cluster.values(), this.outputConfigMaps, this.outputSecrets, this.statuses];
    if (this.hostedClusters) list.push(this.hostedClusters);
    if (this.nodePoolInformer) list.push(this.nodePoolInformer);
    return list;
  }

  /**
   * A RenderedMirrorConfig whose status lists are shared with the equal
   * lists of other targets: a fleet configured by the same objects has one
   * copy of its warnings, not one per NodePool.
   */
  private compactStatus(o: KubeObject): KubeObject {
    const s = o.status as Record<string, unknown> | undefined;
    if (!s) return o;
    const status = { ...s };
    for (const f of SHARED_STATUS_LISTS) {
      const list = status[f];
      if (Array.isArray(list)) status[f] = this.statusLists.intern(list);
    }
    return { ...o, status };
  }

  /** Every cache leaves out managedFields, which nothing reads (client-go's TransformStripManagedFields). */
  private informer(r: Resource, sel: Selectors, name: string, transform?: (o: KubeObject) => KubeObject, watch?: WatchFn): Informer<KubeObject> {
    return new Informer<KubeObject>({
      transform: transform ? (o) => transform(stripManagedFields(o)) : stripManagedFields,
      name,
      path: collectionPath(r, sel.namespace),
      list: this.opts.api.lister(r, sel),
      watch: watch ?? this.opts.api.watch,
      labelSelector: sel.labelSelector,
      fieldSelector: sel.fieldSelector,
      backoff: this.opts.backoff,
      logger: this.opts.logger,
      group: this.retries,
    });
  }

  private forward(inf: Informer<KubeObject>, fn: (event: EventType, obj: KubeObject) => void): void {
    for (const event of ['add', 'update', 'delete'] as const) inf.on(event, (obj) => fn(event, obj));
  }

  /** Forwards adds, deletes, and updates whose fingerprint changed. */
  private onChange(inf: Informer<KubeObject>, fingerprint: (o: KubeObject) => string, fn: (event: EventType, o: KubeObject) => void): void {
    const seen = new Map<string, string>();
    const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const changed = (event: EventType, o: KubeObject): void => {
      const fp = fingerprint(o);
      if (seen.get(key(o)) === fp) return;
      seen.set(key(o), fp);
      fn(event, o);
    };
    inf.on('add', (o) => changed('add', o));
    inf.on('update', (o) => changed('update', o));
    inf.on('delete', (o) => {
      seen.delete(key(o));
      fn('delete', o);
    });
  }

  private emitInput(kind: NamespacedKind, o: KubeObject): void {
    this.opts.onEvent({ type: 'input', kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name });
  }
}

/** RenderedMirrorConfig status lists that targets with the same inputs share. */
const SHARED_STATUS_LISTS = ['warnings', 'containerdWarnings', 'contributors'] as const;

/** `o` without metadata.managedFields (an update that leaves them out keeps them on the server). */
export function stripManagedFields(o: KubeObject): KubeObject {
  if (!('managedFields' in o.metadata)) return o;
  const { managedFields: _unused, ...metadata } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return { ...o, metadata };
}

/** A Node without what the aggregation does not read (status, spec, most metadata): small in the cache. */
function reducedNode(o: KubeObject): KubeObject {
  const r = nodeReportOf(o);
  const metadata: KubeObject['metadata'] & { annotations?: Record<string, string> } = { name: r.name };
  if (o.metadata.resourceVersion) metadata.resourceVersion = o.metadata.resourceVersion;
  if (r.pool !== undefined) metadata.labels = { [NODEPOOL_LABEL]: r.pool };
  if (r.summary !== undefined) metadata.annotations = { [MIRROR_PROBES_ANNOTATION]: r.summary };
  return { apiVersion: 'v1', kind: 'Node', metadata };
}

function generationOf(o: KubeObject): string {
  return String(o.metadata.generation ?? '');
}

export function refKey(r: Reference): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

export function parseRefKey(key: string): Reference {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind: kind as NamespacedKind, namespace: namespace ?? '', name: rest.join('/') };
}
