// Edit-to-output latency: one NodePool whose spec.config ConfigMap holds an
// ITMS document, edited again and again (a new mirror each time) while the
// operator also carries a background fleet; each edit is timed from just
// before the API call until a watch sees the NodePool's output with the new
// mirror.
import { ensureNamespace, sleep, type BenchCluster } from './cluster.js';
import { createFleet, HS_GROUP, HS_VERSION, OUTPUT_SELECTOR, putGlobalIdms, carries, type FleetShape } from './fleet.js';
import { Operator, waitQuiet, type MemoryFigures } from './operator.js';
import { ConfigMapWatch, type Seen } from './watch.js';
import { countWrites } from './writes.js';

const POOL = 'latency-pool';
const CONFIG = 'latency-config';

export interface LatencyOptions {
  /** The background fleet (0 HostedClusters for none); the edited NodePool lives in `<prefix>-latency`. */
  shape: FleetShape;
  operatorNamespace: string;
  edits: number;
  /** Pause between one edit's output and the next edit. */
  gapMs: number;
  concurrency: number;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface LatencyResult {
  fleetNodePools: number;
  /** Milliseconds per edit, in edit order. */
  samples: number[];
  /** Successful writes to the output ConfigMap during the edits (audit log), and refused writes. */
  outputWrites?: number;
  refusedWrites?: number;
  memory: MemoryFigures;
}

/** The NodePool config: one ITMS document mirroring the app to `mirror-<n>.latency.example`. */
export function itmsConfig(n: number): string {
  return [
    'apiVersion: config.openshift.io/v1',
    'kind: ImageTagMirrorSet',
    'metadata: {name: latency}',
    'spec:',
    '  imageTagMirrors:',
    '  - source: registry.latency.example/app',
    `    mirrors: [mirror-${n}.latency.example/app]`,
    '',
  ].join('\n');
}

const hasMirror = (s: Seen | undefined, n: number): boolean => s?.data['registries.conf']?.includes(`mirror-${n}.latency.example/app`) ?? false;

export async function runLatency(cluster: BenchCluster, opts: LatencyOptions): Promise<LatencyResult> {
  const k = cluster.kube;
  const ns = `${opts.shape.prefix}-latency`;
  await ensureNamespace(k, opts.operatorNamespace);
  await putGlobalIdms(k, opts.shape, 'a');
  const fleet = opts.shape.hostedClusters > 0 ? await createFleet(k, opts.shape, 16) : [];
  await createLatencyPool(cluster, ns);
  const watch = new ConfigMapWatch(k, OUTPUT_SELECTOR);
  await watch.start();
  const op = await Operator.start({ kubeconfig: cluster.kubeconfig, namespace: opts.operatorNamespace, concurrency: opts.concurrency, resyncPeriod: '0' });
  try {
    await watch.waitFor(fleet.length, (s) => carries(s.data, 'a'), opts.timeoutMs, 'the fleet outputs');
    await watch.waitFor(1, (s) => hasMirror(s, 0), opts.timeoutMs, 'the latency NodePool output');
    await waitQuiet(op, 1_000, opts.timeoutMs);
    opts.log(`fleet of ${fleet.length} NodePools and the latency NodePool rendered; editing`);
    const mark = await cluster.audit?.mark();
    const samples: number[] = [];
    for (let n = 1; n <= opts.edits; n++) {
      samples.push(await timeEdit(cluster, ns, watch, n, opts.timeoutMs));
      if (opts.gapMs > 0) await sleep(opts.gapMs);
    }
    const result: LatencyResult = { fleetNodePools: fleet.length + 1, samples, memory: op.memory() };
    if (cluster.audit && mark !== undefined) {
      await waitQuiet(op, 500, opts.timeoutMs);
      const c = await countWrites(cluster.audit, mark, (e) => e.objectRef?.name === CONFIG);
      result.outputWrites = c.outputConfigMaps.get(outputOf(ns)) ?? 0;
      result.refusedWrites = c.failed;
    }
    return result;
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log tail:\n${op.logTail()}`, { cause: err });
  } finally {
    await op.stop();
    watch.stop();
  }
}

/** `namespace/name` of the edited NodePool's output ConfigMap. */
function outputOf(ns: string): string {
  return `${ns}/${POOL}-image-mirrors`;
}

async function createLatencyPool(cluster: BenchCluster, ns: string): Promise<void> {
  const k = cluster.kube;
  await ensureNamespace(k, ns);
  await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: CONFIG }, data: { config: itmsConfig(0) } } });
  const base = { group: HS_GROUP, version: HS_VERSION, namespace: ns };
  const apiVersion = `${HS_GROUP}/${HS_VERSION}`;
  await k.custom.createNamespacedCustomObject({
    ...base,
    plural: 'hostedclusters',
    body: { apiVersion, kind: 'HostedCluster', metadata: { name: 'latency-hc', namespace: ns }, spec: {} },
  });
  await k.custom.createNamespacedCustomObject({
    ...base,
    plural: 'nodepools',
    body: { apiVersion, kind: 'NodePool', metadata: { name: POOL, namespace: ns }, spec: { clusterName: 'latency-hc', config: [{ name: CONFIG }] } },
  });
}

/** One edit: milliseconds from just before the update until the watch sees the output carrying it. */
async function timeEdit(cluster: BenchCluster, ns: string, watch: ConfigMapWatch, n: number, timeoutMs: number): Promise<number> {
  let resolveSeen: (at: number) => void = () => undefined;
  const seen = new Promise<number>((r) => (resolveSeen = r));
  watch.onChange = (key, s) => {
    if (key === outputOf(ns) && hasMirror(s, n)) resolveSeen(s.at);
  };
  const timer = setTimeout(() => resolveSeen(NaN), timeoutMs);
  const t0 = performance.now();
  await cluster.kube.core.replaceNamespacedConfigMap({ namespace: ns, name: CONFIG, body: { metadata: { name: CONFIG }, data: { config: itmsConfig(n) } } });
  const at = await seen;
  clearTimeout(timer);
  watch.onChange = undefined;
  if (Number.isNaN(at)) throw new Error(`edit ${n}: the output did not change within ${timeoutMs} ms`);
  return at - t0;
}
