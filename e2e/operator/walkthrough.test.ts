// The operator against the real API server, from inputs to rendered
// ConfigMaps: a HyperShift layout (unified imageMirrorConfigRef ConfigMap,
// legacy imageContentSources, NodePool spec.config, a disconnected release
// with NeverContactSource, our IDMS/ITMS with and without nodePoolSelector,
// RegistryAccess with CA and credentials), the cluster target, and the seeds
// under examples/seeds as shipped.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { repoRoot } from '../lib/controlplane.js';
import { applyAll, deleteAll, deleteNamespace, readYamlDir, waitUntil, type Kube, type YamlObject } from '../lib/kube.js';
import {
  condition,
  createNamespace,
  deleteCustom,
  eventsAbout,
  GROUP,
  HS,
  idmsDoc,
  itmsDoc,
  mirrorsByLocation,
  OperatorProcess,
  putConfigMap,
  putCustom,
  putSecret,
  readClusterObject,
  readConfigMap,
  readSecret,
  registriesConf,
  waitReady,
} from './lib.js';
import { TEST_CA_PEM } from '../../test/lib/pki.js';

const OURS = `${GROUP}/v1alpha1`;
const MIRROR = 'mirror.corp.example:5000';
const CA_PEM = TEST_CA_PEM;

describe('operator: walk-through on the real API server', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `walk-${id}`;
  const opNs = `walk-op-${id}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const gpuLabel = `gpu-${id}`;
  let k: Kube;
  let op: OperatorProcess | undefined;

  const cleanupCluster = async (): Promise<void> => {
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `corp-digest-${id}`);
    await deleteCustom(k, 'imagetagmirrorsets', OURS, `gpu-tags-${id}`);
    await deleteCustom(k, 'registryaccesses', OURS, `corp-${id}`);
  };

  before(async function () {
    k = kube();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await seed();
  });

  after(async function () {
    await op?.stop();
    await cleanupCluster();
    for (const np of ['demo-workers', 'demo-gpu']) await deleteCustom(k, 'nodepools', HS, np, ns);
    await deleteCustom(k, 'hostedclusters', HS, 'demo', ns);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
  });

  async function seed(): Promise<void> {
    await putConfigMap(k, ns, 'demo-mirrors', {
      'idms.yaml': idmsDoc('demo-release', [
        {
          source: 'quay.io/openshift-release-dev/ocp-release',
          mirrors: [`${MIRROR}/openshift-release-dev/ocp-release`],
          mirrorSourcePolicy: 'NeverContactSource',
        },
        { source: 'registry.redhat.io', mirrors: [`${MIRROR}/redhat`] },
      ]),
      'itms.yaml': itmsDoc('demo-redhat-tags', [{ source: 'registry.redhat.io', mirrors: [`${MIRROR}/redhat`] }]),
    });
    await putConfigMap(k, ns, 'demo-gpu-config', {
      config: [
        itmsDoc('gpu-operator-tags', [{ source: 'nvcr.io/nvidia', mirrors: [`${MIRROR}/nvidia`] }]),
        'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: 99-gpu}\nspec: {kernelArguments: [iommu=pt]}\n',
      ].join('---\n'),
    });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: {
        imageMirrorConfigRef: { name: 'demo-mirrors' },
        imageContentSources: [{ source: 'registry.access.redhat.com/ubi9', mirrors: [`${MIRROR}/ubi9`] }],
        configuration: { image: { registrySources: { insecureRegistries: ['lab.corp.example:5001'] } } },
      },
    });
    await putCustom(k, 'nodepools', HS, { kind: 'NodePool', metadata: { name: 'demo-workers', namespace: ns }, spec: { clusterName: 'demo', replicas: 3 } });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'demo-gpu', namespace: ns, labels: { accelerator: gpuLabel } },
      spec: { clusterName: 'demo', replicas: 2, config: [{ name: 'demo-gpu-config' }] },
    });
    await putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name: `corp-digest-${id}` },
      spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: [`${MIRROR}/dockerhub`] }] },
    });
    await putCustom(k, 'imagetagmirrorsets', OURS, {
      kind: 'ImageTagMirrorSet',
      metadata: { name: `gpu-tags-${id}` },
      spec: { nodePoolSelector: { matchLabels: { accelerator: gpuLabel } }, imageTagMirrors: [{ source: 'nvcr.io', mirrors: [`${MIRROR}/nvcr`] }] },
    });
    await putConfigMap(k, opNs, 'corp-ca', { 'ca.crt': CA_PEM });
    await putSecret(k, opNs, 'corp-creds', 'kubernetes.io/basic-auth', { username: 'robot', password });
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `corp-${id}` },
      spec: {
        hosts: [
          {
            host: MIRROR,
            ca: { configMapKeyRef: { namespace: opNs, name: 'corp-ca', key: 'ca.crt' } },
            credentialsSecretRef: { namespace: opNs, name: 'corp-creds' },
          },
        ],
      },
    });
  }

  it('renders every NodePool from its HostedCluster, its config and the objects that select it', async () => {
    const started = Date.now();
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--leader-elect'] });
    const gpu = await waitReady(k, ns, 'demo-gpu');
    const workers = await waitReady(k, ns, 'demo-workers');
    console.log(`      converged from a cold start in ${Date.now() - started} ms (2 NodePools, 5 input objects)`);

    const gpuConf = registriesConf(await readConfigMap(k, ns, 'demo-gpu-image-mirrors'));
    const byLoc = mirrorsByLocation(gpuConf);
    expect(byLoc['quay.io/openshift-release-dev/ocp-release']).to.deep.equal([`${MIRROR}/openshift-release-dev/ocp-release`]);
    expect(byLoc['registry.access.redhat.com/ubi9']).to.deep.equal([`${MIRROR}/ubi9`]);
    expect(byLoc['docker.io']).to.deep.equal([`${MIRROR}/dockerhub`]);
    expect(byLoc['nvcr.io/nvidia']).to.deep.equal([`${MIRROR}/nvidia`]);
    expect(byLoc['nvcr.io']).to.deep.equal([`${MIRROR}/nvcr`]);
    expect(byLoc['registry.redhat.io']).to.include(`${MIRROR}/redhat`);
    const entry = (loc: string): NonNullable<typeof gpuConf.registry>[number] | undefined => gpuConf.registry?.find((r) => r.location === loc);
    // Disconnected release: NeverContactSource blocks the source itself.
    expect(entry('quay.io/openshift-release-dev/ocp-release')?.blocked).to.equal(true);
    expect(entry('registry.access.redhat.com/ubi9')?.['mirror-by-digest-only']).to.equal(true);
    expect(entry('lab.corp.example:5001')?.insecure).to.equal(true);

    const workersConf = mirrorsByLocation(registriesConf(await readConfigMap(k, ns, 'demo-workers-image-mirrors')));
    expect(workersConf['docker.io']).to.deep.equal([`${MIRROR}/dockerhub`]);
    expect(workersConf).to.not.have.property('nvcr.io');
    expect(workersConf).to.not.have.property('nvcr.io/nvidia');

    // A NodePool output holds what HyperShift reads (config) and what an agent on its CRI-O nodes would
    // install: no containerd files, and no containerd warnings among the target's. The credentials for
    // containers/image are in the Secret, and files.json says so.
    const cm = await readConfigMap(k, ns, 'demo-gpu-image-mirrors');
    const secret = await readSecret(k, ns, 'demo-gpu-image-mirrors');
    expect(Object.keys(cm?.data ?? {}).sort()).to.deep.equal(['config', `containers.${MIRROR.replace(':', '_')}_.ca.crt`, 'files.json', 'registries.conf']);
    // The node file, and the key of the content hash (not a node file: files.json does not list it).
    expect(Object.keys(secret?.data ?? {}).sort()).to.deep.equal(['containers.auth.json', 'content-hash-key']);
    const manifest = JSON.parse(cm?.data?.['files.json'] ?? '{}') as Record<string, { path: string; from: string }>;
    expect(manifest['registries.conf']).to.include({ path: '/etc/containers/registries.conf.d/99-image-mirrors.conf', from: 'ConfigMap' });
    expect(manifest['containers.auth.json']).to.include({ path: '/etc/containers/auth.json', from: 'Secret' });
    expect(Object.values(manifest).some((e) => e.path.startsWith('/etc/containerd/'))).to.equal(false);
    expect((gpu.status?.warnings ?? []).map((w) => `${w.code} ${w.source}`)).to.deep.equal([`CredentialsOmitted ${MIRROR}`]);

    const kinds = (gpu.status?.contributors ?? []).map((c) => `${c.kind}/${c.name}`);
    expect(kinds).to.include.members([
      'HostedCluster/demo',
      'NodePool/demo-gpu',
      'ConfigMap/demo-mirrors',
      'ConfigMap/demo-gpu-config',
      `ImageTagMirrorSet/gpu-tags-${id}`,
      `RegistryAccess/corp-${id}`,
    ]);
    expect((workers.status?.contributors ?? []).map((c) => c.name)).to.not.include(`gpu-tags-${id}`);
    expect(gpu.status?.outputs).to.deep.equal({ configMap: 'demo-gpu-image-mirrors', secret: 'demo-gpu-image-mirrors' });
    expect(condition(gpu.status, 'Degraded')).to.include({ status: 'False' });
  });

  it('puts the credentials into the Secret only, never into a ConfigMap, status, event or log line', async () => {
    const secret = await readSecret(k, ns, 'demo-gpu-image-mirrors');
    const decoded = Object.values(secret?.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    const basic = Buffer.from(`robot:${password}`).toString('base64');
    expect(decoded.some((v) => v.includes(basic) || v.includes(password))).to.equal(true);
    const forms = [password, basic, Buffer.from(password).toString('base64')];
    const everyConfigMap = JSON.stringify((await k.core.listConfigMapForAllNamespaces()).items);
    const statuses = JSON.stringify(await k.custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1alpha1', plural: 'renderedmirrorconfigs' }));
    const events = JSON.stringify((await k.core.listEventForAllNamespaces()).items);
    for (const f of forms) {
      expect(everyConfigMap, 'ConfigMaps').to.not.contain(f);
      expect(statuses, 'statuses').to.not.contain(f);
      expect(events, 'events').to.not.contain(f);
      expect(op?.text(), 'operator log').to.not.contain(f);
    }
  });

  it('sets Accepted, Applied and observedGeneration on our objects', async () => {
    const nodePools = (await k.custom.listCustomObjectForAllNamespaces({ group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools' })) as {
      items: unknown[];
    };
    const all = nodePools.items.length;
    const applied = async (plural: string, name: string, message: string): Promise<void> => {
      const obj = await waitUntil(`${plural} ${name} Applied`, async () => {
        const o = await readClusterObject(k, plural, name);
        return condition(o.status, 'Applied')?.status === 'True' ? o : undefined;
      });
      expect(condition(obj.status, 'Accepted')).to.include({ status: 'True', reason: 'Valid' });
      expect(condition(obj.status, 'Applied')?.message).to.equal(message);
      expect(obj.status?.observedGeneration).to.equal(obj.metadata.generation);
    };
    await applied('imagedigestmirrorsets', `corp-digest-${id}`, `rendered into ${all} target${all === 1 ? '' : 's'}`);
    await applied('imagetagmirrorsets', `gpu-tags-${id}`, 'rendered into 1 target');
    await applied('registryaccesses', `corp-${id}`, `rendered into ${all} target${all === 1 ? '' : 's'}`);
  });

  it('reports an object whose selector matches nothing as not applied, with an event', async () => {
    await putCustom(k, 'imagetagmirrorsets', OURS, {
      kind: 'ImageTagMirrorSet',
      metadata: { name: `gpu-tags-${id}` },
      spec: { nodePoolSelector: { matchLabels: { accelerator: 'none' } }, imageTagMirrors: [{ source: 'nvcr.io', mirrors: [`${MIRROR}/nvcr`] }] },
    });
    const obj = await waitUntil('ITMS NoMatchingTargets', async () => {
      const o = await readClusterObject(k, 'imagetagmirrorsets', `gpu-tags-${id}`);
      return condition(o.status, 'Applied')?.reason === 'NoMatchingTargets' ? o : undefined;
    });
    expect(obj.status?.observedGeneration).to.equal(2);
    // The NodePool it selected before no longer gets its mirrors.
    await waitUntil(
      'demo-gpu without nvcr.io',
      async () => !('nvcr.io' in mirrorsByLocation(registriesConf(await readConfigMap(k, ns, 'demo-gpu-image-mirrors')))),
    );
    // Invalid in a way the CRD schema cannot see: Accepted=False and a Warning event on the object.
    await putCustom(k, 'imagetagmirrorsets', OURS, {
      kind: 'ImageTagMirrorSet',
      metadata: { name: `gpu-tags-${id}` },
      spec: {
        nodePoolSelector: { matchLabels: { accelerator: 'none' } },
        imageTagMirrors: [{ source: 'nvcr.io/nvidia', mirrors: [`${MIRROR}/nvidia`, 'nvcr.io/nvidia'], mirrorSourcePolicy: 'NeverContactSource' }],
      },
    });
    await waitUntil('ITMS Accepted=False', async () => {
      const o = await readClusterObject(k, 'imagetagmirrorsets', `gpu-tags-${id}`);
      return condition(o.status, 'Accepted')?.reason === 'SourceIsOwnMirror';
    });
    const events = await waitUntil('a Warning event on the ITMS', async () => {
      const list = await eventsAbout(k, 'default', `gpu-tags-${id}`);
      return list.length > 0 ? list : undefined;
    });
    expect(events[0]).to.deep.include({ type: 'Warning', reason: 'SourceIsOwnMirror' });
    expect(events[0]?.message).to.contain('nvcr.io/nvidia').and.contain('spec.imageTagMirrors[0]');
    await deleteCustom(k, 'imagetagmirrorsets', OURS, `gpu-tags-${id}`);
  });

  it('renders one cluster-wide target when told to, from objects without a nodePoolSelector only', async () => {
    await op?.stop();
    await putCustom(k, 'imagetagmirrorsets', OURS, {
      kind: 'ImageTagMirrorSet',
      metadata: { name: `gpu-tags-${id}` },
      spec: { nodePoolSelector: { matchLabels: { accelerator: gpuLabel } }, imageTagMirrors: [{ source: 'nvcr.io', mirrors: [`${MIRROR}/nvcr`] }] },
    });
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--targets', 'cluster'] });
    const rmc = await waitReady(k, opNs, 'cluster');
    const conf = mirrorsByLocation(registriesConf(await readConfigMap(k, opNs, 'cluster-image-mirrors')));
    expect(conf['docker.io']).to.deep.equal([`${MIRROR}/dockerhub`]);
    expect(conf).to.not.have.property('nvcr.io');
    expect(rmc.spec).to.deep.equal({ target: { kind: 'Cluster' } });
    await op.stop();
    op = undefined;
    await cleanupCluster();
  });
});

describe('operator: the seeds in examples/seeds', function () {
  this.timeout(120_000);
  let k: Kube;
  let op: OperatorProcess | undefined;
  const opNs = 'image-mirror-system';

  before(() => {
    k = kube();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
    await op?.stop();
    op = undefined;
  });

  for (const seedName of ['caren', 'eks-anywhere', 'platform9']) {
    it(`renders the ${seedName} seed for the cluster target, credentials only in the Secret`, async () => {
      const docs: YamlObject[] = await readYamlDir(path.join(repoRoot(), 'examples', 'seeds', seedName));
      const { failed } = await applyAll(k, docs);
      expect(failed.map((f) => f.error)).to.deep.equal([]);
      try {
        op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--targets', 'cluster'] });
        const rmc = await waitReady(k, opNs, 'cluster');
        expect(condition(rmc.status, 'Degraded')?.status).to.equal('False');
        const cm = await readConfigMap(k, opNs, 'cluster-image-mirrors');
        const secrets = docs.filter((d) => d.kind === 'Secret') as Array<YamlObject & { stringData?: Record<string, string> }>;
        const passwords = secrets.flatMap((s) => (s.stringData?.password ? [s.stringData.password] : []));
        for (const p of passwords) expect(JSON.stringify(cm?.data)).to.not.contain(p);
        expect(rmc.status?.outputs?.secret).to.equal('cluster-image-mirrors');
      } finally {
        await op?.stop();
        op = undefined;
        await deleteAll(
          k,
          docs.filter((d) => d.kind !== 'Namespace' && d.kind !== 'CustomResourceDefinition'),
        );
        // What the operator wrote for the cluster target (nothing else removes it).
        await deleteCustom(k, 'renderedmirrorconfigs', OURS, 'cluster', opNs);
        await k.core.deleteNamespacedConfigMap({ namespace: opNs, name: 'cluster-image-mirrors' }).catch(() => undefined);
        await k.core.deleteNamespacedSecret({ namespace: opNs, name: 'cluster-image-mirrors' }).catch(() => undefined);
      }
    });
  }
});
