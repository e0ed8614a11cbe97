// The fleet benchmark: an operator over N NodePools on a real API server.
// 1. initial convergence (every output created), then the operator's memory;
// 2. one resync with nothing changed (writes counted: should be zero);
// 3. one change of the cluster-wide IDMS: time until every output carries
//    it, and writes per output (audit log and watch);
// 4. the floor: a minimal client making the same N ConfigMap writes at the
//    operator's concurrency, timed the same way (watch sees all of them).
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { AuditEvent } from '../../e2e/lib/audit.js';
import { ensureNamespace, inPool, pollUntil, serverCpu, serverCpuSince, type BenchCluster, type ServerCpu } from './cluster.js';
import { carries, createFleet, dataOf, mirrorHost, outputKey, OUTPUT_SELECTOR, putGlobalIdms, type FleetMember, type FleetShape } from './fleet.js';
import { Operator, waitQuiet, type MemoryFigures } from './operator.js';
import { withKeepAlive } from './keepalive.js';
import { ConfigMapWatch } from './watch.js';
import { countWrites, isOutputConfigMapWrite, isTargetStatusWrite, perOutput, serverTime, type WriteCounts } from './writes.js';

export const OPERATOR_NAMESPACE = 'image-mirror-system';
const FLOOR_LABEL = 'bench.imagemirror.io/floor';

export interface FleetOptions {
  shape: FleetShape;
  operatorNamespace: string;
  /** The operator's --concurrency, and the floor client's. */
  concurrency: number;
  resyncPeriodMs: number;
  /** Requests in flight while creating the fleet. */
  setupConcurrency: number;
  /** Bound on every wait. */
  timeoutMs: number;
  floor: boolean;
  log: (line: string) => void;
}

export interface FloorFigures {
  /** client-node defaults: a new TLS connection per request. */
  defaultsMs: number;
  /** Keep-alive connections. */
  keepAliveMs: number;
  /** CPU of the floor client itself, and of the control plane, over the keep-alive pass. */
  keepAliveCpu?: { clientSeconds: number; server?: ServerCpu };
}

export interface PhaseWrites {
  /** From the audit log (local control plane only). */
  audit?: {
    perOutput: { min: number; max: number; sum: number };
    targetStatus: number;
    objectStatus: number;
    outputSecrets: number;
    other: number;
    failed: number;
    total: number;
  };
  /** MODIFIED events the watch saw per output. */
  watchModified: { min: number; max: number; sum: number };
}

export interface FleetResult {
  nodePools: number;
  concurrency: number;
  setupMs: number;
  initial: { convergeMs: number; memory: MemoryFigures };
  resync: { periodMs: number; reconciles: number; writes: PhaseWrites };
  change: {
    convergeMs: number;
    operatorCpuSeconds: number;
    resyncReconcilesDuring: number;
    /** Mean milliseconds per target pass (the operator's reconcile duration histogram). */
    meanPassMs: number;
    writes: PhaseWrites;
    memory: MemoryFigures;
    /** Mean API server time per write (audit log), by what was written. */
    serverMs?: { outputConfigMap: number; targetStatus: number };
    /** Change -> the last RenderedMirrorConfig status write completed (audit log). */
    statusesMs?: number;
    /** CPU of the benchmark's own process (its watch of the outputs) over the change. */
    benchCpuSeconds: number;
    /** CPU the control plane used from the change until every output carried it. */
    serverCpu?: ServerCpu;
  };
  /** A new operator over the converged fleet (outputs in place): its first pass over every target. */
  restart: {
    /** Start -> every target reconciled once. */
    syncMs: number;
    reconciles: number;
    writes: PhaseWrites;
    memory: MemoryFigures;
  };
  floor?: FloorFigures & { serverMs?: number };
}

