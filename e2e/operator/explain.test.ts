// `image-mirror explain` (and the kubectl plugin) against the real API
// server: from the inputs the controller reads, before and after the operator
// publishes; from the published output; and as a user who may read the
// output ConfigMap but not Secrets.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ContainerdExplanation, Explanation } from '../../src/explain/index.js';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { repoRoot } from '../lib/controlplane.js';
import { deleteNamespace, type Kube } from '../lib/kube.js';
import {
  createNamespace,
  deleteCustom,
  GROUP,
  HS,
  idmsDoc,
  OperatorProcess,
  putConfigMap,
  putCustom,
  putSecret,
  serviceAccountKubeconfig,
  waitReady,
} from './lib.js';

const OURS = `${GROUP}/v1alpha1`;
const MIRROR = 'mirror.explain.example:5000';
const D = `sha256:${'c'.repeat(64)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function plugin(args: string[], kubeconfig: string): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, KUBECONFIG: kubeconfig };
    execFile(path.join(repoRoot(), 'bin', 'kubectl-image_mirror'), args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const requests = (e: Explanation): string[][] => e.runtimes.map((r) => r.requests.map((q) => `${q.method} ${q.url}`));

describe('explain against the real API server', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `explain-${id}`;
  const opNs = `explain-op-${id}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let k: Kube;
  let op: OperatorProcess | undefined;
  let dir: string;

  before(async function () {
    k = kube();
    dir = await mkdtemp(path.join(tmpdir(), 'explain-e2e-'));
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await putConfigMap(k, ns, 'mirrors', {
      'idms.yaml': idmsDoc('release', [
        {
          source: 'quay.io/openshift-release-dev/ocp-release',
          mirrors: [`${MIRROR}/cache/openshift-release-dev/ocp-release`],
          mirrorSourcePolicy: 'NeverContactSource',
        },
      ]),
    });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    // Both runtimes are explained here: the NodePool output also holds the containerd files (agent files "all").
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns, annotations: { 'imagemirror.io/agent-files': 'all' } },
      spec: { clusterName: 'hc', replicas: 1 },
    });
    await putSecret(k, opNs, 'creds', 'kubernetes.io/basic-auth', { username: 'robot', password });
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `explain-${id}` },
      spec: { hosts: [{ host: MIRROR, credentialsSecretRef: { namespace: opNs, name: 'creds' } }] },
    });
  });

  after(async function () {
    await op?.stop();
    await deleteRbac(k, ns);
    await deleteCustom(k, 'registryaccesses', OURS, `explain-${id}`);
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'hc', ns);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
    await rm(dir, { recursive: true, force: true });
  });

  let fromInputs: Explanation;

  it('from the inputs, before anything is published: the mirror, who asked for it, and that nodes do not have it yet', async () => {
    const r = await plugin(['explain', '-o', 'json', '--target', `${ns}/workers`, `quay.io/openshift-release-dev/ocp-release@${D}`], kubeconfigPath());
    expect(r.code, r.stderr).to.equal(0);
    fromInputs = JSON.parse(r.stdout) as Explanation;
    expect(fromInputs.from).to.equal('cluster-inputs');
    const [ci, cd] = [fromInputs.runtimes[0]!, fromInputs.runtimes[1]!];
    expect(ci.requests.map((q) => q.url)).to.deep.equal([`https://${MIRROR}/v2/cache/openshift-release-dev/ocp-release/manifests/${D}`]);
    expect(cd.requests[0]!.url).to.equal(`https://${MIRROR}/v2/cache/openshift-release-dev/ocp-release/manifests/${D}?ns=quay.io`);
    expect(ci.sourceContacted).to.equal('never');
    const who = ci.runtime === 'containers-image' ? ci.endpoints[0]!.contributors.map((c) => `${c.kind} ${c.location ?? ''}`) : [];
    expect(who.some((w) => w.startsWith('ImageDigestMirrorSet') && w.includes(`ConfigMap ${ns}/mirrors`))).to.equal(true, who.join('; '));
    expect(fromInputs.notes.join('\n')).to.include('cannot be read');
    expect(r.stdout).to.not.include(password);
  });

  it('after the operator publishes: the published output predicts the same requests, and inputs mode says it is current', async () => {
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs });
    const rmc = await waitReady(k, ns, 'workers');
    const image = `quay.io/openshift-release-dev/ocp-release@${D}`;
    const [inputs, published] = await Promise.all([
      plugin(['explain', '-o', 'json', '--target', `${ns}/workers`, image], kubeconfigPath()),
      plugin(['explain', '-o', 'json', '--from', 'published', '--target', `${ns}/workers`, image], kubeconfigPath()),
    ]);
    expect(inputs.code, inputs.stderr).to.equal(0);
    expect(published.code, published.stderr).to.equal(0);
    const [a, b] = [JSON.parse(inputs.stdout) as Explanation, JSON.parse(published.stdout) as Explanation];
    expect(a.notes.join('\n'), a.notes.join('\n')).to.include('publishes exactly this');
    expect(b.contentHash).to.equal(rmc.status?.contentHash);
    expect(requests(b)).to.deep.equal(requests(a));
    expect(requests(a)).to.deep.equal(requests(fromInputs));
    for (const out of [inputs.stdout, published.stdout]) expect(out).to.not.include(password);
  });

  it('a user who cannot read Secrets: inputs mode says which Secret, published mode marks the secret hosts.toml unknown', async () => {
    await k.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'viewer' } } });
    await rbac(k, ns);
    const kubeconfig = await serviceAccountKubeconfig(k, { namespace: ns, name: 'viewer' }, dir);
    const image = `quay.io/openshift-release-dev/ocp-release@${D}`;
    const [inputs, published] = await Promise.all([
      plugin(['explain', '--target', `${ns}/workers`, image], kubeconfig),
      plugin(['explain', '-o', 'json', '--from', 'published', '--target', `${ns}/workers`, image], kubeconfig),
    ]);
    expect(inputs.code).to.equal(1);
    expect(inputs.stderr).to.include(`cannot read Secret ${opNs}/creds`);
    expect(inputs.stderr).to.include('--from published');
    expect(published.code, published.stderr).to.equal(0);
    const e = JSON.parse(published.stdout) as Explanation;
    const cd = e.runtimes.find((r) => r.runtime === 'containerd') as ContainerdExplanation;
    expect(cd.pull.status).to.equal('unknown');
    // containers/image needs no secret file to be predicted; auth.json is known to exist but not read.
    const ci = e.runtimes.find((r) => r.runtime === 'containers-image')!;
    expect(ci.requests.map((q) => q.url)).to.deep.equal([`https://${MIRROR}/v2/cache/openshift-release-dev/ocp-release/manifests/${D}`]);
  });
});

