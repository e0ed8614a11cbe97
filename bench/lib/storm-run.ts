// Edit storms: one of our cluster-scoped ImageDigestMirrorSets, whose
// nodePoolSelector selects a single NodePool, edited again and again (a new
// mirror path each time) while the operator carries a background fleet that
// the IDMS does not select. A RegistryAccess gives the mirror host
// credentials, so every edit changes both halves of the NodePool's output:
// registries.conf in its ConfigMap and the containerd hosts.toml (which
// holds the authorization header) in its Secret.
//
// Per storm: target passes (the operator's reconcile histogram), output
// writes (audit log), how long after the last edit its ConfigMap and Secret
// both carry it, and the longest time the ConfigMap and the Secret carried
// different edits (watch events on both).
import { PatchStrategy, setHeaderOptions, Watch, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import type { Kube } from '../../e2e/lib/kube.js';
import { ensureNamespace, sleep, type BenchCluster } from './cluster.js';
import { carries, createFleet, HS_GROUP, HS_VERSION, OUR_GROUP, OUR_VERSION, OUTPUT_SELECTOR, putGlobalIdms, type FleetShape } from './fleet.js';
import { Operator, waitQuiet, type MemoryFigures } from './operator.js';
import { ConfigMapWatch } from './watch.js';
import { countWrites, serverTime } from './writes.js';

const POOL = 'storm-pool';
const OUTPUT = `${POOL}-image-mirrors`;
const STORM_LABEL = 'bench.imagemirror.io/storm';
const MIRROR_HOST = 'mirror.storm.example';
const CREDENTIALS = 'storm-mirror-credentials';
const EDITS_IN_FLIGHT = 4;

export interface StormSpec {
  edits: number;
  /** The edits are spread evenly over this long (each one waits for the previous answer). */
  durationMs: number;
}

export interface StormOptions {
  /** The background fleet: NodePools the storm's IDMS does not select. */
  shape: FleetShape;
  operatorNamespace: string;
  storms: readonly StormSpec[];
  concurrency: number;
  /** Further operator flags. */
  operatorArgs?: readonly string[];
  timeoutMs: number;
  log: (line: string) => void;
}

export interface StormFigures {
  edits: number;
  /** Wall time from the first edit sent to the last one answered. */
  stormMs: number;
  /** Target passes from the first edit until the operator was quiet again. */
  passes: number;
  /** Passes that wrote an output (imagemirror_reconcile_total{result="rendered"}). */
  renderedPasses: number;
  /** From the last edit answered until the ConfigMap / the Secret / both carried it. */
  lagMs: { configMap: number; secret: number; output: number };
  /** Longest stretch (watch events) during which the ConfigMap and the Secret carried different edits; and their sum. */
  disagreementMs: { max: number; total: number };
  /** Distinct edits the ConfigMap showed (watch). */
  configMapVersionsSeen: number;
  /** Successful writes in the audit log. */
  writes?: { configMap: number; secret: number; status: number; otherOutputs: number; refused: number; refusedBy: Record<string, number> };
  /** Longest time from a Secret write of the storm's NodePool to the ConfigMap write after it (audit log: the pass's round trip). */
  secretToConfigMapMs?: number;
  /** API server time per output write of the storm's NodePool (audit log), for a write round trip. */
  writeServerMs?: number;
}

export interface StormResult {
  fleetNodePools: number;
  storms: StormFigures[];
  memory: MemoryFigures;
}

/** The storm IDMS at edit `n`: registry.storm.example/app mirrored to mirror.storm.example/e<n>/app. */
function stormIdms(name: string, n: number): object {
  return {
    apiVersion: `${OUR_GROUP}/${OUR_VERSION}`,
    kind: 'ImageDigestMirrorSet',
    metadata: { name },
    spec: {
      nodePoolSelector: { matchLabels: { [STORM_LABEL]: 'true' } },
      imageDigestMirrors: [{ source: 'registry.storm.example/app', mirrors: [`${MIRROR_HOST}/e${n}/app`] }],
    },
  };
}

/** The edit an output half carries: `mirror.storm.example/e<n>/` in registries.conf, `.../v2/e<n>"` in hosts.toml. */
function editIn(data: Record<string, string>): number | undefined {
  let found: number | undefined;
  for (const v of Object.values(data)) {
    const m = /mirror\.storm\.example\/(?:v2\/)?e(\d+)\b/.exec(v);
    if (m) found = Number(m[1]);
  }
  return found;
}

interface Point {
  at: number;
  edit: number | undefined;
}

/** Watches the storm NodePool's output ConfigMap and Secret; records which edit each carried when. */
class OutputTimeline {
  readonly configMap: Point[] = [];
  readonly secret: Point[] = [];
  private readonly aborts: AbortController[] = [];
  private stopped = false;

  constructor(
    private readonly k: Kube,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    await this.follow('configmaps', this.configMap, (o) => (o as V1ConfigMap).data ?? {});
    await this.follow('secrets', this.secret, (o) => decode((o as V1Secret).data ?? {}));
  }

  last(points: readonly Point[]): number | undefined {
    return points.at(-1)?.edit;
  }

  private async follow(plural: string, into: Point[], dataOf: (o: object) => Record<string, string>): Promise<void> {
    const fieldSelector = `metadata.name=${OUTPUT}`;
    const path = `/api/v1/namespaces/${this.namespace}/${plural}`;
    const list =
      plural === 'configmaps'
        ? await this.k.core.listNamespacedConfigMap({ namespace: this.namespace, fieldSelector })
        : await this.k.core.listNamespacedSecret({ namespace: this.namespace, fieldSelector });
    for (const o of list.items) into.push({ at: performance.now(), edit: editIn(dataOf(o)) });
    let rv = list.metadata?.resourceVersion ?? '';
    const watch = async (): Promise<void> => {
      const ctl = await new Watch(this.k.kc).watch(
        path,
        { fieldSelector, resourceVersion: rv, allowWatchBookmarks: true },
        (type: string, obj: { metadata?: { resourceVersion?: string } }) => {
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (type === 'ADDED' || type === 'MODIFIED') into.push({ at: performance.now(), edit: editIn(dataOf(obj)) });
          else if (type === 'DELETED') into.push({ at: performance.now(), edit: undefined });
        },
        () => {
          if (!this.stopped) void sleep(100).then(() => (this.stopped ? undefined : watch()));
        },
      );
      this.aborts.push(ctl);
    };
    await watch();
  }

  /** Longest and total time within [from, to] during which the two halves carried different edits. */
  disagreement(from: number, to: number): { max: number; total: number } {
    const events = [...this.configMap.map((p) => ({ ...p, half: 'cm' as const })), ...this.secret.map((p) => ({ ...p, half: 'secret' as const }))].sort(
      (a, b) => a.at - b.at,
    );
    let cm: number | undefined;
    let secret: number | undefined;
    let since: number | undefined;
    let max = 0;
    let total = 0;
    const close = (at: number): void => {
      if (since === undefined) return;
      const d = Math.min(at, to) - Math.max(since, from);
      if (d > 0) {
        max = Math.max(max, d);
        total += d;
      }
      since = undefined;
    };
    for (const e of events) {
      if (e.half === 'cm') cm = e.edit;
      else secret = e.edit;
      if (cm !== secret && since === undefined) since = e.at;
      else if (cm === secret) close(e.at);
    }
    close(to);
    return { max, total };
  }

  /** When `points` first showed `edit` at or after `from`. */
  firstAt(points: readonly Point[], edit: number, from: number): number | undefined {
    return points.find((p) => p.at >= from && p.edit === edit)?.at;
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }
}

function decode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

async function createStormPool(k: Kube, ns: string, operatorNamespace: string, idmsName: string, accessName: string): Promise<void> {
  await ensureNamespace(k, ns);
  const base = { group: HS_GROUP, version: HS_VERSION, namespace: ns };
  const apiVersion = `${HS_GROUP}/${HS_VERSION}`;
  await k.custom.createNamespacedCustomObject({
    ...base,
    plural: 'hostedclusters',
    body: { apiVersion, kind: 'HostedCluster', metadata: { name: 'storm-hc', namespace: ns }, spec: {} },
  });
  await k.custom.createNamespacedCustomObject({
    ...base,
    plural: 'nodepools',
    body: { apiVersion, kind: 'NodePool', metadata: { name: POOL, namespace: ns, labels: { [STORM_LABEL]: 'true' } }, spec: { clusterName: 'storm-hc' } },
  });
  // Obviously fake credentials: they only put an authorization header into hosts.toml (the Secret half).
  await k.core.createNamespacedSecret({
    namespace: operatorNamespace,
    body: { metadata: { name: CREDENTIALS }, type: 'kubernetes.io/basic-auth', stringData: { username: 'storm', password: 'not-a-secret' } },
  });
  const ours = { group: OUR_GROUP, version: OUR_VERSION };
  await k.custom.createClusterCustomObject({
    ...ours,
    plural: 'registryaccesses',
    body: {
      apiVersion: `${OUR_GROUP}/${OUR_VERSION}`,
      kind: 'RegistryAccess',
      metadata: { name: accessName },
      spec: {
        nodePoolSelector: { matchLabels: { [STORM_LABEL]: 'true' } },
        hosts: [{ host: MIRROR_HOST, credentialsSecretRef: { namespace: operatorNamespace, name: CREDENTIALS } }],
      },
    },
  });
  await k.custom.createClusterCustomObject({ ...ours, plural: 'imagedigestmirrorsets', body: stormIdms(idmsName, 0) });
}

/** Names of what the storm creates besides the fleet (for cleanup). */
export function stormNames(shape: Pick<FleetShape, 'prefix'>): { namespace: string; idms: string; access: string } {
  return { namespace: `${shape.prefix}-storm`, idms: `${shape.prefix}-storm`, access: `${shape.prefix}-storm-access` };
}

export async function runStorm(cluster: BenchCluster, opts: StormOptions): Promise<StormResult> {
  const k = cluster.kube;
  const names = stormNames(opts.shape);
  await ensureNamespace(k, opts.operatorNamespace);
  await putGlobalIdms(k, opts.shape, 'a');
  const fleet = opts.shape.hostedClusters > 0 ? await createFleet(k, opts.shape, 16) : [];
  await createStormPool(k, names.namespace, opts.operatorNamespace, names.idms, names.access);
  const outputs = new ConfigMapWatch(k, OUTPUT_SELECTOR);
  await outputs.start();
  const timeline = new OutputTimeline(k, names.namespace);
  await timeline.start();
  const op = await Operator.start({
    kubeconfig: cluster.kubeconfig,
    namespace: opts.operatorNamespace,
    concurrency: opts.concurrency,
    resyncPeriod: '0',
    ...(opts.operatorArgs ? { args: opts.operatorArgs } : {}),
  });
  try {
    await outputs.waitFor(fleet.length, (s) => carries(s.data, 'a'), opts.timeoutMs, 'the fleet outputs');
    await waitEdit(timeline, 0, opts.timeoutMs);
    await waitQuiet(op, 1_000, opts.timeoutMs);
    opts.log(`fleet of ${fleet.length} NodePools and the storm NodePool rendered`);
    const storms: StormFigures[] = [];
    let edit = 0;
    for (const spec of opts.storms) {
      storms.push(await oneStorm(cluster, op, timeline, names, edit, spec, opts));
      edit += spec.edits;
      const s = storms.at(-1)!;
      opts.log(`storm of ${spec.edits} edits in ${spec.durationMs} ms: ${s.passes} passes, output ${s.lagMs.output.toFixed(0)} ms after the last edit`);
    }
    return { fleetNodePools: fleet.length + 1, storms, memory: op.memory() };
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log tail:\n${op.logTail()}`, { cause: err });
  } finally {
    await op.stop();
    outputs.stop();
    timeline.stop();
  }
}

async function waitEdit(t: OutputTimeline, edit: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (t.last(t.configMap) !== edit || t.last(t.secret) !== edit) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for the storm output to carry edit ${edit} (ConfigMap ${t.last(t.configMap)}, Secret ${t.last(t.secret)})`,
      );
    }
    await sleep(5);
  }
}

