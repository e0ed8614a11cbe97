// HyperShift delivery on the real API server: a NodePool's output ConfigMap
// carries a MachineConfig under `config`, and with the opt-in annotation the
// operator lists that ConfigMap in NodePool.spec.config, touching nothing
// else, and takes the entry out again when the opt-in or the output goes.
// Writes are counted in the control plane's audit log.
import { PatchStrategy, setHeaderOptions, type V1ConfigMap } from '@kubernetes/client-node';
import { expect } from 'chai';
import { load } from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import type { AuditLog } from '../lib/audit.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import {
  condition,
  createNamespace,
  deleteCustom,
  GROUP,
  HS,
  idmsDoc,
  OperatorProcess,
  putConfigMap,
  putCustom,
  putSecret,
  readConfigMap,
  readRmc,
  waitDegraded,
  waitReady,
} from './lib.js';
import { TEST_CA_PEM } from '../../test/lib/pki.js';

const OURS = `${GROUP}/v1alpha1`;
const MIRROR = 'mirror.corp.example:5000';
const CA_PEM = TEST_CA_PEM;
const MANAGE = 'imagemirror.io/manage-config-ref';
const ADDED = 'imagemirror.io/config-ref-added';
const OUT = 'workers-image-mirrors';
const REGISTRIES_CONF_PATH = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const MACHINE_CONFIG_DOC =
  'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: 99-user}\nspec: {kernelArguments: [nosmt]}\n';

