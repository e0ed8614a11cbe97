// Who the operator says it is, on the real API server: every object it writes
// names the field manager `image-mirror` in managedFields (not `node-fetch`),
// its writes carry the user agent `image-mirror/<version> (controller)` in the
// audit log, and its edit of NodePool.spec.config meets a user's
// `kubectl apply --server-side` of the NodePool exactly as docs/hypershift.md
// says: spec.config is an atomic list in HyperShift's CRD (no
// x-kubernetes-list-type, so atomic), so whoever changed it last owns all of
// it, and an apply that would change it conflicts with "image-mirror" by
// name; an apply that leaves spec.config out, or lists the operator's entry
// too, goes through.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, run, tempDir } from '../../test/consumer/lib/proc.js';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import type { AuditLog } from '../lib/audit.js';
import { kubectlPath, repoRoot } from '../lib/controlplane.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import { createNamespace, deleteCustom, eventsAbout, HS, idmsDoc, OperatorProcess, putConfigMap, putCustom, putSecret, readRmc, waitReady } from './lib.js';

const OURS = 'imagemirror.io/v1alpha1';
const MANAGE = 'imagemirror.io/manage-config-ref';
const OUT = 'workers-image-mirrors';
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
const USER_AGENT = `image-mirror/${VERSION} (controller)`;

