// HyperShift delivery a platform team can trust (issue 17), on the real API
// server with the compat HostedCluster/NodePool CRDs: what `kubectl get rmc`
// and `kubectl describe rmc` show, which warnings and keys a NodePool target
// gets, both mirror-config fields set on a HostedCluster, whether the output
// is delivered through NodePool.spec.config, and one change of the `config`
// key per burst of input changes.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import { kubectl, table } from '../lib/kubectl.js';
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
  readConfigMap,
  registriesConf,
  readRmc,
  waitDegraded,
  waitReady,
} from './lib.js';

const MIRROR = 'mirror.corp.example:5000';
const OUT = 'workers-image-mirrors';
const AGENT_FILES = 'imagemirror.io/agent-files';

describe('operator: HyperShift delivery', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `hsd-${id}`;
  const opNs = `hsd-op-${id}`;
  let k: Kube;
  let op: OperatorProcess | undefined;

  /** A user's edit of the NodePool: a JSON merge patch. */
  const mergePatchNodePool = async (body: object): Promise<void> => {
    await k.custom.patchNamespacedCustomObject(
      { group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools', namespace: ns, name: 'workers', body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };
  const hostedCluster = (spec: Record<string, unknown>) =>
    putCustom(k, 'hostedclusters', HS, { kind: 'HostedCluster', metadata: { name: 'demo', namespace: ns }, spec });

  before(async function () {
    k = kube();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await hostedCluster({
      imageContentSources: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: [`${MIRROR}/openshift-release-dev/ocp-release`] }],
    });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns },
      spec: { clusterName: 'demo', replicas: 2, management: { upgradeType: 'Replace' } },
    });
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--resync-period', '2s'] });
  });

  after(async function () {
    await op?.stop();
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'demo', ns);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.log(`operator log:\n${op.tail()}`);
  });

  it('kubectl get rmc shows Reason and a 12-digit hash; a problem and its recovery are Events on the RenderedMirrorConfig too', async () => {
    const rmc = await waitReady(k, ns, 'workers');
    const hash = rmc.status?.contentHash ?? '';
    const rows = table(await kubectl(kubeconfigPath(), ['get', 'rmc', '-n', ns]));
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({
      NAME: 'workers',
      TARGET: 'NodePool',
      READY: 'True',
      REASON: 'AsExpected',
      HASH: hash.slice('sha256:'.length, 'sha256:'.length + 12),
    });
    expect(rows[0]?.HASH).to.match(/^[0-9a-f]{12}$/);
    const wide = table(await kubectl(kubeconfigPath(), ['get', 'rmc', '-n', ns, '-o', 'wide']));
    expect(wide[0]?.['CONTENT HASH']).to.equal(hash);

    await hostedCluster({ imageMirrorConfigRef: { name: 'missing-mirrors' } });
    await waitDegraded(k, ns, 'workers', 'MissingReference');
    const stored = await readRmc(k, ns, 'workers');
    const onRmc = await waitUntil('the Warning Event on the RenderedMirrorConfig', async () => {
      const list = await eventsAbout(k, ns, 'workers', 'RenderedMirrorConfig');
      return list.find((e) => e.type === 'Warning' && e.reason === 'MissingReference');
    });
    // kubectl describe finds Events by the object's uid: the Event carries it.
    expect(onRmc.involvedObject).to.include({ apiVersion: 'imagemirror.io/v1alpha1', namespace: ns, uid: stored?.metadata.uid });
    expect(onRmc.message).to.contain(`ConfigMap ${ns}/missing-mirrors not found`);
    const onNodePool = await eventsAbout(k, ns, 'workers', 'NodePool');
    expect(onNodePool.map((e) => e.reason)).to.include('MissingReference');
    expect(table(await kubectl(kubeconfigPath(), ['get', 'rmc', '-n', ns]))[0]).to.include({ READY: 'False', REASON: 'MissingReference' });
    const described = await kubectl(kubeconfigPath(), ['describe', 'rmc', '-n', ns, 'workers']);
    expect(described).to.match(/Events:[\s\S]*Warning\s+MissingReference[\s\S]*missing-mirrors not found/);
    expect(condition(stored?.status, 'Degraded')?.status).to.equal('True');

    await hostedCluster({
      imageContentSources: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: [`${MIRROR}/openshift-release-dev/ocp-release`] }],
    });
    await waitReady(k, ns, 'workers');
    await waitUntil('the Recovered Event on the RenderedMirrorConfig', async () =>
      (await eventsAbout(k, ns, 'workers', 'RenderedMirrorConfig')).some((e) => e.reason === 'Recovered'),
    );
    expect(await kubectl(kubeconfigPath(), ['describe', 'rmc', '-n', ns, 'workers'])).to.match(/Normal\s+Recovered/);
  });

  it('publishes config plus the CRI-O files by default, no containerd warnings; the NodePool annotation picks all or none', async () => {
    const keys = async (): Promise<string[]> => Object.keys((await readConfigMap(k, ns, OUT))?.data ?? {}).sort();
    let rmc = await waitReady(k, ns, 'workers');
    expect(await keys()).to.deep.equal(['config', 'files.json', 'registries.conf']);
    // quay.io/openshift-release-dev/ocp-release is repository-scoped: containerd widens it to the whole host (a warning).
    expect(rmc.status?.warnings ?? []).to.deep.equal([]);
    expect(rmc.status).to.not.have.property('containerdWarnings');

    const annotate = (value: string | null) => mergePatchNodePool({ metadata: { annotations: { [AGENT_FILES]: value } } });
    await annotate('all');
    rmc = await waitUntil('the containerd files in the output', async () => {
      const cur = await readRmc(k, ns, 'workers');
      return (cur?.status as { containerdWarningCount?: number } | undefined)?.containerdWarningCount ? cur : undefined;
    });
    expect(await keys()).to.include.members(['config', 'files.json', 'registries.conf', 'containerd.quay.io.hosts.toml']);
    const status = rmc?.status as { warnings?: unknown[]; containerdWarnings?: Array<{ code: string; renderer: string; source: string }> };
    expect(status.warnings ?? []).to.deep.equal([]);
    expect(status.containerdWarnings?.map((w) => `${w.renderer} ${w.code} ${w.source}`)).to.include(
      'containerd HostWideWidening quay.io/openshift-release-dev/ocp-release',
    );

    await annotate('none');
    await waitUntil('the config key alone', async () => (await keys()).join(',') === 'config');
    rmc = await waitReady(k, ns, 'workers');
    expect(rmc.status).to.not.have.property('containerdWarnings');

    await annotate(null);
    await waitUntil('the default keys back', async () => (await keys()).join(',') === 'config,files.json,registries.conf');
  });

  it('a HostedCluster with both imageMirrorConfigRef and imageMirrorConfig: the Ref is used, and AmbiguousInputs says so', async () => {
    await putConfigMap(k, ns, 'new-mirrors', { 'idms.yaml': idmsDoc('new', [{ source: 'registry.redhat.io', mirrors: [`${MIRROR}/new`] }]) });
    await putConfigMap(k, ns, 'old-mirrors', { 'idms.yaml': idmsDoc('old', [{ source: 'registry.redhat.io', mirrors: [`${MIRROR}/old`] }]) });
    await hostedCluster({ imageMirrorConfigRef: { name: 'new-mirrors' }, imageMirrorConfig: { name: 'old-mirrors' } });
    const rmc = await waitUntil('AmbiguousInputs=True', async () => {
      const cur = await readRmc(k, ns, 'workers');
      return condition(cur?.status, 'AmbiguousInputs')?.status === 'True' ? cur : undefined;
    });
    const ambiguous = condition(rmc.status, 'AmbiguousInputs');
    expect(ambiguous?.reason).to.equal('BothMirrorConfigFields');
    expect(ambiguous?.message).to.equal(
      `HostedCluster ${ns}/demo sets both spec.imageMirrorConfigRef and spec.imageMirrorConfig: ConfigMap ${ns}/new-mirrors ` +
        `(spec.imageMirrorConfigRef.name) is used, ${ns}/old-mirrors (spec.imageMirrorConfig.name) is ignored; remove spec.imageMirrorConfig`,
    );
    expect(condition(rmc.status, 'Ready')?.status).to.equal('True');
    expect(mirrorsByLocation(registriesConf(await readConfigMap(k, ns, OUT)))['registry.redhat.io']).to.deep.equal([`${MIRROR}/new`]);
    expect((rmc.status?.warnings ?? []).map((w) => `${w.code} ${w.source}`)).to.deep.equal([`AmbiguousReference HostedCluster ${ns}/demo`]);
    for (const kind of ['NodePool', 'RenderedMirrorConfig']) {
      await waitUntil(`the Warning Event on the ${kind}`, async () =>
        (await eventsAbout(k, ns, 'workers', kind)).some((e) => e.type === 'Warning' && e.reason === 'BothMirrorConfigFields'),
      );
    }
    expect(await kubectl(kubeconfigPath(), ['describe', 'rmc', '-n', ns, 'workers'])).to.match(/Warning\s+BothMirrorConfigFields/);

    await hostedCluster({ imageMirrorConfigRef: { name: 'new-mirrors' } });
    await waitUntil('AmbiguousInputs=False', async () => condition((await readRmc(k, ns, 'workers'))?.status, 'AmbiguousInputs')?.status === 'False');
    expect((await readRmc(k, ns, 'workers'))?.status?.warnings ?? []).to.deep.equal([]);
  });
});