export async function runFleet(cluster: BenchCluster, opts: FleetOptions): Promise<FleetResult> {
  const k = cluster.kube;
  const log = opts.log;
  await ensureNamespace(k, opts.operatorNamespace);
  await putGlobalIdms(k, opts.shape, 'a');
  let t = performance.now();
  const members = await createFleet(k, opts.shape, opts.setupConcurrency);
  const setupMs = performance.now() - t;
  log(`created ${members.length} NodePools in ${Math.round(setupMs)} ms`);
  const keys = members.map(outputKey);
  const watch = new ConfigMapWatch(k, OUTPUT_SELECTOR);
  await watch.start();
  const operatorOptions = {
    kubeconfig: cluster.kubeconfig,
    namespace: opts.operatorNamespace,
    concurrency: opts.concurrency,
    resyncPeriod: `${opts.resyncPeriodMs}ms`,
    // On top of the shipped Deployment's NODE_OPTIONS, for investigations, e.g. BENCH_OPERATOR_NODE_ARGS=--heapsnapshot-signal=SIGUSR2
    nodeArgs: (process.env.BENCH_OPERATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  };
  let op = await Operator.start(operatorOptions);
  try {
    t = performance.now();
    const initialAt = await watch.waitFor(keys.length, (s) => carries(s.data, 'a'), opts.timeoutMs, 'every output to exist');
    const initial = { convergeMs: initialAt - t, memory: await op.memoryWithHeap() };
    log(`initial convergence ${Math.round(initial.convergeMs)} ms, RSS ${initial.memory.rssMiB.toFixed(0)} MiB`);
    await waitQuiet(op, 1_000, opts.timeoutMs);
    const resync = await measureResync(cluster, op, watch, keys, opts);
    log(`resync: ${resync.reconciles} reconciles, ${resync.writes.audit?.total ?? 'n/a'} writes`);
    const change = await measureChange(cluster, op, watch, keys, opts);
    log(`change converged in ${Math.round(change.convergeMs)} ms`);
    const first = members[0]!;
    const sample = await k.core.readNamespacedConfigMap({ namespace: first.namespace, name: `${first.nodePool}-image-mirrors` });
    await op.stop();
    const mark = await cluster.audit?.mark();
    watch.resetCounts();
    t = performance.now();
    op = await Operator.start(operatorOptions);
    await pollUntil('a first pass over every target', async () => (await op.metric('imagemirror_reconcile_total')) >= keys.length, opts.timeoutMs, 50);
    const syncMs = performance.now() - t;
    await waitQuiet(op, 1_500, opts.timeoutMs);
    const restart = {
      syncMs,
      reconciles: await op.metric('imagemirror_reconcile_total'),
      writes: await phaseWrites(cluster, mark, watch, keys),
      memory: await op.memoryWithHeap(),
    };
    log(`restart: every target reconciled ${Math.round(syncMs)} ms after the start, ${restart.writes.audit?.total ?? 'n/a'} writes`);
    await op.stop();
    watch.stop();
    const result: FleetResult = { nodePools: members.length, concurrency: opts.concurrency, setupMs, initial, resync, change, restart };
    if (opts.floor) {
      const floorMark = await cluster.audit?.mark();
      result.floor = await measureFloor(cluster, members, sample, opts);
      if (cluster.audit && floorMark !== undefined) {
        const floorNamespace = `${opts.shape.prefix}-floor`;
        result.floor.serverMs = (await serverTime(cluster.audit, floorMark, (e) => e.verb === 'update' && e.objectRef?.namespace === floorNamespace)).meanMs;
      }
      log(`floor ${Math.round(result.floor.defaultsMs)} ms (client-node defaults), ${Math.round(result.floor.keepAliveMs)} ms (keep-alive)`);
    }
    return result;
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log tail:\n${op.logTail()}`, { cause: err });
  } finally {
    await op.stop();
    watch.stop();
  }
}

/** Waits for the next resync pass (every target reconciled, nothing changed) and counts the writes it made. */
async function measureResync(
  cluster: BenchCluster,
  op: Operator,
  watch: ConfigMapWatch,
  keys: readonly string[],
  opts: FleetOptions,
): Promise<FleetResult['resync']> {
  const mark = await cluster.audit?.mark();
  watch.resetCounts();
  const unchanged0 = await op.metric('imagemirror_reconcile_total', { result: 'unchanged' });
  const total0 = await op.metric('imagemirror_reconcile_total');
  await pollUntil(
    'a resync pass over every target',
    async () => (await op.metric('imagemirror_reconcile_total', { result: 'unchanged' })) >= unchanged0 + keys.length,
    opts.resyncPeriodMs + opts.timeoutMs,
    50,
  );
  await waitQuiet(op, 1_000, opts.timeoutMs);
  const reconciles = (await op.metric('imagemirror_reconcile_total')) - total0;
  return { periodMs: opts.resyncPeriodMs, reconciles, writes: await phaseWrites(cluster, mark, watch, keys) };
}

/** Changes the cluster-wide IDMS and times until every output carries the new mirrors. */
async function measureChange(
  cluster: BenchCluster,
  op: Operator,
  watch: ConfigMapWatch,
  keys: readonly string[],
  opts: FleetOptions,
): Promise<FleetResult['change']> {
  const mark = await cluster.audit?.mark();
  watch.resetCounts();
  const cpu0 = op.cpuSeconds();
  const server0 = serverCpu(cluster);
  const bench0 = process.cpuUsage();
  const unchanged0 = await op.metric('imagemirror_reconcile_total', { result: 'unchanged' });
  const passes0 = await passTotals(op);
  const t0 = performance.now();
  const wallT0 = Date.now();
  await putGlobalIdms(cluster.kube, opts.shape, 'b');
  const at = await watch.waitFor(keys.length, (s) => carries(s.data, 'b', ['a']), opts.timeoutMs, 'every output to carry the changed IDMS');
  const operatorCpuSeconds = op.cpuSeconds() - cpu0;
  const changeServerCpu = serverCpuSince(cluster, server0);
  const bench = process.cpuUsage(bench0);
  const passes1 = await passTotals(op);
  const meanPassMs = (1000 * (passes1.sum - passes0.sum)) / (passes1.count - passes0.count);
  const resyncReconcilesDuring = (await op.metric('imagemirror_reconcile_total', { result: 'unchanged' })) - unchanged0;
  await waitQuiet(op, 1_500, opts.timeoutMs);
  const writes = await phaseWrites(cluster, mark, watch, keys, (e) => e.objectRef?.resource === 'imagedigestmirrorsets' && !e.objectRef.subresource);
  const result: FleetResult['change'] = {
    convergeMs: at - t0,
    operatorCpuSeconds,
    resyncReconcilesDuring,
    meanPassMs,
    writes,
    memory: await op.memoryWithHeap(),
    benchCpuSeconds: (bench.user + bench.system) / 1e6,
    ...(changeServerCpu ? { serverCpu: changeServerCpu } : {}),
  };
  if (cluster.audit && mark !== undefined) {
    const [cm, status] = [await serverTime(cluster.audit, mark, isOutputConfigMapWrite), await serverTime(cluster.audit, mark, isTargetStatusWrite)];
    result.serverMs = { outputConfigMap: cm.meanMs, targetStatus: status.meanMs };
    result.statusesMs = status.lastAt - wallT0;
  }
  return result;
}

async function passTotals(op: Operator): Promise<{ sum: number; count: number }> {
  const labels = { kind: 'target' };
  return {
    sum: await op.metric('imagemirror_reconcile_duration_seconds_sum', labels),
    count: await op.metric('imagemirror_reconcile_duration_seconds_count', labels),
  };
}

async function phaseWrites(
  cluster: BenchCluster,
  mark: number | undefined,
  watch: ConfigMapWatch,
  keys: readonly string[],
  exclude?: (e: AuditEvent) => boolean,
): Promise<PhaseWrites> {
  const modified = keys.map((key) => watch.objects.get(key)?.modified ?? 0);
  const watchModified = { min: Math.min(...modified), max: Math.max(...modified), sum: modified.reduce((a, b) => a + b, 0) };
  if (!cluster.audit || mark === undefined) return { watchModified };
  const c: WriteCounts = await countWrites(cluster.audit, mark, exclude);
  return {
    watchModified,
    audit: {
      perOutput: perOutput(c, keys),
      targetStatus: c.targetStatus,
      objectStatus: c.objectStatus,
      outputSecrets: c.outputSecrets,
      other: c.other,
      failed: c.failed,
      total: c.total,
    },
  };
}

/**
 * The same number of ConfigMap writes, with the operator's real output data,
 * by a client that does nothing else, at the operator's concurrency; timed
 * until a watch has seen every one. Twice: with client-node's defaults (a new
 * TLS connection per request, as the operator makes them) and with
 * keep-alive connections (the real floor).
 */
async function measureFloor(cluster: BenchCluster, members: readonly FleetMember[], sample: V1ConfigMap, opts: FleetOptions): Promise<FloorFigures> {
  const k = cluster.kube;
  const namespace = `${opts.shape.prefix}-floor`;
  await ensureNamespace(k, namespace);
  const newData = dataOf(sample);
  const oldData: Record<string, string> = Object.fromEntries(Object.entries(newData).map(([key, v]) => [key, v.replaceAll(mirrorHost('b'), mirrorHost('a'))]));
  const versions: string[] = new Array(members.length);
  const body = (i: number, data: Record<string, string>): V1ConfigMap => ({
    metadata: { name: `floor-${i}`, labels: { [FLOOR_LABEL]: 'true' }, ...(versions[i] ? { resourceVersion: versions[i] } : {}) },
    data,
  });
  await inPool(members, opts.setupConcurrency, async (_, i) => {
    versions[i] = (await k.core.createNamespacedConfigMap({ namespace, body: body(i, oldData) })).metadata?.resourceVersion ?? '';
  });
  const watch = new ConfigMapWatch(k, FLOOR_LABEL);
  await watch.start();
  try {
    const pass = async (core: CoreV1Api, data: Record<string, string>, version: string, round: number): Promise<number> => {
      const t0 = performance.now();
      await inPool(members, opts.concurrency, async (_, i) => {
        const out = await core.replaceNamespacedConfigMap({ namespace, name: `floor-${i}`, body: body(i, data) });
        versions[i] = out.metadata?.resourceVersion ?? '';
      });
      const at = await watch.waitFor(members.length, (s) => s.modified >= round && carries(s.data, version), opts.timeoutMs, 'every floor write');
      return at - t0;
    };
    const defaults = await pass(k.core, newData, 'b', 1);
    const client0 = process.cpuUsage();
    const server0 = serverCpu(cluster);
    const keepAlive = await pass(withKeepAlive(k.kc).makeApiClient(CoreV1Api), oldData, 'a', 2);
    const client = process.cpuUsage(client0);
    const server = serverCpuSince(cluster, server0);
    // The benchmark's own process: the floor client, and the watch that sees its writes (the change is timed by that watch too).
    const keepAliveCpu = { clientSeconds: (client.user + client.system) / 1e6, ...(server ? { server } : {}) };
    return { defaultsMs: defaults, keepAliveMs: keepAlive, keepAliveCpu };
  } finally {
    watch.stop();
  }
}
