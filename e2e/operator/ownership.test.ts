// Ownership of outputs and the content hash, against the real API server
// (docs/api.md "Ownership of outputs", "Content hash"): a user's own
// ConfigMap and Secret that already have an output's name are never written
// or deleted, also when their NodePool goes; the conflict is reported in
// status and as an Event within seconds, and the target converges once the
// user removes them. A rotated password changes the content hash, the
// lastRenderedTime and the hash the agent reports; a tampered hash annotation
// or a removed owner reference is repaired on its watch event (the resync is
// 10 minutes away). Prints the figures quoted in the closing note.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { agentOnce } from '../chain/lib.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import {
  condition,
  createNamespace,
  deleteCustom,
  eventsAbout,
  HS,
  OperatorProcess,
  putCustom,
  readConfigMap,
  readRmc,
  readSecret,
  waitDegraded,
  waitReady,
} from './lib.js';

const OURS = 'imagemirror.io/v1alpha1';
const HASH = 'imagemirror.io/content-hash';

/** What must stay exactly as the user wrote it. */
function snapshot(o: V1ConfigMap | V1Secret | undefined): unknown {
  if (!o) return undefined;
  const m = o.metadata ?? {};
  return {
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    labels: m.labels,
    annotations: m.annotations,
    ownerReferences: m.ownerReferences,
    data: o.data,
    ...('type' in o ? { type: o.type } : {}),
  };
}