async function passCounts(op: Operator): Promise<{ passes: number; rendered: number }> {
  return {
    passes: await op.metric('imagemirror_reconcile_duration_seconds_count', { kind: 'target' }),
    rendered: await op.metric('imagemirror_reconcile_total', { result: 'rendered' }),
  };
}

async function oneStorm(
  cluster: BenchCluster,
  op: Operator,
  timeline: OutputTimeline,
  names: { namespace: string; idms: string },
  firstEdit: number,
  spec: StormSpec,
  opts: StormOptions,
): Promise<StormFigures> {
  const k = cluster.kube;
  const idmsName = names.idms;
  const base = { group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets', name: idmsName };
  const mark = await cluster.audit?.mark();
  const before = await passCounts(op);
  const gap = spec.durationMs / spec.edits;
  const t0 = performance.now();
  let answered = t0;
  // Each edit is sent at its time, up to EDITS_IN_FLIGHT at once (one at a time cannot keep 50 per second
  // on a loaded machine); which one the API server applied last is read back afterwards.
  const inFlight = new Set<Promise<void>>();
  for (let i = 1; i <= spec.edits; i++) {
    const wait = t0 + (i - 1) * gap - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= EDITS_IN_FLIGHT) await Promise.race(inFlight);
    // A merge patch of the spec: the operator writes the object's status meanwhile (no resourceVersion to race).
    const body = { spec: (stormIdms(idmsName, firstEdit + i) as { spec: object }).spec };
    const p: Promise<void> = k.custom.patchClusterCustomObject({ ...base, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).then(() => {
      answered = performance.now();
      inFlight.delete(p);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const final = (await k.custom.getClusterCustomObject(base)) as { spec: Record<string, string> };
  const lastEdit = editIn({ spec: JSON.stringify(final.spec) }) ?? NaN;
  await waitEdit(timeline, lastEdit, opts.timeoutMs);
  const cmAt = timeline.firstAt(timeline.configMap, lastEdit, t0) ?? NaN;
  const secretAt = timeline.firstAt(timeline.secret, lastEdit, t0) ?? NaN;
  await waitQuiet(op, 1_000, opts.timeoutMs);
  const after = await passCounts(op);
  const seen = new Set(timeline.configMap.filter((p) => p.at >= t0 && p.edit !== undefined).map((p) => p.edit));
  const figures: StormFigures = {
    edits: spec.edits,
    stormMs: answered - t0,
    passes: after.passes - before.passes,
    renderedPasses: after.rendered - before.rendered,
    lagMs: { configMap: cmAt - answered, secret: secretAt - answered, output: Math.max(cmAt, secretAt) - answered },
    disagreementMs: timeline.disagreement(t0, performance.now()),
    configMapVersionsSeen: seen.size,
  };
  if (cluster.audit && mark !== undefined) {
    const c = await countWrites(cluster.audit, mark);
    const stormOutput = (e: { objectRef?: { namespace?: string; name?: string } }): boolean =>
      e.objectRef?.name === OUTPUT && e.objectRef.namespace === names.namespace;
    const events = await cluster.audit.events(mark);
    const ok = (e: { responseStatus?: { code?: number } }): boolean => (e.responseStatus?.code ?? 0) >= 200 && (e.responseStatus?.code ?? 0) < 300;
    const isWrite = (e: { verb: string }): boolean => ['create', 'update', 'patch', 'delete'].includes(e.verb);
    const cmWrites = events.filter((e) => isWrite(e) && ok(e) && e.objectRef?.resource === 'configmaps' && stormOutput(e)).length;
    const secretWrites = events.filter((e) => isWrite(e) && ok(e) && e.objectRef?.resource === 'secrets' && stormOutput(e)).length;
    const otherOutputs = [...c.outputConfigMaps.entries()].filter(([key]) => key !== `${names.namespace}/${OUTPUT}`).reduce((n, [, v]) => n + v, 0);
    const refusedBy: Record<string, number> = {};
    for (const e of events.filter((x) => isWrite(x) && !ok(x))) {
      const what = `${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.responseStatus?.code ?? '?'}`;
      refusedBy[what] = (refusedBy[what] ?? 0) + 1;
    }
    figures.writes = { configMap: cmWrites, secret: secretWrites, status: c.targetStatus, otherOutputs, refused: c.failed, refusedBy };
    // Each Secret write to the ConfigMap write that follows it (the pass writes them in that order).
    const halves = events.filter((e) => isWrite(e) && ok(e) && stormOutput(e) && ['configmaps', 'secrets'].includes(e.objectRef?.resource ?? ''));
    let gap = 0;
    halves.forEach((e, i) => {
      const next = halves.slice(i + 1).find((x) => x.objectRef?.resource === 'configmaps');
      if (e.objectRef?.resource === 'secrets' && next) gap = Math.max(gap, Date.parse(next.stageTimestamp) - Date.parse(e.stageTimestamp));
    });
    figures.secretToConfigMapMs = gap;
    const t = await serverTime(cluster.audit, mark, (e) => stormOutput(e) && (e.objectRef?.resource === 'configmaps' || e.objectRef?.resource === 'secrets'));
    figures.writeServerMs = t.meanMs;
  }
  return figures;
}

/** Removes what runStorm created besides the fleet (deleteFleet removes that, and these namespaces when named). */
export async function deleteStorm(k: Kube, shape: Pick<FleetShape, 'prefix'>): Promise<void> {
  const names = stormNames(shape);
  const ours = { group: OUR_GROUP, version: OUR_VERSION };
  const gone = (p: Promise<unknown>): Promise<void> =>
    p.then(
      () => undefined,
      () => undefined,
    );
  await gone(k.custom.deleteClusterCustomObject({ ...ours, plural: 'imagedigestmirrorsets', name: names.idms }));
  await gone(k.custom.deleteClusterCustomObject({ ...ours, plural: 'registryaccesses', name: names.access }));
  const base = { group: HS_GROUP, version: HS_VERSION, namespace: names.namespace };
  await gone(k.custom.deleteNamespacedCustomObject({ ...base, plural: 'nodepools', name: POOL }));
  await gone(k.custom.deleteNamespacedCustomObject({ ...base, plural: 'hostedclusters', name: 'storm-hc' }));
}
