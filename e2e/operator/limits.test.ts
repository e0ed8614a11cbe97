// Kubernetes' limits on the real API server: NodePool names of 63 and 253
// characters and a 250-character registry host give valid outputs (short
// forms of names, label values and keys, contract.ts and render/paths.ts)
// that the agent maps to the right files; a 300-character host, a write the
// API server refuses (422 from an admission policy) and an output Secret of
// another type are each reported in the target's RenderedMirrorConfig and as
// an Event within seconds, without a retry loop, while the other targets keep
// converging.
import type { KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { agentOnce } from '../chain/lib.js';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import type { AuditLog } from '../lib/audit.js';
import { apply, deleteNamespace, deleteObject, waitUntil, type Kube } from '../lib/kube.js';
import {
  condition,
  createNamespace,
  deleteCustom,
  eventsAbout,
  HS,
  idmsDoc,
  mirrorsByLocation,
  OperatorProcess,
  putConfigMap,
  putCustom,
  putSecret,
  readConfigMap,
  readRmc,
  readSecret,
  registriesConf,
  waitDegraded,
  waitReady,
} from './lib.js';

const OURS = 'imagemirror.io/v1alpha1';
const TARGET_LABEL = 'imagemirror.io/target';
const OUTPUT_LABEL = 'imagemirror.io/output';
const NODEPOOL_LABEL = 'hypershift.openshift.io/nodePool';
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const KEY = /^[-._a-zA-Z0-9]+$/;
/** Within this a problem must be in the status (the operator reacts to watch events). */
const SECONDS = 10_000;

const labelsOf = (n: number, ch: string): string => {
  const parts: string[] = [];
  for (let left = n; left > 0; left -= 64) parts.push(ch.repeat(Math.min(63, left)));
  return parts.join('.');
};

describe('operator: names, keys and refused writes at the limits of the real API server', function () {
  this.timeout(180_000);
  const id = randomBytes(3).toString('hex');
  const ns = `lim-${id}`;
  const opNs = `lim-op-${id}`;
  const nodeName = `lim-node-${id}`;
  /** 63 characters: the longest a Node label (and so HyperShift) allows. */
  const pool63 = `p63-${id}-${'a'.repeat(63 - 5 - id.length)}`;
  /** 253 characters: the longest object name; its output name, label and Events need short forms. */
  const pool253 = labelsOf(253, 'b');
  /** 250 characters: with ":5000" the 255 of an image reference; containerd keys of it pass 253. */
  const host250 = `${labelsOf(245, 'h')}.test`;
  const host300 = `${labelsOf(295, 'x')}.test`;
  const good = ['short', pool63];
  let k: Kube;
  let audit: AuditLog | undefined;
  let op: OperatorProcess | undefined;
  let dir: string;
  const cleanup: KubernetesObject[] = [];

  const nodePool = async (name: string, role: string, extra: Record<string, unknown> = {}): Promise<void> =>
    // Every agent file (containerd's too: the keys and paths at the limits are the point here).
    putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name, namespace: ns, labels: { lim: id, role }, annotations: { 'imagemirror.io/agent-files': 'all' } },
      spec: { clusterName: 'hc', ...extra },
    });
  const outputOf = async (pool: string): Promise<string> => {
    const rmc = await waitReady(k, ns, pool, { timeoutMs: 60_000 });
    return rmc.status?.outputs?.configMap ?? '';
  };
  const shared = (mirror: string): string => idmsDoc('release', [{ source: 'quay.io/release', mirrors: [mirror] }]);
  /** The good targets follow a change of an input they all read. */
  const goodTargetsFollow = async (mirror: string): Promise<number> => {
    const t = Date.now();
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': shared(mirror) });
    for (const pool of good) {
      await waitUntil(
        `${pool} to follow`,
        async () => {
          const name = (await readRmc(k, ns, pool))?.status?.outputs?.configMap;
          const cm = name ? await readConfigMap(k, ns, name) : undefined;
          return cm && mirrorsByLocation(registriesConf(cm))['quay.io/release']?.[0] === mirror;
        },
        { timeoutMs: SECONDS, intervalMs: 50 },
      );
    }
    return Date.now() - t;
  };

  before(async () => {
    k = kube();
    audit = auditLog();
    dir = await tempDir('limits');
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': shared('mirror.example.net/release') });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    await putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name: `lim-${id}` },
      spec: { nodePoolSelector: { matchLabels: { lim: id, role: 'ok' } }, imageDigestMirrors: [{ source: host250, mirrors: [`${host250}:5000`] }] },
    });
    for (const pool of [...good, pool253]) await nodePool(pool, 'ok');
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs });
  });

  after(async () => {
    await op?.stop();
    for (const o of cleanup.reverse()) await deleteObject(k, o).catch(() => undefined);
    for (const pool of [...good, pool253, 'refused', 'tls']) await deleteCustom(k, 'nodepools', HS, pool, ns);
    await deleteCustom(k, 'hostedclusters', HS, 'hc', ns);
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `lim-${id}`);
    await deleteCustom(k, 'registryaccesses', OURS, `lim-${id}`);
    await k.core.deleteNode({ name: nodeName }).catch(() => undefined);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
    await removeDir(dir);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail(60)}`);
  });

  it('NodePool names of 63 and 253 characters: valid outputs and status within seconds; names that fit are unchanged', async () => {
    const t = Date.now();
    const names: Record<string, string> = {};
    for (const pool of [...good, pool253]) names[pool] = await outputOf(pool);
    console.log(`      3 targets (names of 5, 63 and 253 characters) Ready ${Date.now() - (op?.startedAt ?? t)} ms after the operator started`);
    expect(names.short).to.equal('short-image-mirrors');
    expect(names[pool63]).to.equal(`${pool63}-image-mirrors`);
    const long = names[pool253] ?? '';
    expect(long)
      .to.have.length(253)
      .and.match(/-[0-9a-f]{16}-image-mirrors$/)
      .and.match(DNS_NAME);
    expect(long.startsWith(pool253.slice(0, 200))).to.equal(true);
    for (const pool of [...good, pool253]) {
      const cm = await readConfigMap(k, ns, names[pool] ?? '');
      const label = cm?.metadata?.labels?.[TARGET_LABEL] ?? '';
      expect(label, pool).to.match(LABEL_VALUE);
      expect(label.length, pool).to.be.at.most(63);
      expect(cm?.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).to.deep.equal([`NodePool/${pool}`]);
      expect((await readRmc(k, ns, pool))?.metadata.labels?.[TARGET_LABEL], `RenderedMirrorConfig ${pool}`).to.equal(label);
    }
    expect((await readConfigMap(k, ns, names.short ?? ''))?.metadata?.labels?.[TARGET_LABEL]).to.equal(`${ns}.short`);
    // `<namespace>.<name>` of the 63-character pool has 73 characters: a short form that names neither.
    expect((await readConfigMap(k, ns, names[pool63] ?? ''))?.metadata?.labels?.[TARGET_LABEL]).to.not.equal(`${ns}.${pool63}`);
  });

  it('a 250-character host: every key is valid, and the agent of a 63-character pool installs each file at its full path', async () => {
    const cm = await readConfigMap(k, ns, `${pool63}-image-mirrors`);
    const data = cm?.data ?? {};
    for (const key of Object.keys(data)) {
      expect(key.length, key).to.be.at.most(253);
      expect(key, key).to.match(KEY);
    }
    const manifest = JSON.parse(data['files.json'] ?? '{}') as Record<string, { path: string; from: string }>;
    const hostsToml = Object.entries(manifest).find(([, e]) => e.path === `/etc/containerd/certs.d/${host250}/hosts.toml`);
    expect(
      hostsToml,
      Object.values(manifest)
        .map((e) => e.path)
        .join('\n'),
    ).to.not.equal(undefined);
    const [key] = hostsToml ?? [''];
    expect(key).to.match(/-[0-9a-f]{16}\.toml$/);

    await k.core.createNode({ body: { metadata: { name: nodeName, labels: { [NODEPOOL_LABEL]: pool63 } } } });
    const root = path.join(dir, 'root');
    await mkdir(root);
    const res = await agentOnce([
      '--kubeconfig',
      kubeconfigPath(),
      '--node-name',
      nodeName,
      '--nodepool-namespace',
      ns,
      '--root',
      root,
      '--containerd-config',
      '',
    ]);
    expect(res.code, res.stdout + res.stderr).to.equal(0);
    for (const [k2, e] of Object.entries(manifest)) {
      if (e.from !== 'ConfigMap') continue;
      expect(await readFile(path.join(root, e.path), 'utf8'), e.path).to.contain(data[k2] ?? '');
    }
    const node = await k.core.readNode({ name: nodeName });
    expect(node.metadata?.annotations?.['imagemirror.io/applied-hash']).to.equal(cm?.metadata?.annotations?.['imagemirror.io/content-hash']);
  });

  it('a 300-character host in a spec.config ConfigMap: InvalidSource on that target within seconds, with an Event on it; the others keep converging', async () => {
    await putConfigMap(k, ns, 'long-host', { config: idmsDoc('long', [{ source: host300, mirrors: ['mirror.example.net/long'] }]) });
    const t = Date.now();
    await nodePool(pool253, 'ok', { config: [{ name: 'long-host' }] });
    const rmc = await waitDegraded(k, ns, pool253, 'InvalidSource', SECONDS);
    const took = Date.now() - t;
    const degraded = condition(rmc.status, 'Degraded');
    expect(degraded?.message).to.contain(`ConfigMap ${ns}/long-host key config`).and.contain('spec.imageDigestMirrors[0].source');
    expect(degraded?.message).to.match(/is 300 characters long/);
    expect(condition(rmc.status, 'Ready')).to.include({ status: 'False', reason: 'InvalidInputs' });
    // The last good output stays.
    expect(rmc.status?.contentHash).to.match(/^sha256:/);
    const event = await waitUntil('a Warning event on the 253-character NodePool', async () =>
      (await eventsAbout(k, ns, pool253, 'NodePool')).find((e) => e.type === 'Warning' && e.reason === 'InvalidSource'),
    );
    expect(event.involvedObject).to.include({ kind: 'NodePool', name: pool253 });
    expect(event.metadata?.name?.length).to.be.at.most(63);
    const follow = await goodTargetsFollow('mirror.example.net/release-2');
    console.log(`      300-character host: Degraded InvalidSource after ${took} ms; the other targets followed a change in ${follow} ms`);
  });

  it('a write the API server refuses (422 from an admission policy): Degraded OutputRejected within seconds, an Event, no retry loop; others converge', async () => {
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: `lim-${id}` },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
        validations: [
          {
            expression: "!has(object.data) || !object.data.exists(k, object.data[k].contains('denied.example'))",
            message: 'mirrors on denied.example are not allowed in this namespace',
          },
        ],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: `lim-${id}` },
      spec: {
        policyName: `lim-${id}`,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          objectSelector: { matchExpressions: [{ key: OUTPUT_LABEL, operator: 'Exists' }] },
        },
      },
    };
    for (const o of [policy, binding]) {
      await apply(k, o);
      cleanup.push(o);
    }
    await putConfigMap(k, ns, 'denied', { config: idmsDoc('denied', [{ source: 'registry.example.com/team', mirrors: ['denied.example/team'] }]) });
    // Policies take effect after a short while: until then a write of the pool below would pass.
    await waitUntil(
      'the policy to deny output ConfigMaps',
      async () => {
        try {
          await k.core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: `probe-${id}`, labels: { [OUTPUT_LABEL]: 'probe' } }, data: { a: 'denied.example' } },
          });
          await k.core.deleteNamespacedConfigMap({ namespace: ns, name: `probe-${id}` });
          return false;
        } catch (err) {
          return (err as { code?: number }).code === 422;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const mark = (await audit?.mark()) ?? 0;
    const t = Date.now();
    await nodePool('refused', 'refused', { config: [{ name: 'denied' }] });
    const rmc = await waitDegraded(k, ns, 'refused', 'OutputRejected', SECONDS);
    const took = Date.now() - t;
    const degraded = condition(rmc.status, 'Degraded');
    expect(degraded?.message).to.contain(`ConfigMap ${ns}/refused-image-mirrors: the API server refused to create it (HTTP 422 Invalid): `);
    expect(degraded?.message).to.contain(`ValidatingAdmissionPolicy 'lim-${id}'`).and.contain('mirrors on denied.example are not allowed in this namespace');
    expect(condition(rmc.status, 'Ready')).to.include({ status: 'False', reason: 'OutputRejected' });
    const problems = (rmc.status as { problems?: Array<{ reason: string; object?: { kind: string; name: string } }> }).problems ?? [];
    expect(problems[0]).to.deep.include({
      reason: 'OutputRejected',
      object: { apiVersion: 'v1', kind: 'ConfigMap', name: 'refused-image-mirrors', namespace: ns },
    });
    const event = await waitUntil('a Warning event on NodePool refused', async () =>
      (await eventsAbout(k, ns, 'refused')).find((e) => e.type === 'Warning' && e.reason === 'OutputRejected'),
    );
    expect(event.message).to.contain('refused-image-mirrors');
    const follow = await goodTargetsFollow('mirror.example.net/release-3');
    // No loop: over the next seconds, no more attempts than the passes the changes above caused.
    await new Promise((r) => setTimeout(r, 4_000));
    if (audit) {
      const attempts = (await audit.events(mark)).filter(
        (e) => e.objectRef?.resource === 'configmaps' && e.objectRef.name === 'refused-image-mirrors' && e.verb === 'create',
      );
      console.log(
        `      refused write: Degraded OutputRejected after ${took} ms; ${attempts.length} create attempts in ${Date.now() - t} ms; others followed in ${follow} ms`,
      );
      expect(attempts.map((e) => e.responseStatus?.code)).to.satisfy(
        (codes: number[]) => codes.length >= 1 && codes.length <= 3 && codes.every((c) => c === 422),
      );
    }
    // Without the policy, the next change of the target's inputs publishes it.
    for (const o of [binding, policy]) await deleteObject(k, o);
    await waitUntil(
      'the policy to be gone',
      async () => {
        try {
          await k.core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: `probe-${id}`, labels: { [OUTPUT_LABEL]: 'probe' } }, data: { a: 'denied.example' } },
          });
          await k.core.deleteNamespacedConfigMap({ namespace: ns, name: `probe-${id}` });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await putConfigMap(k, ns, 'denied', {
      config: idmsDoc('denied', [{ source: 'registry.example.com/team', mirrors: ['denied.example/team', 'mirror.example.net/team'] }]),
    });
    await waitReady(k, ns, 'refused', { timeoutMs: SECONDS });
    expect(mirrorsByLocation(registriesConf(await readConfigMap(k, ns, 'refused-image-mirrors')))['registry.example.com/team']).to.deep.equal([
      'denied.example/team',
      'mirror.example.net/team',
    ]);
  });

  it('an output Secret of another type: Degraded OutputTypeConflict within seconds, an Event; the Secret is left exactly as it was', async () => {
    await putSecret(k, ns, 'creds', 'kubernetes.io/basic-auth', { username: 'robot', password: `pw-${id}` });
    await nodePool('tls', 'tls');
    const before = await readConfigMap(k, ns, await outputOf('tls'));
    const np = (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'tls',
    })) as {
      metadata: { uid: string };
    };
    const created = await k.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: {
          name: 'tls-image-mirrors',
          labels: { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: `${ns}.tls` },
          ownerReferences: [{ apiVersion: HS, kind: 'NodePool', name: 'tls', uid: np.metadata.uid, controller: true }],
        },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': 'not a real certificate', 'tls.key': 'not a real key' },
      },
    });
    const mark = (await audit?.mark()) ?? 0;
    const t = Date.now();
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `lim-${id}` },
      spec: {
        nodePoolSelector: { matchLabels: { lim: id, role: 'tls' } },
        hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: ns, name: 'creds' } }],
      },
    });
    const rmc = await waitDegraded(k, ns, 'tls', 'OutputTypeConflict', SECONDS);
    const took = Date.now() - t;
    expect(condition(rmc.status, 'Degraded')?.message).to.contain(`Secret ${ns}/tls-image-mirrors: type: it exists with type "kubernetes.io/tls"`);
    expect(condition(rmc.status, 'Degraded')?.message).to.not.contain(`pw-${id}`);
    const event = await waitUntil('a Warning event on NodePool tls', async () =>
      (await eventsAbout(k, ns, 'tls')).find((e) => e.type === 'Warning' && e.reason === 'OutputTypeConflict'),
    );
    expect(event.message).to.contain('tls-image-mirrors');
    const now = await readSecret(k, ns, 'tls-image-mirrors');
    expect(now?.metadata?.resourceVersion).to.equal(created.metadata?.resourceVersion);
    expect(now?.type).to.equal('kubernetes.io/tls');
    // Nothing new is published: the ConfigMap would list Secret keys that are not there.
    const after = await readConfigMap(k, ns, 'tls-image-mirrors');
    expect(after?.metadata?.resourceVersion).to.equal(before?.metadata?.resourceVersion);
    if (audit) {
      const writes = (await audit.events(mark)).filter((e) => e.objectRef?.name === 'tls-image-mirrors' && e.objectRef.resource === 'secrets');
      expect(writes.map((e) => `${e.verb} ${e.responseStatus?.code}`)).to.deep.equal([]);
    }
    const follow = await goodTargetsFollow('mirror.example.net/release-4');
    console.log(`      Secret of another type: Degraded OutputTypeConflict after ${took} ms; the other targets followed a change in ${follow} ms`);
  });
});
