// Faults and steady state against the real API server: the API server goes
// away and comes back, and throttles the operator's lists and watches with
// 429 answers as it does (the operator reconnects and converges without a
// restart); two replicas with leader election (the follower is ready, takes
// over after the leader is killed with SIGKILL); resyncs with nothing
// changed write nothing (counted in the audit log). Prints the figures
// quoted in docs/operator.md.
import type { V1Lease } from '@kubernetes/client-node';
import { CoordinationV1Api, FlowcontrolApiserverV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { startApiServer, stopApiServer } from '../lib/controlplane.js';
import { deleteNamespace, isNotFound, waitUntil, type Kube } from '../lib/kube.js';
import {
  createNamespace,
  deleteCustom,
  HS,
  idmsDoc,
  type LogLine,
  mirrorsByLocation,
  OperatorProcess,
  putConfigMap,
  putCustom,
  readConfigMap,
  readClusterObject,
  condition,
  registriesConf,
  serviceAccountKubeconfig,
  waitReady,
} from './lib.js';

const OURS = 'imagemirror.io/v1alpha1';

/** A namespace with a HostedCluster, its mirror ConfigMap and `pools` NodePools. */
async function seedPools(k: Kube, ns: string, pools: number): Promise<string[]> {
  await createNamespace(k, ns);
  await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['mirror.example.net/release'] }]) });
  await putCustom(k, 'hostedclusters', HS, {
    kind: 'HostedCluster',
    metadata: { name: 'hc', namespace: ns },
    spec: { imageMirrorConfigRef: { name: 'mirrors' } },
  });
  const names = Array.from({ length: pools }, (_, i) => `pool-${i}`);
  for (const name of names) {
    await putCustom(k, 'nodepools', HS, { kind: 'NodePool', metadata: { name, namespace: ns }, spec: { clusterName: 'hc' } });
  }
  return names;
}

async function removePools(k: Kube, ns: string, names: readonly string[]): Promise<void> {
  for (const name of names) await deleteCustom(k, 'nodepools', HS, name, ns);
  await deleteCustom(k, 'hostedclusters', HS, 'hc', ns);
  await deleteNamespace(k, ns, { finalize: localControlPlane() !== undefined });
}

async function mirrorOf(k: Kube, ns: string, pool: string): Promise<string[] | undefined> {
  const cm = await readConfigMap(k, ns, `${pool}-image-mirrors`);
  return cm ? mirrorsByLocation(registriesConf(cm))['quay.io/release'] : undefined;
}

/**
 * Lists and watches of the ServiceAccount go to a priority level with no share of the server's concurrency and no
 * borrowing, which rejects what it cannot run: the informers' lists after a restart, all at once, get 429 answers
 * from API Priority and Fairness.
 */
async function throttleListsOf(flow: FlowcontrolApiserverV1Api, name: string, sa: { namespace: string; name: string }): Promise<void> {
  await flow.createPriorityLevelConfiguration({
    body: {
      metadata: { name },
      spec: {
        type: 'Limited',
        limited: { nominalConcurrencyShares: 0, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } },
      },
    },
  });
  await flow.createFlowSchema({
    body: {
      metadata: { name },
      spec: {
        priorityLevelConfiguration: { name },
        matchingPrecedence: 100,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [{ kind: 'ServiceAccount', serviceAccount: sa }],
            resourceRules: [{ verbs: ['list', 'watch'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
          },
        ],
      },
    },
  });
}

/** By informer, among those that failed in `lines`: when it logged its reconnect after its last failure (undefined: not yet). */
function reconnects(lines: readonly LogLine[]): Map<string, number | undefined> {
  const back = new Map<string, number | undefined>();
  for (const l of lines) {
    const name = String(l.informer);
    if (l.msg === 'list/watch failed; restarting') back.set(name, undefined);
    else if (l.msg === 'watch reconnected' && back.has(name)) back.set(name, Date.parse(String(l.time)));
  }
  return back;
}