describe('operator: ownership of outputs and the content hash', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `own-${id}`;
  const opNs = `own-op-${id}`;
  const out = 'pool-image-mirrors';
  const goneOut = 'gone-image-mirrors';
  const nodeName = `own-node-${id}`;
  let k: Kube;
  let op: OperatorProcess;
  let startedAt = 0;
  let auditMark = 0;
  const users = new Map<string, unknown>();

  const userConfigMap = (name: string): V1ConfigMap => ({
    metadata: { name, namespace: ns, labels: { app: 'mine' }, annotations: { note: 'written by a user' } },
    data: { 'app.properties': `color=blue\nid=${id}\n` },
  });
  const userSecret = (name: string): V1Secret => ({
    metadata: { name, namespace: ns, labels: { app: 'mine' } },
    type: 'Opaque',
    stringData: { token: `users-own-token-${id}` },
  });
  const setPassword = async (password: string): Promise<void> => {
    const body: V1Secret = { metadata: { name: 'creds', namespace: opNs }, type: 'kubernetes.io/basic-auth', stringData: { username: 'robot', password } };
    await k.core.replaceNamespacedSecret({ namespace: opNs, name: 'creds', body }).catch(() => k.core.createNamespacedSecret({ namespace: opNs, body }));
  };
  const userObjects = async (name: string): Promise<[unknown, unknown]> => [
    snapshot(await readConfigMap(k, ns, name)),
    snapshot(await readSecret(k, ns, name)),
  ];

  before(async function () {
    k = kube();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await k.core.createNode({ body: { metadata: { name: nodeName, labels: { 'hypershift.openshift.io/nodePool': 'pool' } } } });
    await setPassword(`first-${id}`);
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `own-${id}` },
      spec: {
        nodePoolSelector: { matchLabels: { own: id } },
        hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: opNs, name: 'creds' } }],
      },
    });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: ns },
      spec: { imageContentSources: [{ source: 'quay.io/openshift-release-dev', mirrors: ['mirror.example.net/release'] }] },
    });
    // The user's objects exist before the operator ever ran: no cache of its knows them.
    for (const name of [out, goneOut]) {
      await k.core.createNamespacedConfigMap({ namespace: ns, body: userConfigMap(name) });
      await k.core.createNamespacedSecret({ namespace: ns, body: userSecret(name) });
    }
    for (const name of ['pool', 'gone']) {
      await putCustom(k, 'nodepools', HS, { kind: 'NodePool', metadata: { name, namespace: ns, labels: { own: id } }, spec: { clusterName: 'hc' } });
    }
    for (const name of [out, goneOut]) users.set(name, await userObjects(name));
    auditMark = (await auditLog()?.mark()) ?? 0;
    startedAt = Date.now();
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs });
  });

  after(async function () {
    await op?.stop();
    await deleteCustom(k, 'registryaccesses', OURS, `own-${id}`);
    for (const name of ['pool', 'gone']) await deleteCustom(k, 'nodepools', HS, name, ns);
    await deleteCustom(k, 'hostedclusters', HS, 'hc', ns);
    for (const name of [out, goneOut]) {
      await k.core.deleteNamespacedConfigMap({ namespace: ns, name }).catch(() => undefined);
      await k.core.deleteNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
    }
    await k.core.deleteNode({ name: nodeName }).catch(() => undefined);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`operator log:\n${op.tail()}`);
  });

  it("reports a user's ConfigMap and Secret under the output name within seconds, as OutputNameConflict and an Event, and leaves them byte for byte", async () => {
    const rmc = await waitDegraded(k, ns, 'pool', 'OutputNameConflict', 15_000);
    const seen = Date.now();
    const workers = op.lines().find((l) => l.msg === 'workers started');
    const sinceWorkers = workers ? `, ${seen - Date.parse(String(workers.time))} ms after its workers started` : '';
    console.log(`      conflict in status ${seen - startedAt} ms after the operator process was started${sinceWorkers}`);
    const degraded = condition(rmc.status, 'Degraded');
    expect(degraded?.message).to.contain(`ConfigMap ${ns}/${out} exists and is not the operator's`);
    expect(degraded?.message).to.contain(`Secret ${ns}/${out} exists and is not the operator's`);
    expect(condition(rmc.status, 'Ready')).to.include({ status: 'False', reason: 'OutputNameConflict' });
    expect(rmc.status?.contentHash).to.equal(undefined);
    const events = await waitUntil('the OutputNameConflict Event', async () => {
      const list = (await eventsAbout(k, ns, 'pool')).filter((e) => e.reason === 'OutputNameConflict');
      return list.length > 1 ? list : undefined;
    });
    // On the NodePool and on its RenderedMirrorConfig.
    expect(events.map((e) => [e.type, e.involvedObject.kind, e.involvedObject.namespace]).sort()).to.deep.equal([
      ['Warning', 'NodePool', ns],
      ['Warning', 'RenderedMirrorConfig', ns],
    ]);
    expect(events[0]?.message).to.contain(`ConfigMap ${ns}/${out}`);

    // Still reported, still untouched, a while later.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(condition((await readRmc(k, ns, 'pool'))?.status, 'Degraded')).to.include({ status: 'True', reason: 'OutputNameConflict' });
    for (const name of [out, goneOut]) expect(await userObjects(name), name).to.deep.equal(users.get(name));
    const audit = auditLog();
    if (audit) {
      const touched = (await audit.events(auditMark)).filter(
        (e) =>
          e.objectRef?.namespace === ns &&
          [out, goneOut].includes(e.objectRef?.name ?? '') &&
          ['configmaps', 'secrets'].includes(e.objectRef?.resource ?? '') &&
          ['update', 'patch', 'delete'].includes(e.verb),
      );
      expect(touched.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} ${e.responseStatus?.code}`)).to.deep.equal([]);
    }
  });

  it('never deletes them when their NodePool is deleted', async () => {
    await waitDegraded(k, ns, 'gone', 'OutputNameConflict');
    await deleteCustom(k, 'nodepools', HS, 'gone', ns);
    await waitUntil('the status of the deleted NodePool to be gone', async () => (await readRmc(k, ns, 'gone')) === undefined);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await userObjects(goneOut)).to.deep.equal(users.get(goneOut));
  });

  it('converges by itself once the user deletes their objects', async () => {
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: out });
    // The Secret still holds its name: still reported, now for the Secret alone.
    const rmc = await waitUntil('the conflict to name the Secret alone', async () => {
      const r = await readRmc(k, ns, 'pool');
      const m = condition(r?.status, 'Degraded')?.message ?? '';
      return m.includes(`Secret ${ns}/${out}`) && !m.includes(`ConfigMap ${ns}/${out}`) ? r : undefined;
    });
    expect(condition(rmc.status, 'Degraded')?.reason).to.equal('OutputNameConflict');
    expect(await readConfigMap(k, ns, out), 'nothing is written while a name is taken').to.equal(undefined);
    const t = Date.now();
    await k.core.deleteNamespacedSecret({ namespace: ns, name: out });
    const ready = await waitReady(k, ns, 'pool', { timeoutMs: 20_000 });
    console.log(`      output published ${Date.now() - t} ms after the user deleted their Secret`);
    expect(ready.status?.outputs).to.deep.equal({ configMap: out, secret: out });
    for (const o of [await readConfigMap(k, ns, out), await readSecret(k, ns, out)]) {
      expect(o?.metadata?.labels).to.include({ 'imagemirror.io/output': 'true', 'imagemirror.io/target': `${ns}.pool` });
      expect(o?.metadata?.annotations?.[HASH]).to.equal(ready.status?.contentHash);
    }
    await waitUntil('the Recovered Event', async () => (await eventsAbout(k, ns, 'pool')).some((e) => e.reason === 'Recovered'));
  });

  it("changes contentHash, lastRenderedTime and the agent's applied hash when only a password rotates", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'own-agent-'));
    const agent = async (): Promise<string | undefined> => {
      const res = await agentOnce([
        '--kubeconfig',
        kubeconfigPath(),
        '--node-name',
        nodeName,
        '--namespace',
        opNs,
        '--nodepool-namespace',
        ns,
        '--root',
        root,
        '--containerd-config',
        '',
      ]);
      expect(res.code, res.stdout + res.stderr).to.equal(0);
      return (await k.core.readNode({ name: nodeName })).metadata?.annotations?.['imagemirror.io/applied-hash'];
    };
    try {
      const before = await waitReady(k, ns, 'pool');
      const cmBefore = await readConfigMap(k, ns, out);
      expect(await agent()).to.equal(before.status?.contentHash);
      // One second later at least: lastRenderedTime has a resolution of seconds.
      await new Promise((r) => setTimeout(r, 1_100));
      const t = Date.now();
      await setPassword(`second-${id}`);
      const after = await waitReady(k, ns, 'pool', { notHash: before.status?.contentHash ?? '' });
      console.log(`      new content hash ${Date.now() - t} ms after the password changed`);
      const status = after.status as { contentHash?: string; lastRenderedTime?: string };
      const prev = before.status as { lastRenderedTime?: string };
      expect(status.lastRenderedTime).to.not.equal(prev.lastRenderedTime);
      // Only the Secret changed; the ConfigMap data is the same, its annotation is not.
      const cmAfter = await readConfigMap(k, ns, out);
      expect(cmAfter?.data).to.deep.equal(cmBefore?.data);
      expect(cmAfter?.metadata?.annotations?.[HASH]).to.equal(status.contentHash);
      expect((await readSecret(k, ns, out))?.metadata?.annotations?.[HASH]).to.equal(status.contentHash);
      expect(JSON.stringify(after)).to.not.contain(`second-${id}`);
      // The agent installs the new Secret and reports the new hash.
      expect(await agent()).to.equal(status.contentHash);
      const auth = await readFile(path.join(root, 'etc/containers/auth.json'), 'utf8');
      expect(auth).to.contain(Buffer.from(`robot:second-${id}`).toString('base64'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  for (const kind of ['ConfigMap', 'Secret'] as const) {
    it(`repairs a tampered content hash annotation and a removed owner reference of the ${kind} within seconds`, async () => {
      const good = (await waitReady(k, ns, 'pool')).status?.contentHash;
      const read = (): Promise<V1ConfigMap | V1Secret | undefined> => (kind === 'ConfigMap' ? readConfigMap(k, ns, out) : readSecret(k, ns, out));
      const replace = async (edit: (o: V1ConfigMap & V1Secret) => void): Promise<void> => {
        const o = (await read()) as V1ConfigMap & V1Secret;
        edit(o);
        if (kind === 'ConfigMap') await k.core.replaceNamespacedConfigMap({ namespace: ns, name: out, body: o });
        else await k.core.replaceNamespacedSecret({ namespace: ns, name: out, body: o });
      };
      let t = Date.now();
      await replace((o) => {
        o.metadata = { ...o.metadata, annotations: { ...o.metadata?.annotations, [HASH]: `sha256:${'0'.repeat(64)}` } };
      });
      await waitUntil(`the ${kind} annotation repaired`, async () => (await read())?.metadata?.annotations?.[HASH] === good, {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      console.log(`      ${kind} content hash annotation repaired after ${Date.now() - t} ms`);
      t = Date.now();
      await replace((o) => {
        if (o.metadata) delete o.metadata.ownerReferences;
      });
      const back = await waitUntil(
        `the ${kind} owner reference repaired`,
        async () => {
          const refs = (await read())?.metadata?.ownerReferences ?? [];
          return refs.some((r) => r.kind === 'NodePool' && r.name === 'pool' && r.controller === true) ? refs : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      console.log(`      ${kind} owner reference repaired after ${Date.now() - t} ms`);
      expect(back).to.have.length(1);
      expect((await readRmc(k, ns, 'pool'))?.status?.contentHash).to.equal(good);
    });
  }
});
