// API server restarts: the operator over a fleet, the local API server
// stopped for a while (every watch fails and backs off) and started again
// the way the e2e suite does it (e2e/controlplane/apiserver.sh, same etcd);
// right after it is ready, a change of a HostedCluster's mirror ConfigMap
// (a namespace ConfigMap cache) and of a cluster-scoped IDMS (a cluster-wide
// cache). Per round: when each watch that failed was back (the informers'
// "watch reconnected" log lines), and when the outputs of the changed
// NodePools carried both changes (polled with GET, so the benchmark's own
// watches reconnecting do not count).
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import https from 'node:https';
import { startApiServer, stopApiServer } from '../../e2e/lib/controlplane.js';
import type { Kube } from '../../e2e/lib/kube.js';
import { ensureNamespace, sleep, type BenchCluster } from './cluster.js';
import { carries, createFleet, HS_GROUP, HS_VERSION, OUR_GROUP, OUR_VERSION, OUTPUT_SELECTOR, putGlobalIdms, type FleetShape } from './fleet.js';
import { type LogLine, Operator, waitQuiet, type MemoryFigures } from './operator.js';
import { ConfigMapWatch } from './watch.js';

const POOLS = ['restart-pool-0', 'restart-pool-1'];
const LABEL = 'bench.imagemirror.io/restart';
const FAILED = 'list/watch failed; restarting';
const RECONNECTED = 'watch reconnected';

export interface RestartOptions {
  shape: FleetShape;
  operatorNamespace: string;
  rounds: number;
  /** How long the API server stays down each round (the longer, the further the informers have backed off). */
  downMs: number;
  concurrency: number;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface RestartRound {
  downMs: number;
  /** Informers whose list/watch failed during the round. */
  informersFailed: number;
  /** Longest retry delay an informer chose during the round. */
  maxRetryMs: number;
  /** Failures with an HTTP status (429, 503, ...; the outage itself has none), by code. */
  answeredFailures: Record<string, number>;
  /** From the first 200 of /readyz until each failed informer was back: the slowest, and the median. */
  watchesBackMs: { max: number; median: number };
  /** From the first 200 of /readyz until both NodePools' outputs carried the ConfigMap and the IDMS change made when apiserver.sh saw it ready. */
  changeMs: number;
  /** The same, from the moment both changes had been answered. */
  changeAfterWriteMs: number;
}

export interface RestartResult {
  fleetNodePools: number;
  rounds: RestartRound[];
  memory: MemoryFigures;
}

function mirrorsDoc(n: number): string {
  return [
    'apiVersion: config.openshift.io/v1',
    'kind: ImageDigestMirrorSet',
    'metadata: {name: restart}',
    'spec:',
    '  imageDigestMirrors:',
    '  - source: quay.io/restart',
    `    mirrors: [cm-${n}.restart.example/restart]`,
    '',
  ].join('\n');
}

function restartIdms(name: string, n: number): object {
  return {
    apiVersion: `${OUR_GROUP}/${OUR_VERSION}`,
    kind: 'ImageDigestMirrorSet',
    metadata: { name },
    spec: {
      nodePoolSelector: { matchLabels: { [LABEL]: 'true' } },
      imageDigestMirrors: [{ source: 'registry.restart.example/app', mirrors: [`idms-${n}.restart.example/app`] }],
    },
  };
}

export function restartNames(shape: Pick<FleetShape, 'prefix'>): { namespace: string; idms: string } {
  return { namespace: `${shape.prefix}-restart`, idms: `${shape.prefix}-restart` };
}

async function createRestartPools(k: Kube, ns: string, idms: string): Promise<void> {
  await ensureNamespace(k, ns);
  await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'mirrors' }, data: { 'idms.yaml': mirrorsDoc(0) } } });
  const base = { group: HS_GROUP, version: HS_VERSION, namespace: ns };
  const apiVersion = `${HS_GROUP}/${HS_VERSION}`;
  await k.custom.createNamespacedCustomObject({
    ...base,
    plural: 'hostedclusters',
    body: { apiVersion, kind: 'HostedCluster', metadata: { name: 'restart-hc', namespace: ns }, spec: { imageMirrorConfigRef: { name: 'mirrors' } } },
  });
  for (const name of POOLS) {
    await k.custom.createNamespacedCustomObject({
      ...base,
      plural: 'nodepools',
      body: { apiVersion, kind: 'NodePool', metadata: { name, namespace: ns, labels: { [LABEL]: 'true' } }, spec: { clusterName: 'restart-hc' } },
    });
  }
  await k.custom.createClusterCustomObject({ group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets', body: restartIdms(idms, 0) });
}

/** True when both restart NodePools' outputs carry change `n` (read now, not from a watch). */
async function outputsCarry(k: Kube, ns: string, n: number): Promise<boolean> {
  for (const pool of POOLS) {
    const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: `${pool}-image-mirrors` }).catch(() => undefined);
    const conf = cm?.data?.['registries.conf'] ?? '';
    if (!conf.includes(`cm-${n}.restart.example/restart`) || !conf.includes(`idms-${n}.restart.example/app`)) return false;
  }
  return true;
}