interface ManagedFields {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

interface NodePoolView {
  metadata: { managedFields?: ManagedFields[]; annotations?: Record<string, string> };
  spec: { config?: Array<{ name: string }>; replicas?: number };
}

const managers = (mf: ManagedFields[] | undefined): string[] => [...new Set((mf ?? []).map((m) => m.manager ?? ''))].sort();

/** Managers owning `.spec.config` of a NodePool. */
const configOwners = (np: NodePoolView): string[] =>
  (np.metadata.managedFields ?? [])
    .filter((m) => Object.hasOwn((m.fieldsV1?.['f:spec'] as object | undefined) ?? {}, 'f:config'))
    .map((m) => `${m.manager} ${m.operation}`);

describe('operator: user agent and field manager on the real API server, and server-side apply of NodePools', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `fm-${id}`;
  const opNs = `fm-op-${id}`;
  const lease = `fm-${id}`;
  let k: Kube;
  let audit: AuditLog | undefined;
  let op: OperatorProcess | undefined;
  let dir: string;
  let kubectl: string;
  let mark = 0;

  const readNodePool = async (): Promise<NodePoolView> =>
    (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'workers',
    })) as NodePoolView;

  /** `kubectl apply --server-side` of the NodePool as a user keeps it in Git: what it lists in spec.config, if anything. */
  const applyNodePool = async (config: string[] | undefined, opts: { replicas?: number; force?: boolean } = {}) => {
    const spec: Record<string, unknown> = { clusterName: 'demo', replicas: opts.replicas ?? 2 };
    if (config) spec.config = config.map((name) => ({ name }));
    const manifest = {
      apiVersion: HS,
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns, labels: { fm: id }, annotations: { [MANAGE]: 'true' } },
      spec,
    };
    const file = path.join(dir, 'nodepool.json');
    await writeFile(file, JSON.stringify(manifest));
    const args = ['--kubeconfig', kubeconfigPath(), 'apply', '--server-side', '-f', file, ...(opts.force ? ['--force-conflicts'] : [])];
    return run(kubectl, args, { timeoutMs: 30_000 });
  };

  const listed = async (): Promise<string[]> => ((await readNodePool()).spec.config ?? []).map((c) => c.name);

  before(async () => {
    k = kube();
    audit = auditLog();
    dir = await tempDir('field-manager');
    kubectl = await kubectlPath();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await putConfigMap(k, ns, 'user-config', { config: 'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: 99-user}\n' });
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['mirror.fm.example/release'] }]) });
    await putSecret(k, ns, 'creds', 'kubernetes.io/basic-auth', { username: 'robot', password: `pw-${id}` });
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `fm-${id}` },
      spec: { nodePoolSelector: { matchLabels: { fm: id } }, hosts: [{ host: 'mirror.fm.example', credentialsSecretRef: { namespace: ns, name: 'creds' } }] },
    });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    const created = await applyNodePool(['user-config']);
    expect(created.code, created.stderr).to.equal(0);
    mark = (await audit?.mark()) ?? 0;
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--leader-elect', '--lease-name', lease] });
  });

  after(async () => {
    await op?.stop();
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'demo', ns);
    await deleteCustom(k, 'registryaccesses', OURS, `fm-${id}`);
    await k.kc
      .makeApiClient(CoordinationV1Api)
      .deleteNamespacedLease({ namespace: opNs, name: lease })
      .catch(() => undefined);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
    await removeDir(dir);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail(40)}`);
  });

  it('managedFields of everything it writes name image-mirror, never node-fetch', async () => {
    await waitReady(k, ns, 'workers');
    await waitUntil('the output in spec.config', async () => (await listed()).includes(OUT), { intervalMs: 50 });
    const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: OUT });
    const secret = await k.core.readNamespacedSecret({ namespace: ns, name: OUT });
    const rmc = (await k.custom.getNamespacedCustomObject({
      group: 'imagemirror.io',
      version: 'v1alpha1',
      plural: 'renderedmirrorconfigs',
      namespace: ns,
      name: 'workers',
    })) as { metadata: { managedFields?: ManagedFields[] } };
    const leaseObj = await k.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: opNs, name: lease });
    expect(managers(cm.metadata?.managedFields), 'ConfigMap').to.deep.equal(['image-mirror']);
    expect(managers(secret.metadata?.managedFields), 'Secret').to.deep.equal(['image-mirror']);
    expect(managers(leaseObj.metadata?.managedFields), 'Lease').to.deep.equal(['image-mirror']);
    // Created, then its status written through the status subresource: both by image-mirror.
    expect((rmc.metadata.managedFields ?? []).map((m) => `${m.manager} ${m.operation} ${m.subresource ?? ''}`.trim()).sort()).to.deep.equal([
      'image-mirror Update',
      'image-mirror Update status',
    ]);
    // The NodePool: the user's apply, and the operator's edit of spec.config and its record annotation.
    const np = await readNodePool();
    expect(managers(np.metadata.managedFields)).to.deep.equal(['image-mirror', 'kubectl']);
    const ours = (np.metadata.managedFields ?? []).find((m) => m.manager === 'image-mirror');
    expect(ours?.operation).to.equal('Update');
    expect(ours?.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:annotations': { 'f:imagemirror.io/config-ref-added': {} } }, 'f:spec': { 'f:config': {} } });
    // An Event of ours: make one (an invalid input) and look.
    await putConfigMap(k, ns, 'mirrors', {
      'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['quay.io/release'], mirrorSourcePolicy: 'NeverContactSource' }]),
    });
    const ev = await waitUntil('a Warning event', async () => (await eventsAbout(k, ns, 'workers')).find((e) => e.reason === 'SourceIsOwnMirror'));
    expect(managers(ev.metadata?.managedFields), 'Event').to.deep.equal(['image-mirror']);
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/release', mirrors: ['mirror.fm.example/release'] }]) });
    await waitUntil('Degraded=False again', async () =>
      (await readRmc(k, ns, 'workers'))?.status?.conditions?.some((c) => c.type === 'Degraded' && c.status === 'False'),
    );
  });

  it('every write of the operator carries the user agent image-mirror/<version> (controller) (audit log)', async function () {
    if (!audit) this.skip();
    const ours = (await (audit as AuditLog).events(mark)).filter(
      (e) =>
        e.objectRef?.namespace === ns &&
        (e.objectRef.name === OUT || e.objectRef.resource === 'renderedmirrorconfigs' || (e.objectRef.resource === 'nodepools' && e.verb === 'patch')),
    );
    expect(ours.length).to.be.greaterThan(3);
    expect([...new Set(ours.map((e) => e.userAgent))]).to.deep.equal([USER_AGENT]);
  });

  it('a server-side apply that would change spec.config conflicts with "image-mirror" by name; the NodePool is left as it was', async () => {
    const before = await readNodePool();
    const res = await applyNodePool(['user-config']);
    expect(res.code).to.not.equal(0);
    expect(res.stderr).to.contain('conflict with "image-mirror"').and.contain('.spec.config');
    expect(res.stderr).to.not.contain('node-fetch');
    expect((await readNodePool()).spec).to.deep.equal(before.spec);
  });

  it('an apply that leaves spec.config out, or lists the operator entry too, goes through without conflict', async () => {
    const listing = await applyNodePool(['user-config', OUT]);
    expect(listing.code, listing.stderr).to.equal(0);
    expect(await listed()).to.deep.equal(['user-config', OUT]);
    // Both own the list now (the same value): neither write changed it.
    expect(configOwners(await readNodePool()).sort()).to.deep.equal(['image-mirror Update', 'kubectl Apply']);
    const without = await applyNodePool(undefined, { replicas: 3 });
    expect(without.code, without.stderr).to.equal(0);
    const np = await readNodePool();
    expect(np.spec.replicas).to.equal(3);
    expect(await listed()).to.deep.equal(['user-config', OUT]);
    expect(configOwners(np)).to.deep.equal(['image-mirror Update']);
  });

  it('a forced apply without the entry takes the list; the operator adds its entry back, and owns the list again', async () => {
    const forced = await applyNodePool(['user-config'], { force: true });
    expect(forced.code, forced.stderr).to.equal(0);
    const t = Date.now();
    await waitUntil('the entry back', async () => (await listed()).join(',') === `user-config,${OUT}`, { timeoutMs: 10_000, intervalMs: 50 });
    console.log(`      the operator listed its output again ${Date.now() - t} ms after a forced apply dropped it`);
    expect(configOwners(await readNodePool())).to.deep.equal(['image-mirror Update']);
    const again = await applyNodePool(['user-config']);
    expect(again.stderr).to.contain('conflict with "image-mirror"');
  });
});