describe('operator: API server restart', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `flt-${id}`;
  const opNs = `flt-op-${id}`;
  // Its own identity, throttled: the admin's (system:masters) is exempt from API Priority and Fairness.
  const sa = { namespace: opNs, name: 'controller' };
  const throttle = `image-mirror-e2e-throttle-${id}`;
  let k: Kube;
  let flow: FlowcontrolApiserverV1Api;
  let rbac: RbacAuthorizationV1Api;
  let op: OperatorProcess | undefined;
  let pools: string[] = [];
  let dir = '';

  before(async function () {
    if (!localControlPlane()) this.skip();
    k = kube();
    flow = k.kc.makeApiClient(FlowcontrolApiserverV1Api);
    rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
    pools = await seedPools(k, ns, 2);
    await createNamespace(k, opNs);
    await k.core.createNamespacedServiceAccount({ namespace: opNs, body: { metadata: { name: sa.name } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: throttle },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', ...sa }],
      },
    });
    await throttleListsOf(flow, throttle, sa);
    dir = await tempDir('restart');
  });
  after(async function () {
    if (!localControlPlane()) return;
    await op?.stop();
    await flow.deleteFlowSchema({ name: throttle }).catch(() => undefined);
    await flow.deletePriorityLevelConfiguration({ name: throttle }).catch(() => undefined);
    await rbac.deleteClusterRoleBinding({ name: throttle }).catch(() => undefined);
    await removePools(k, ns, pools);
    await deleteNamespace(k, opNs, { finalize: true });
    await removeDir(dir);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
  });

  it('reconnects every watch within 5 s of the API server being back (through 429 answers), and a change made then reaches the outputs within 5 s, without restarting', async () => {
    op = await OperatorProcess.start({ kubeconfig: await serviceAccountKubeconfig(k, sa, dir), namespace: opNs });
    await waitReady(k, ns, 'pool-0');
    const pid = op.pid;
    const cp = localControlPlane();
    if (!cp) throw new Error('no local control plane');
    const from = op.lines().length;
    await stopApiServer(cp);
    await waitUntil('the operator to see the API server gone', () => op?.lines().some((l) => l.msg === 'list/watch failed; restarting'), { timeoutMs: 20_000 });
    // Down long enough for the informers' backoff to reach its cap (250 ms doubling to 3 s).
    await new Promise((r) => setTimeout(r, 12_000));
    expect(await op.readyz(), 'caches stay filled while the API server is away').to.equal(200);
    await startApiServer(cp);
    const ready = Date.now();
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['mirror.example.net/after-restart'] }]) });
    for (const p of pools) {
      await waitUntil(`${p} to follow the change`, async () => (await mirrorOf(k, ns, p))?.[0] === 'mirror.example.net/after-restart', {
        timeoutMs: 60_000,
        intervalMs: 20,
      });
    }
    const converged = Date.now() - ready;
    // Every informer that failed has logged its reconnect after its last failure.
    await waitUntil('every watch to reconnect', () => [...reconnects(op?.lines().slice(from) ?? []).values()].every((t) => t !== undefined), {
      timeoutMs: 60_000,
    });
    const lines = op.lines().slice(from);
    const back = reconnects(lines);
    const slowest = Math.max(...[...back.values()].map((t) => (t ?? Infinity) - ready));
    const longestRetry = Math.max(...lines.map((l) => Number(l.retryInMs ?? 0)));
    const throttled = lines.filter((l) => l.msg === 'list/watch failed; restarting' && l.code === 429).length;
    console.log(
      `      ${back.size} watches failed (longest retry delay ${longestRetry} ms), ${throttled} times with 429 after the restart; the last was back ` +
        `${slowest} ms after the API server was ready; the change made then converged ${converged} ms after ready`,
    );
    expect(longestRetry, 'the backoff reached its cap').to.be.at.least(1_500);
    expect(throttled, '429 answers (API Priority and Fairness) to lists after the restart').to.be.greaterThan(0);
    expect(slowest, 'every watch back within 5 s of the API server being ready').to.be.at.most(5_000);
    expect(converged, 'the change made right after the restart in the outputs within 5 s').to.be.at.most(5_000);
    expect(op.exited).to.equal(false);
    expect(op.pid).to.equal(pid);
    expect(op.lines().filter((l) => l.msg === 'controller started')).to.have.length(1);
  });
});