/** get on the cluster-scoped inputs and on ConfigMaps, NodePools, HostedClusters and RMCs; nothing on Secrets. */
async function rbac(k: Kube, ns: string): Promise<void> {
  const { RbacAuthorizationV1Api } = await import('@kubernetes/client-node');
  const api = k.kc.makeApiClient(RbacAuthorizationV1Api);
  const name = `explain-viewer-${ns}`;
  await api.createClusterRole({
    body: {
      metadata: { name },
      rules: [
        { apiGroups: [GROUP], resources: ['imagedigestmirrorsets', 'imagetagmirrorsets', 'registryaccesses', 'renderedmirrorconfigs'], verbs: ['get', 'list'] },
        { apiGroups: ['hypershift.openshift.io'], resources: ['nodepools', 'hostedclusters'], verbs: ['get'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      ],
    },
  });
  await api.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', namespace: ns, name: 'viewer' }],
    },
  });
}

async function deleteRbac(k: Kube, ns: string): Promise<void> {
  const { RbacAuthorizationV1Api } = await import('@kubernetes/client-node');
  const api = k.kc.makeApiClient(RbacAuthorizationV1Api);
  const name = `explain-viewer-${ns}`;
  await api.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await api.deleteClusterRole({ name }).catch(() => undefined);
}
