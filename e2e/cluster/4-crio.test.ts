// Scenario 8 of the cluster tier: a node whose kubelet runs CRI-O (the runtime
// of OpenShift and HyperShift nodes), configured the way HyperShift configures
// a NodePool's nodes: the operator publishes a MachineConfig for the NodePool
// (the `config` key of its output ConfigMap), and its ignition storage.files
// are installed onto the node exactly as Ignition would (installMachineConfig:
// paths on the node's own filesystem, modes, data URLs), then CRI-O is
// reloaded as the Machine Config Daemon does after a registries.conf change.
// No agent is involved: the node is not labelled for any NodePool, so the
// agent on it has nothing to install. Pods are scheduled onto the node by its
// runtime label; every assertion is on what the registries saw.
//
// Inputs are HyperShift's own: a HostedCluster whose imageMirrorConfigRef
// ConfigMap holds an IDMS with NeverContactSource, and whose
// configuration.image.registrySources declares insecure and blocked scopes.
//
// CRI-O treats 127.0.0.0/8 as insecure by itself for a pull whose source
// resolves there (docs/consumer-tests.md), and every registry here is on
// loopback. The insecure cases therefore pull sources whose names the node's
// own /etc/hosts maps to a TEST-NET address (RFC 5737; nothing is routed from
// the node, and NeverContactSource means it is never tried), through loopback
// mirrors: there `insecure` in registries.conf alone decides.
import type { V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../lib/controlplane.js';
import { deleteNamespace, waitUntil } from '../lib/kube.js';
import { condition, createNamespace, HS, putConfigMap, putCustom, readConfigMap, readRmc, type RmcStatus } from '../operator/lib.js';
import {
  ClusterRegistry,
  installMachineConfig,
  pushFreshImage,
  runPod,
  workloadPod,
  type ClusterKube,
  type InstalledNodeFile,
  type TestImage,
} from './harness.js';
import { cluster } from './hooks.js';

const OP_NS = 'image-mirror-system';
const NS = 'cluster-tier-crio';
const HC = 'crio';
const POOL = 'crio-workers';
const OUTPUT = `${POOL}-image-mirrors`;
const DROP_IN = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const RUNTIME_LABEL = 'imagemirror.io/cluster-tier-runtime';
const RELEASE = 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64';
const TEST_NET = '192.0.2.10';
const VIA_INSECURE = 'insecure-mirror.source.test';
const VIA_UNDECLARED = 'undeclared-mirror.source.test';

/** The access log needs a moment after the response (distribution logs after the handler returns). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

/** A workload Pod that only the CRI-O node takes: its runtime label, and a toleration of its taint. */
function crioPod(name: string, image: string): V1Pod {
  const pod = workloadPod(NS, name, '', image);
  const spec = pod.spec as NonNullable<V1Pod['spec']>;
  delete spec.nodeName;
  spec.nodeSelector = { [RUNTIME_LABEL]: 'crio' };
  spec.tolerations = [{ key: RUNTIME_LABEL, operator: 'Equal', value: 'crio', effect: 'NoSchedule' }];
  return pod;
}

describe('cluster: a CRI-O node with the MachineConfig the operator publishes for a NodePool', function () {
  this.timeout(300_000);
  let k: ClusterKube;
  let node: string;
  let source: ClusterRegistry;
  let mirror: ClusterRegistry;
  let insecure: ClusterRegistry;
  let undeclared: ClusterRegistry;
  let blocked: ClusterRegistry;
  let output: Record<string, string>;
  let installed: InstalledNodeFile[];
  let reloadLog: string;
  const img = {} as Record<'digest' | 'insecure' | 'undeclared' | 'blocked', TestImage>;
  const figures: string[] = [];

  const kubectl = (args: string[], timeoutMs = 60_000): Promise<string> => cluster().kubectlOk(args, { timeoutMs });
  const manifestGets = async (reg: ClusterRegistry, mark: number, repo: string): Promise<string[]> =>
    (await reg.pulls(mark)).filter((r) => r.path.startsWith(`/v2/${repo}/manifests/`)).map((r) => `${r.method} ${r.path} ${r.status}`);
  /** Files the agent on the CRI-O node owns (none when it never ran there). */
  const agentOwned = async (): Promise<string[]> => {
    const text = await readFile(join(cluster().nodeDir(node), 'var/lib/image-mirror/owned.json'), 'utf8').catch(() => '{}');
    return (JSON.parse(text) as { files?: string[] }).files ?? [];
  };
  const crioLog = async (): Promise<string> =>
    (await readFile(join(cluster().nodeDir(node), 'crio.log'), 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');

  /**
   * HyperShift served and the operator started since (it picks its kind of
   * targets at start): scenario 6 leaves it scaled to zero; run alone, it runs
   * with cluster targets and is restarted.
   */
  async function operatorWithNodePoolTargets(): Promise<void> {
    await kubectl(['apply', '-f', join(repoRoot(), 'crds/hypershift-compat')]);
    await kubectl(['wait', '--for=condition=Established', 'crd/hostedclusters.hypershift.openshift.io', 'crd/nodepools.hypershift.openshift.io']);
    const d = await k.apps.readNamespacedDeployment({ namespace: OP_NS, name: 'image-mirror-controller' });
    if ((d.spec?.replicas ?? 0) === 0) await kubectl(['-n', OP_NS, 'scale', 'deployment/image-mirror-controller', '--replicas=2']);
    else await kubectl(['-n', OP_NS, 'rollout', 'restart', 'deployment/image-mirror-controller']);
    await kubectl(['-n', OP_NS, 'rollout', 'status', 'deployment/image-mirror-controller', '--timeout=180s'], 200_000);
  }

  before(async function () {
    this.timeout(240_000);
    const c = cluster();
    k = c.kube();
    const t0 = Date.now();
    const operator = operatorWithNodePoolTargets();
    node = await c.addNode({
      runtime: 'crio',
      hosts: { [VIA_INSECURE]: TEST_NET, [VIA_UNDECLARED]: TEST_NET },
      taints: `${RUNTIME_LABEL}=crio:NoSchedule`,
    });
    figures.push(`CRI-O node ${node} Ready ${Date.now() - t0} ms after node.sh start`);
    [source, mirror, insecure, undeclared, blocked] = await Promise.all([
      ClusterRegistry.start(c, 'crio-source'),
      ClusterRegistry.start(c, 'crio-mirror'),
      ClusterRegistry.start(c, 'crio-insecure'),
      ClusterRegistry.start(c, 'crio-undeclared'),
      ClusterRegistry.start(c, 'crio-blocked'),
    ]);
    // Fresh content per case; the source holds its image too, so a pull that reached it would succeed.
    [img.digest, img.insecure, img.undeclared, img.blocked] = await Promise.all([
      pushFreshImage(c, [source, mirror], 'team/app', 'v1'),
      pushFreshImage(c, [insecure], 'team/app', 'v1'),
      pushFreshImage(c, [undeclared], 'team/app', 'v1'),
      pushFreshImage(c, [blocked], 'lib/tool', 'v1'),
    ]);
    await operator;
    figures.push(`operator serving NodePool targets, node, registries and images ready: ${Date.now() - t0} ms`);

    const t1 = Date.now();
    const never = (from: string, to: ClusterRegistry): string[] => [
      `  - source: ${from}/team/app`,
      '    mirrors:',
      `    - ${to.host}/team/app`,
      '    mirrorSourcePolicy: NeverContactSource',
    ];
    const idms = [
      'apiVersion: config.openshift.io/v1',
      'kind: ImageDigestMirrorSet',
      'metadata:',
      '  name: crio-release',
      'spec:',
      '  imageDigestMirrors:',
      ...never(source.host, mirror),
      ...never(VIA_INSECURE, insecure),
      ...never(VIA_UNDECLARED, undeclared),
      '',
    ].join('\n');
    await createNamespace(k, NS);
    await putConfigMap(k, NS, 'crio-mirrors', { 'idms.yaml': idms });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: HC, namespace: NS },
      spec: {
        release: { image: RELEASE },
        platform: { type: 'None' },
        imageMirrorConfigRef: { name: 'crio-mirrors' },
        configuration: {
          image: {
            // The registries speak plain HTTP; `undeclared` is left out on purpose.
            registrySources: { insecureRegistries: [mirror.host, insecure.host], blockedRegistries: [blocked.host] },
          },
        },
      },
    });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: POOL, namespace: NS },
      spec: { clusterName: HC, replicas: 1, release: { image: RELEASE }, platform: { type: 'None' } },
    });
    output = await waitUntil(
      `the output ConfigMap ${NS}/${OUTPUT} with a MachineConfig`,
      async () => {
        const status = (await readRmc(k, NS, POOL))?.status as RmcStatus | undefined;
        if (condition(status, 'Ready')?.status !== 'True') return undefined;
        const data = (await readConfigMap(k, NS, OUTPUT))?.data;
        // Rendered from every input: the drop-in names the mirror and the blocked registry.
        const dropIn = Object.values(data ?? {}).find((v) => v.includes('[[registry]]')) ?? '';
        return data?.config && dropIn.includes(mirror.host) && dropIn.includes(blocked.host) ? data : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // The agent DaemonSet runs on every node, this one too; it must own nothing
    // here (no NodePool label, no cluster output with HyperShift served), or it
    // would install and remove files where the MachineConfig's are.
    await waitUntil(`the agent on ${node} to own no file`, async () => (await agentOwned()).length === 0 || undefined, { timeoutMs: 60_000 });
    installed = await installMachineConfig(c, node, output.config as string);
    reloadLog = await c.reloadCrio(node);
    figures.push(`NodePool created -> MachineConfig published, installed, CRI-O reloaded: ${Date.now() - t1} ms`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && node) console.log(`      CRI-O log (tail):\n${await crioLog()}`);
  });

  after(async function () {
    this.timeout(60_000);
    for (const f of figures) console.log(`      ${f}`);
    const t0 = Date.now();
    if (k) await deleteNamespace(k, NS);
    await Promise.all([source, mirror, insecure, undeclared, blocked].map((r) => r?.stop()));
    if (node) await cluster().removeNode(node);
    console.log(`      clean-up (namespace, registries, CRI-O node stopped and deleted): ${Date.now() - t0} ms`);
  });

  it('8. the MachineConfig files land on the CRI-O node at their paths, with their modes and exact bytes, and CRI-O applies them on reload', async () => {
    const n = await k.core.readNode({ name: node });
    expect(n.status?.nodeInfo?.containerRuntimeVersion).to.equal('cri-o://1.34.0');
    expect(installed.map((f) => [f.path, f.mode.toString(8)])).to.deep.equal([[DROP_IN, '644']]);
    expect(((await stat(installed[0]?.machinePath as string)).mode & 0o777).toString(8)).to.equal('644');
    // The same bytes the agent installs from the same ConfigMap.
    const manifest = JSON.parse(output['files.json'] ?? '{}') as Record<string, { path: string }>;
    const key = Object.entries(manifest).find(([, e]) => e.path === DROP_IN)?.[0] as string;
    expect(key, 'files.json entry for the drop-in').to.be.a('string');
    expect((await readFile(installed[0]?.machinePath as string)).equals(Buffer.from(output[key] as string))).to.equal(true);
    expect(output[key]).to.include(`location = "${mirror.host}/team/app"`);
    expect(reloadLog).to.include('Applied new registry configuration');
    expect(await agentOwned(), 'files the agent owns on the CRI-O node').to.deep.equal([]);
  });

  it('8. NeverContactSource: a Pod on the CRI-O node by digest under the source name runs, pulled from the mirror; zero requests to the source', async () => {
    const [mS, mM] = [await source.mark(), await mirror.mark()];
    const out = await runPod(k, crioPod('crio-digest', `${source.host}/team/app@${img.digest.manifestDigest}`));
    expect(out, `${JSON.stringify(out)}\n${await crioLog()}`).to.include({ running: true });
    figures.push(`Pod on CRI-O pulled through the mirror Running ${out.ms} ms after create`);
    const pod = await k.core.readNamespacedPod({ namespace: NS, name: 'crio-digest' });
    expect(pod.spec?.nodeName).to.equal(node);
    await settle();
    expect(await manifestGets(mirror, mM, 'team/app')).to.include(`GET /v2/team/app/manifests/${img.digest.manifestDigest} 200`);
    expect((await mirror.pulls(mM)).map((r) => r.path)).to.include(`/v2/team/app/blobs/${img.digest.markerLayer}`);
    expect(
      (await mirror.requests(mM)).every((r) => r.agent.startsWith('cri-o/')),
      'every mirror request from CRI-O',
    ).to.equal(true);
    expect(await source.requests(mS), 'requests to the source').to.deep.equal([]);
  });

  it('8. insecure: a plain-HTTP mirror inside an insecure scope is pulled from over HTTP', async () => {
    const mI = await insecure.mark();
    const out = await runPod(k, crioPod('crio-insecure', `${VIA_INSECURE}/team/app@${img.insecure.manifestDigest}`));
    expect(out, `${JSON.stringify(out)}\n${await crioLog()}`).to.include({ running: true });
    await settle();
    expect(await manifestGets(insecure, mI, 'team/app')).to.include(`GET /v2/team/app/manifests/${img.insecure.manifestDigest} 200`);
  });

  it('8. not insecure: the same kind of mirror outside every insecure scope is tried over HTTPS only; the Pod fails its pull and the mirror gets no request', async () => {
    const mU = await undeclared.mark();
    const out = await runPod(k, crioPod('crio-undeclared', `${VIA_UNDECLARED}/team/app@${img.undeclared.manifestDigest}`));
    expect(out.running, JSON.stringify(out)).to.equal(false);
    if (out.running) return;
    expect(out.reason).to.be.oneOf(['ErrImagePull', 'ImagePullBackOff']);
    expect(out.message).to.match(/HTTP response to HTTPS client/);
    // And no fallback: the source is blocked (NeverContactSource).
    expect(out.message).to.include(`registry ${VIA_UNDECLARED}/team/app is blocked`);
    await settle();
    expect(await undeclared.requests(mU), 'requests to the undeclared mirror').to.deep.equal([]);
  });

  it('8. blocked: a Pod from a blocked registry fails its pull (ErrImagePull) and the registry gets no request', async () => {
    const mB = await blocked.mark();
    const out = await runPod(k, crioPod('crio-blocked', `${blocked.host}/lib/tool:v1`));
    expect(out.running, JSON.stringify(out)).to.equal(false);
    if (out.running) return;
    expect(out.reason).to.be.oneOf(['ErrImagePull', 'ImagePullBackOff']);
    expect(out.message).to.match(/blocked/);
    await settle();
    expect(await blocked.requests(mB), 'requests to the blocked registry').to.deep.equal([]);
  });
});
