// Scenarios 5 and 6 of the cluster tier: HyperShift's NodePool targets (the
// compat CRDs) on real nodes. Runs last: once HyperShift is served the
// operator has NodePool targets only, and scenario 6 scales it to zero.
import { expect } from 'chai';
import { join } from 'node:path';
import { AuditLog } from '../lib/audit.js';
import { repoRoot } from '../lib/controlplane.js';
import { deleteNamespace, isNotFound, waitUntil } from '../lib/kube.js';
import { createNamespace, deleteCustom, HS, putCustom, readRmc } from '../operator/lib.js';
import { ClusterRegistry, contributes, nodeFile, pushFreshImage, runPod, waitApplied, workloadPod, type ClusterKube } from './harness.js';
import { cluster } from './hooks.js';

const OURS = 'imagemirror.io/v1alpha1';
const OP_NS = 'image-mirror-system';
const AGENT_NS = 'image-mirror-agent';
const HC_NS = 'cluster-tier-hosted';
const POOL = 'pool-a';
const OUTPUT = `${POOL}-image-mirrors`;
const POOL_LABEL = 'hypershift.openshift.io/nodePool';
const GC_USER = 'system:serviceaccount:kube-system:generic-garbage-collector';

const hostDir = (host: string): string => `etc/containerd/certs.d/${host.replace(':', '_')}_/hosts.toml`;