export async function runRestart(cluster: BenchCluster, opts: RestartOptions): Promise<RestartResult> {
  const cp = cluster.controlPlane;
  if (!cp) throw new Error('the restart benchmark needs the local control plane (no --kubeconfig)');
  const k = cluster.kube;
  const names = restartNames(opts.shape);
  await ensureNamespace(k, opts.operatorNamespace);
  await putGlobalIdms(k, opts.shape, 'a');
  const fleet = opts.shape.hostedClusters > 0 ? await createFleet(k, opts.shape, 16) : [];
  await createRestartPools(k, names.namespace, names.idms);
  const outputs = new ConfigMapWatch(k, OUTPUT_SELECTOR);
  await outputs.start();
  const op = await Operator.start({
    kubeconfig: cluster.kubeconfig,
    namespace: opts.operatorNamespace,
    concurrency: opts.concurrency,
    resyncPeriod: '0',
    // The informers log their reconnects at info.
    args: ['--log-level', 'info'],
    keepLine: (l) => l.msg === FAILED || l.msg === RECONNECTED,
  });
  try {
    await outputs.waitFor(fleet.length, (s) => carries(s.data, 'a'), opts.timeoutMs, 'the fleet outputs');
    await waitFor(opts.timeoutMs, 'the restart NodePools rendered', () => outputsCarry(k, names.namespace, 0));
    await waitQuiet(op, 1_000, opts.timeoutMs);
    outputs.stop();
    opts.log(`fleet of ${fleet.length} NodePools and ${POOLS.length} restart NodePools rendered`);
    const rounds: RestartRound[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      const from = op.lines.length;
      await stopApiServer(cp);
      await sleep(opts.downMs);
      // apiserver.sh polls /readyz every 200 ms; the benchmark polls it every 20 ms for the moment it is ready.
      const readyAt = firstReady(k, opts.timeoutMs);
      await startApiServer(cp);
      const ready = await readyAt;
      // Both changes at once, right after the server is ready.
      await Promise.all([
        retried(() =>
          k.core.replaceNamespacedConfigMap({
            namespace: names.namespace,
            name: 'mirrors',
            body: { metadata: { name: 'mirrors' }, data: { 'idms.yaml': mirrorsDoc(r) } },
          }),
        ),
        retried(() =>
          k.custom.patchClusterCustomObject(
            {
              group: OUR_GROUP,
              version: OUR_VERSION,
              plural: 'imagedigestmirrorsets',
              name: names.idms,
              body: { spec: (restartIdms(names.idms, r) as { spec: object }).spec },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          ),
        ),
      ]);
      const written = Date.now();
      await waitFor(opts.timeoutMs, `round ${r}: the change in both outputs`, () => outputsCarry(k, names.namespace, r), 10);
      const converged = Date.now();
      const failed = await waitReconnected(op, from, opts.timeoutMs);
      const round = summarize(op.lines.slice(from), failed, ready, opts.downMs);
      rounds.push({ ...round, changeMs: converged - ready, changeAfterWriteMs: converged - written });
      opts.log(
        `round ${r}: ${round.informersFailed} informers failed; every watch back ${round.watchesBackMs.max} ms after ready; change in the outputs ${converged - ready} ms after ready`,
      );
      await waitQuiet(op, 1_000, opts.timeoutMs);
    }
    return { fleetNodePools: fleet.length + POOLS.length, rounds, memory: op.memory() };
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator log tail:\n${op.logTail()}`, { cause: err });
  } finally {
    outputs.stop();
    await op.stop();
  }
}

/** The informers that failed since line `from`, once each has logged its reconnect after its last failure. */
async function waitReconnected(op: Operator, from: number, timeoutMs: number): Promise<Set<string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = op.lines.slice(from);
    const down = new Set<string>();
    const failed = new Set<string>();
    for (const l of lines) {
      const name = String(l.informer);
      if (l.msg === FAILED) {
        down.add(name);
        failed.add(name);
      } else down.delete(name);
    }
    if (down.size === 0) return failed;
    if (Date.now() > deadline) throw new Error(`watches still down after ${timeoutMs} ms: ${[...down].join(', ')}`);
    await sleep(50);
  }
}

function summarize(lines: readonly LogLine[], failed: Set<string>, ready: number, downMs: number): Omit<RestartRound, 'changeMs' | 'changeAfterWriteMs'> {
  const back: number[] = [];
  for (const name of failed) {
    const mine = lines.filter((l) => String(l.informer) === name);
    const lastFailure = mine.map((l) => l.msg).lastIndexOf(FAILED);
    const reconnect = mine.slice(lastFailure + 1).find((l) => l.msg === RECONNECTED);
    // Negative when it got through before /readyz answered 200 (the server serves before all its start hooks are done).
    if (reconnect) back.push(reconnect.at - ready);
  }
  back.sort((a, b) => a - b);
  const answered: Record<string, number> = {};
  // Any time in the round: an informer may get its 429 before /readyz answers 200.
  for (const l of lines) if (l.msg === FAILED && typeof l.code === 'number') answered[l.code] = (answered[l.code] ?? 0) + 1;
  const retries = lines.filter((l) => l.msg === FAILED).map((l) => Number(l.retryInMs ?? 0));
  return {
    downMs,
    informersFailed: failed.size,
    maxRetryMs: retries.length === 0 ? 0 : Math.max(...retries),
    answeredFailures: answered,
    watchesBackMs: { max: back.at(-1) ?? NaN, median: back[back.length >> 1] ?? NaN },
  };
}

/** Epoch milliseconds of the first 200 from /readyz, polled every 20 ms. */
async function firstReady(k: Kube, timeoutMs: number): Promise<number> {
  const cluster = k.kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL('/readyz', cluster.server);
  const options: https.RequestOptions = { hostname: url.hostname, port: url.port, path: url.pathname, method: 'GET', timeout: 1_000 };
  await k.kc.applyToHTTPSOptions(options);
  const probe = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = https.request(options, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = Date.now();
    if (await probe()) return at;
    if (Date.now() > deadline) throw new Error(`the API server was not ready within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The benchmark's own write, retried while the API server that just came up refuses it (for at most 10 s). */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

async function waitFor(timeoutMs: number, what: string, probe: () => Promise<boolean>, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Removes what runRestart created besides the fleet. */
export async function deleteRestart(k: Kube, shape: Pick<FleetShape, 'prefix'>): Promise<void> {
  const names = restartNames(shape);
  const gone = (p: Promise<unknown>): Promise<void> =>
    p.then(
      () => undefined,
      () => undefined,
    );
  await gone(k.custom.deleteClusterCustomObject({ group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets', name: names.idms }));
  const base = { group: HS_GROUP, version: HS_VERSION, namespace: names.namespace };
  for (const name of POOLS) await gone(k.custom.deleteNamespacedCustomObject({ ...base, plural: 'nodepools', name }));
  await gone(k.custom.deleteNamespacedCustomObject({ ...base, plural: 'hostedclusters', name: 'restart-hc' }));
}