interface NodePoolObject {
  metadata: { name: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { clusterName: string; replicas?: number; config?: Array<{ name: string }>; [k: string]: unknown };
}

interface IgnitionFile {
  path: string;
  mode: number;
  overwrite: boolean;
  contents: { source: string };
}

describe('operator: NodePool.spec.config delivery on the real API server', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `npcfg-${id}`;
  const opNs = `npcfg-op-${id}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let k: Kube;
  let audit: AuditLog | undefined;
  let op: OperatorProcess | undefined;

  const readNodePool = async (): Promise<NodePoolObject> =>
    (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'workers',
    })) as NodePoolObject;

  /** A user's edit: a JSON merge patch (the operator itself sends JSON patches). */
  const mergePatchNodePool = async (body: object): Promise<void> => {
    await k.custom.patchNamespacedCustomObject(
      { group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools', namespace: ns, name: 'workers', body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };

  const nodePoolPatches = async (mark: number): Promise<number> =>
    (await audit?.countWrites({ resource: 'nodepools', namespace: ns, name: 'workers', verbs: ['patch', 'update'] }, mark)) ?? 0;

  /** The operator has rendered the NodePool's current generation and is Ready. */
  const settled = async (): Promise<void> => {
    const generation = (await readNodePool()).metadata.generation;
    await waitUntil(
      'the status to catch up with the NodePool',
      async () => {
        const rmc = await readRmc(k, ns, 'workers');
        const seen = rmc?.status?.contributors?.find((c) => c.kind === 'NodePool' && c.name === 'workers')?.generation;
        return seen === generation && condition(rmc?.status, 'Ready')?.status === 'True';
      },
      { intervalMs: 50 },
    );
  };

  before(async function () {
    k = kube();
    audit = auditLog();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await putConfigMap(k, ns, 'user-config', {
      config: `${idmsDoc('user', [{ source: 'registry.redhat.io', mirrors: [`${MIRROR}/rh`] }])}---\n${MACHINE_CONFIG_DOC}`,
    });
    await putConfigMap(k, ns, 'extra-config', { config: MACHINE_CONFIG_DOC });
    await putConfigMap(k, opNs, 'corp-ca', { 'ca.crt': CA_PEM });
    await putSecret(k, opNs, 'corp-creds', 'kubernetes.io/basic-auth', { username: 'robot', password });
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `npcfg-${id}` },
      spec: {
        nodePoolSelector: { matchLabels: { npcfg: id } },
        hosts: [
          {
            host: MIRROR,
            ca: { configMapKeyRef: { namespace: opNs, name: 'corp-ca', key: 'ca.crt' } },
            credentialsSecretRef: { namespace: opNs, name: 'corp-creds' },
          },
        ],
      },
    });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: { imageContentSources: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: [`${MIRROR}/ocp-release`] }] },
    });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns, labels: { npcfg: id } },
      spec: {
        clusterName: 'demo',
        replicas: 2,
        config: [{ name: 'user-config' }],
        release: { image: 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64' },
        platform: { type: 'None' },
        management: { upgradeType: 'Replace', autoRepair: false },
      },
    });
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--resync-period', '1s'] });
  });

  after(async function () {
    await op?.stop();
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'demo', ns);
    await deleteCustom(k, 'registryaccesses', OURS, `npcfg-${id}`);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
  });

  it('publishes a MachineConfig under key config that decodes to the node files, and leaves the NodePool alone by default', async () => {
    const rmc = await waitReady(k, ns, 'workers');
    const cm = (await readConfigMap(k, ns, OUT)) as V1ConfigMap;
    const data = cm.data ?? {};
    const mc = load(data.config ?? '') as {
      kind: string;
      metadata: { name: string; labels: Record<string, string> };
      spec: { config: { ignition: { version: string }; storage: { files: IgnitionFile[] } } };
    };
    expect(mc.kind).to.equal('MachineConfig');
    expect(mc.metadata.labels).to.deep.equal({ 'machineconfiguration.openshift.io/role': 'worker' });
    expect(mc.spec.config.ignition.version).to.equal('3.2.0');
    const decoded: Record<string, string> = {};
    for (const f of mc.spec.config.storage.files) {
      expect(f).to.include({ mode: 420, overwrite: true });
      const m = /^data:text\/plain;charset=utf-8;base64,(.*)$/.exec(f.contents.source);
      expect(m, f.contents.source.slice(0, 40)).to.not.equal(null);
      decoded[f.path] = Buffer.from(m?.[1] ?? '', 'base64').toString('utf8');
    }
    // Exactly what the agent would install for CRI-O from the same ConfigMap.
    const manifest = JSON.parse(data['files.json'] ?? '{}') as Record<string, { path: string; from: string }>;
    const expected = Object.fromEntries(
      Object.entries(manifest)
        .filter(([, e]) => e.path === REGISTRIES_CONF_PATH || /^\/etc\/containers\/certs\.d\/[^/]+\/ca\.crt$/.test(e.path))
        .map(([key, e]) => [e.path, data[key]]),
    );
    expect(decoded).to.deep.equal(expected);
    expect(Object.keys(decoded).sort()).to.deep.equal([`/etc/containers/certs.d/${MIRROR}/ca.crt`, REGISTRIES_CONF_PATH]);
    expect(decoded[`/etc/containers/certs.d/${MIRROR}/ca.crt`]).to.equal(CA_PEM);
    expect(decoded[REGISTRIES_CONF_PATH]).to.contain(`${MIRROR}/ocp-release`).and.contain(`${MIRROR}/rh`);

    const basic = Buffer.from(`robot:${password}`).toString('base64');
    for (const f of [password, basic]) expect(JSON.stringify(data)).to.not.contain(f);
    expect(rmc.status?.warnings?.map((w) => `${w.code} ${w.source}`)).to.include(`CredentialsOmitted ${MIRROR}`);

    const np = await readNodePool();
    expect(np.spec.config).to.deep.equal([{ name: 'user-config' }]);
    expect(np.metadata.annotations ?? {}).to.not.have.property(ADDED);
    if (audit) expect(await nodePoolPatches(0), 'NodePool writes without the opt-in').to.equal(0);
  });

  it('with the opt-in lists the output after the existing entries; the target stays Ready and never reads it', async () => {
    const mark = (await audit?.mark()) ?? 0;
    await mergePatchNodePool({ metadata: { annotations: { [MANAGE]: 'true' } } });
    const np = await waitUntil(
      'the reference in spec.config',
      async () => {
        const cur = await readNodePool();
        return cur.spec.config?.some((c) => c.name === OUT) ? cur : undefined;
      },
      { intervalMs: 50 },
    );
    expect(np.spec.config).to.deep.equal([{ name: 'user-config' }, { name: OUT }]);
    expect(np.metadata.annotations).to.include({ [MANAGE]: 'true', [ADDED]: OUT });
    expect(np.spec).to.deep.include({
      clusterName: 'demo',
      replicas: 2,
      platform: { type: 'None' },
      management: { upgradeType: 'Replace', autoRepair: false },
    });
    expect(np.metadata.labels).to.deep.equal({ npcfg: id });
    await settled();
    const rmc = await readRmc(k, ns, 'workers');
    expect(condition(rmc?.status, 'Degraded')?.status).to.equal('False');
    expect((rmc?.status?.contributors ?? []).map((c) => `${c.kind}/${c.name}`))
      .to.include('ConfigMap/user-config')
      .and.not.include(`ConfigMap/${OUT}`);
    // Ours and the operator's: one each.
    if (audit) expect(await nodePoolPatches(mark)).to.equal(2);
    // No pass planned a second patch from a cache that had not yet seen the first (its test op would fail).
    const failed = (op?.lines() ?? []).filter((l) => l.level >= 40 && JSON.stringify(l).includes('spec.config'));
    expect(failed.map((l) => l.err ?? l.msg)).to.deep.equal([]);
  });

  it('keeps unrelated edits of the NodePool: labels, replicas and other spec.config entries', async () => {
    await mergePatchNodePool({
      metadata: { labels: { team: 'blue' } },
      spec: { replicas: 5, config: [{ name: 'user-config' }, { name: OUT }, { name: 'extra-config' }] },
    });
    const mark = (await audit?.mark()) ?? 0;
    await settled();
    const reconciles = await op?.metric('imagemirror_reconcile_total', { result: 'unchanged' });
    await waitUntil(
      'two resync passes',
      async () => ((await op?.metric('imagemirror_reconcile_total', { result: 'unchanged' })) ?? 0) >= (reconciles ?? 0) + 2,
      {
        intervalMs: 100,
      },
    );
    const np = await readNodePool();
    expect(np.spec.replicas).to.equal(5);
    expect(np.metadata.labels).to.deep.equal({ npcfg: id, team: 'blue' });
    expect(np.spec.config).to.deep.equal([{ name: 'user-config' }, { name: OUT }, { name: 'extra-config' }]);
    if (audit) expect(await nodePoolPatches(mark), 'operator writes to the NodePool after the edit').to.equal(0);
  });

  it('rewrites nothing on a resync without change: no NodePool patch, no ConfigMap, Secret or status write', async function () {
    if (!audit) this.skip();
    await settled();
    const before = (await op?.metric('imagemirror_reconcile_total', { result: 'unchanged' })) ?? 0;
    const mark = await audit.mark();
    await waitUntil('three resync passes', async () => ((await op?.metric('imagemirror_reconcile_total', { result: 'unchanged' })) ?? 0) >= before + 3, {
      intervalMs: 100,
    });
    const writes = (await audit.events(mark)).filter((e) => e.objectRef?.namespace === ns || e.objectRef?.resource === 'nodepools');
    expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).to.deep.equal([]);
  });

  it('removing the opt-in removes only the entry it added, and the record of it', async () => {
    const mark = (await audit?.mark()) ?? 0;
    await mergePatchNodePool({ metadata: { annotations: { [MANAGE]: null } } });
    const np = await waitUntil(
      'the reference to be removed',
      async () => {
        const cur = await readNodePool();
        return cur.spec.config?.some((c) => c.name === OUT) ? undefined : cur;
      },
      { intervalMs: 50 },
    );
    expect(np.spec.config).to.deep.equal([{ name: 'user-config' }, { name: 'extra-config' }]);
    expect(np.metadata.annotations ?? {}).to.not.have.any.keys(MANAGE, ADDED);
    expect(np.spec.replicas).to.equal(5);
    expect(np.metadata.labels).to.deep.equal({ npcfg: id, team: 'blue' });
    await settled();
    if (audit) expect(await nodePoolPatches(mark)).to.equal(2);
    // The output itself stays: it is still listed by hand nowhere, but users may reference it again.
    expect(await readConfigMap(k, ns, OUT)).to.not.equal(undefined);
  });

  it('takes the entry out when the output is gone, and lists it again once the output is back', async () => {
    await mergePatchNodePool({ metadata: { annotations: { [MANAGE]: 'true' } } });
    await waitUntil('the reference back', async () => (await readNodePool()).spec.config?.some((c) => c.name === OUT), { intervalMs: 50 });
    // Invalid inputs keep the last good output; deleting it leaves nothing to point at.
    await putConfigMap(k, ns, 'user-config', {
      config: idmsDoc('user', [{ source: 'registry.redhat.io', mirrors: ['registry.redhat.io'], mirrorSourcePolicy: 'NeverContactSource' }]),
    });
    await waitDegraded(k, ns, 'workers', 'SourceIsOwnMirror');
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: OUT });
    const np = await waitUntil(
      'the reference to a missing output to be removed',
      async () => {
        const cur = await readNodePool();
        return cur.spec.config?.some((c) => c.name === OUT) ? undefined : cur;
      },
      { intervalMs: 50 },
    );
    expect(np.spec.config).to.deep.equal([{ name: 'user-config' }, { name: 'extra-config' }]);
    expect(np.metadata.annotations)
      .to.include({ [MANAGE]: 'true' })
      .and.not.have.property(ADDED);

    await putConfigMap(k, ns, 'user-config', { config: idmsDoc('user', [{ source: 'registry.redhat.io', mirrors: [`${MIRROR}/rh`] }]) });
    await waitUntil(
      'the output and the reference back',
      async () => {
        const cur = await readNodePool();
        return cur.spec.config?.some((c) => c.name === OUT) && (await readConfigMap(k, ns, OUT)) !== undefined;
      },
      { intervalMs: 50 },
    );
    expect((await readNodePool()).spec.config).to.deep.equal([{ name: 'user-config' }, { name: 'extra-config' }, { name: OUT }]);
    await settled();
  });
});