describe('cluster: a NodePool target on the node labelled for it, and garbage collection of its outputs', function () {
  this.timeout(300_000);
  let k: ClusterKube;
  let source: ClusterRegistry;
  let mirror: ClusterRegistry;
  let poolNode: string;
  let otherNode: string;
  const figures: string[] = [];

  const kubectl = (args: string[], timeoutMs = 60_000): Promise<string> => cluster().kubectlOk(args, { timeoutMs });

  before(async function () {
    this.timeout(240_000);
    const c = cluster();
    k = c.kube();
    [otherNode, poolNode] = [c.nodes[0] as string, c.nodes[c.nodes.length - 1] as string];
    [source, mirror] = await Promise.all([ClusterRegistry.start(c, 'np-source'), ClusterRegistry.start(c, 'np-mirror')]);
  });

  after(async function () {
    this.timeout(60_000);
    for (const f of figures) console.log(`      ${f}`);
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, 'cluster-tier-pool');
    await Promise.all([source, mirror].map((r) => r?.stop()));
  });

  it('5. only the node labelled for the NodePool gets its files, and a Pod there pulls through the mirror', async () => {
    const t0 = Date.now();
    // What a user does: serve HyperShift's API (here the compat CRDs), create the
    // HostedCluster and NodePool, label the node, and let the agent read NodePool
    // outputs from their namespace (one argument and one Role).
    await kubectl(['apply', '-f', join(repoRoot(), 'crds/hypershift-compat')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/hostedclusters.hypershift.openshift.io', 'crd/nodepools.hypershift.openshift.io']);
    await createNamespace(k, HC_NS);
    await putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'cluster-tier-pool' },
      spec: {
        nodePoolSelector: { matchLabels: { 'cluster-tier.example/pool': 'a' } },
        imageDigestMirrors: [{ source: `${source.host}/pool/app`, mirrors: [`${mirror.host}/pool/app`], mirrorSourcePolicy: 'NeverContactSource' }],
      },
    });
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: 'cluster-tier-pool' },
      spec: { hosts: [{ host: mirror.host, plainHTTP: true }] },
    });
    const hs = (kind: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) =>
      k.objects.create({ apiVersion: HS, kind, metadata: { name, namespace: HC_NS, labels, annotations }, spec } as never);
    await hs('HostedCluster', 'demo', { release: { image: 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64' }, platform: { type: 'None' } });
    await hs(
      'NodePool',
      POOL,
      { clusterName: 'demo', replicas: 1, release: { image: 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64' }, platform: { type: 'None' } },
      { 'cluster-tier.example/pool': 'a' },
      // These nodes run containerd (real HyperShift nodes run CRI-O): the output must hold the containerd files too.
      { 'imagemirror.io/agent-files': 'all' },
    );
    await kubectl(['label', 'node', poolNode, `${POOL_LABEL}=${POOL}`]);
    await k.objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'image-mirror-agent-nodepool-output', namespace: HC_NS },
      rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], resourceNames: [OUTPUT], verbs: ['get', 'list', 'watch'] }],
    } as never);
    await k.objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'image-mirror-agent-nodepool-output', namespace: HC_NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'image-mirror-agent-nodepool-output' },
      subjects: [{ kind: 'ServiceAccount', name: 'image-mirror-agent', namespace: AGENT_NS }],
    } as never);
    await kubectl([
      '-n',
      AGENT_NS,
      'patch',
      'daemonset',
      'image-mirror-agent',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: `--nodepool-namespace=${HC_NS}` }]),
    ]);
    // The operator picks its kind of targets at start: restart it.
    await kubectl(['-n', OP_NS, 'rollout', 'restart', 'deployment/image-mirror-controller']);
    await kubectl(['-n', OP_NS, 'rollout', 'status', 'deployment/image-mirror-controller', '--timeout=180s'], 200_000);
    await kubectl(['-n', AGENT_NS, 'rollout', 'status', 'daemonset/image-mirror-agent', '--timeout=180s'], 200_000);

    await waitApplied(k, [poolNode], contributes(k, 'imagedigestmirrorsets', 'ImageDigestMirrorSet', 'cluster-tier-pool'), HC_NS, POOL);
    figures.push(`NodePool target on ${poolNode}: ${Date.now() - t0} ms from the first kubectl apply to the files on the node (two rollouts included)`);
    const cm = await k.core.readNamespacedConfigMap({ namespace: HC_NS, name: OUTPUT });
    const np = (await k.objects.read({ apiVersion: HS, kind: 'NodePool', metadata: { name: POOL, namespace: HC_NS } })) as { metadata: { uid: string } };
    expect(cm.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.uid}`)).to.deep.equal([`NodePool/${POOL}/${np.metadata.uid}`]);
    expect(await nodeFile(cluster(), poolNode, hostDir(source.host)), `${poolNode}: ${hostDir(source.host)}`).to.include(mirror.host);
    // The other node's target (the cluster-wide output) is gone with HyperShift served: nothing for it.
    const owned = async (node: string): Promise<string[]> =>
      (JSON.parse((await nodeFile(cluster(), node, 'var/lib/image-mirror/owned.json')) ?? '{}') as { files?: string[] }).files ?? [];
    await waitUntil(`the agent on ${otherNode} to remove its files`, async () => (await owned(otherNode)).length === 0 || undefined, { timeoutMs: 60_000 });
    expect(await nodeFile(cluster(), otherNode, hostDir(source.host))).to.equal(undefined);

    const img = await pushFreshImage(cluster(), [mirror], 'pool/app', 'v1');
    const [mS, mM] = [await source.mark(), await mirror.mark()];
    const out = await runPod(k, workloadPod('default', 'pool-a-workload', poolNode, `${source.host}/pool/app@${img.manifestDigest}`));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    await new Promise((r) => setTimeout(r, 500));
    expect((await mirror.pulls(mM)).map((r) => `${r.method} ${r.path} ${r.status}`)).to.include(`GET /v2/pool/app/manifests/${img.manifestDigest} 200`);
    expect(await source.requests(mS)).to.deep.equal([]);
    await k.core.deleteNamespacedPod({ namespace: 'default', name: 'pool-a-workload', gracePeriodSeconds: 0 });
  });

  it('6. deleting the NodePool removes its outputs by garbage collection (the operator scaled to zero)', async () => {
    await kubectl(['-n', OP_NS, 'scale', 'deployment/image-mirror-controller', '--replicas=0']);
    await waitUntil(
      'no controller Pods',
      async () => {
        const pods = await k.core.listNamespacedPod({ namespace: OP_NS, labelSelector: 'app.kubernetes.io/component=controller' });
        return pods.items.length === 0 || undefined;
      },
      { timeoutMs: 60_000 },
    );
    const audit = new AuditLog(join(cluster().dir, 'controlplane', 'audit.log'));
    const mark = await audit.mark();
    expect(await readRmc(k, HC_NS, POOL), 'RenderedMirrorConfig before').not.to.equal(undefined);
    const t0 = Date.now();
    await deleteCustom(k, 'nodepools', 'hypershift.openshift.io/v1beta1', POOL, HC_NS);
    await waitUntil(
      'the NodePool outputs to be collected',
      async () => {
        const cm = await k.core.readNamespacedConfigMap({ namespace: HC_NS, name: OUTPUT }).then(
          () => true,
          (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
        );
        return (!cm && (await readRmc(k, HC_NS, POOL)) === undefined) || undefined;
      },
      { timeoutMs: 60_000 },
    );
    figures.push(`garbage collection of the NodePool's outputs: ${Date.now() - t0} ms after the delete`);
    const deletes = (await audit.events(mark)).filter((e) => e.verb === 'delete' && (e.responseStatus?.code ?? 0) < 300);
    const by = (resource: string): string[] =>
      deletes
        .filter((e) => e.objectRef?.resource === resource && e.objectRef?.name === (resource === 'configmaps' ? OUTPUT : POOL))
        .map((e) => e.user.username);
    expect(by('configmaps'), 'who deleted the output ConfigMap').to.deep.equal([GC_USER]);
    expect(by('renderedmirrorconfigs'), 'who deleted the RenderedMirrorConfig').to.deep.equal([GC_USER]);
    // And the agent, seeing its output gone, removes the files from the node.
    await waitUntil(
      `the agent on ${poolNode} to remove the NodePool's files`,
      async () => (await nodeFile(cluster(), poolNode, hostDir(source.host))) === undefined || undefined,
      { timeoutMs: 60_000 },
    );
    await deleteNamespace(k, HC_NS);
  });
});