describe('operator: leader election', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `le-${id}`;
  const opNs = `le-op-${id}`;
  const lease = { duration: 6, renew: 2, deadline: 4, retry: 1 };
  const args = [
    '--leader-elect',
    '--lease-name',
    `lease-${id}`,
    '--lease-duration',
    `${lease.duration}s`,
    '--lease-renew-period',
    `${lease.renew}s`,
    '--lease-renew-deadline',
    `${lease.deadline}s`,
    '--lease-retry-period',
    `${lease.retry}s`,
  ];
  let k: Kube;
  let coordination: CoordinationV1Api;
  let ops: OperatorProcess[] = [];
  let pools: string[] = [];

  const readLease = async (): Promise<V1Lease | undefined> => {
    try {
      return await coordination.readNamespacedLease({ namespace: opNs, name: `lease-${id}` });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const leaderOf = async (candidates: OperatorProcess[]): Promise<OperatorProcess | undefined> => {
    for (const o of candidates) if (!o.exited && (await o.metric('imagemirror_is_leader').catch(() => 0)) === 1) return o;
    return undefined;
  };

  before(async function () {
    k = kube();
    coordination = k.kc.makeApiClient(CoordinationV1Api);
    pools = await seedPools(k, ns, 1);
    await createNamespace(k, opNs);
  });
  after(async function () {
    for (const o of ops) await o.stop();
    await removePools(k, ns, pools);
    await deleteNamespace(k, opNs, { finalize: localControlPlane() !== undefined });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const o of ops) console.log(`operator ${o.pid} log:\n${o.tail()}`);
  });

  it('runs one leader; the follower is ready and takes over within the lease duration after the leader is killed', async () => {
    ops = [await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args })];
    await waitReady(k, ns, 'pool-0');
    ops.push(await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args }));
    const [first, second] = ops as [OperatorProcess, OperatorProcess];
    await second.waitReady();
    // Let the follower observe the current holder a few times.
    await new Promise((r) => setTimeout(r, 2 * lease.retry * 1000));
    expect(await leaderOf(ops)).to.equal(first);
    expect(await second.metric('imagemirror_is_leader')).to.equal(0);
    const holder = (await readLease())?.spec?.holderIdentity ?? '';
    expect(holder).to.not.equal('');

    const killedAt = Date.now();
    await first.kill();
    await waitUntil(
      'the follower to take the Lease',
      async () => {
        const h = (await readLease())?.spec?.holderIdentity;
        return h && h !== holder ? h : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const tookOver = Date.now() - killedAt;
    console.log(`      follower took over ${tookOver} ms after SIGKILL (lease ${lease.duration}s, renew ${lease.renew}s, retry ${lease.retry}s)`);
    expect(tookOver).to.be.at.most((lease.duration + lease.retry) * 1000 + 500);
    await waitUntil('the new leader to report it', async () => (await second.metric('imagemirror_is_leader')) === 1);
    expect((await readLease())?.spec?.leaseTransitions).to.equal(1);

    // The new leader does the work.
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['mirror.example.net/new-leader'] }]) });
    await waitUntil('the new leader to render the change', async () => (await mirrorOf(k, ns, 'pool-0'))?.[0] === 'mirror.example.net/new-leader');
  });

  it('hands the Lease back on SIGTERM and exits 0', async () => {
    const leader = await leaderOf(ops);
    if (!leader) throw new Error('no leader');
    const code = await leader.stop();
    expect(code).to.equal(0);
    expect((await readLease())?.spec?.holderIdentity).to.equal('');
    expect(leader.lines().some((l) => l.msg === 'released the lease')).to.equal(true);
  });
});

describe('operator: steady state', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `ss-${id}`;
  const opNs = `ss-op-${id}`;
  const poolCount = 20;
  let k: Kube;
  let op: OperatorProcess | undefined;
  let pools: string[] = [];

  before(async function () {
    if (!auditLog()) this.skip();
    k = kube();
    pools = await seedPools(k, ns, poolCount);
    await createNamespace(k, opNs);
    await putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name: `ss-${id}` },
      spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: ['mirror.example.net/hub'] }] },
    });
  });
  after(async function () {
    if (!auditLog()) return;
    await op?.stop();
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `ss-${id}`);
    await removePools(k, ns, pools);
    await deleteNamespace(k, opNs, { finalize: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
  });

  it('converges, then resyncs with nothing changed make zero writes', async () => {
    const audit = auditLog();
    if (!audit) throw new Error('no audit log');
    const started = Date.now();
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--resync-period', '1s'] });
    for (const p of pools) await waitReady(k, ns, p);
    const convergedMs = Date.now() - started;
    await waitUntil(
      'the IDMS to be Applied',
      async () => condition((await readClusterObject(k, 'imagedigestmirrorsets', `ss-${id}`)).status, 'Applied')?.status === 'True',
    );
    // Let the initial burst (object statuses) settle before counting.
    await waitUntil(
      'the queue and the status writes to drain',
      async () => (await op?.metric('imagemirror_queue_depth')) === 0 && (await op?.metric('imagemirror_status_writes_pending')) === 0,
    );
    await new Promise((r) => setTimeout(r, 1500));

    const mark = await audit.mark();
    const before = await op.metric('imagemirror_reconcile_total', { result: 'unchanged' });
    const writesBefore = await op.metric('imagemirror_api_writes_total');
    await new Promise((r) => setTimeout(r, 3500));
    const passes = (await op.metric('imagemirror_reconcile_total', { result: 'unchanged' })) - before;
    const auditWrites = await audit.countWrites({ succeededOnly: false }, mark);
    const opWrites = (await op.metric('imagemirror_api_writes_total')) - writesBefore;
    const rss = op.rssBytes();
    const rssMetric = await op.metric('process_resident_memory_bytes');
    console.log(
      `      ${poolCount} NodePools: converged ${convergedMs} ms after start; ${passes} unchanged passes in 3.5 s of 1 s resyncs, ` +
        `${auditWrites} writes (audit), ${opWrites} writes (metric); RSS ${(rss / 2 ** 20).toFixed(1)} MiB (/proc), ${(rssMetric / 2 ** 20).toFixed(1)} MiB (metric)`,
    );
    expect(passes, 'resyncs ran').to.be.at.least(2 * poolCount);
    expect(auditWrites).to.equal(0);
    expect(opWrites).to.equal(0);
  });
});
