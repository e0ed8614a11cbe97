// Change flows against the real API server: edits of every kind of input
// re-render the target; a deleted or broken input makes it Degraded while
// the last good output stays published untouched; fixing the input recovers
// it without a restart; outputs edited or deleted by hand are repaired; a
// deleted NodePool takes its outputs and status with it.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
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
  readRmc,
  readSecret,
  registriesConf,
  waitDegraded,
  waitReady,
} from './lib.js';

const OURS = 'imagemirror.io/v1alpha1';

describe('operator: change flows', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `chg-${id}`;
  const opNs = `chg-op-${id}`;
  const out = 'pool-image-mirrors';
  let k: Kube;
  let op: OperatorProcess;
  let hash = '';

  const mirrors = async (): Promise<Record<string, string[]>> => mirrorsByLocation(registriesConf(await readConfigMap(k, ns, out)));
  /** Waits for a new output, logs how long it took, returns the mirrors. */
  const converged = async (what: string, since: number): Promise<Record<string, string[]>> => {
    const rmc = await waitReady(k, ns, 'pool', { notHash: hash });
    console.log(`      ${what}: new output after ${Date.now() - since} ms`);
    hash = rmc.status?.contentHash ?? '';
    return mirrors();
  };
  /** How many times the target recovered, as its Recovered Events on the NodePool count it. */
  const recoveredCount = async (): Promise<number> =>
    (await eventsAbout(k, ns, 'pool', 'NodePool')).filter((e) => e.reason === 'Recovered').reduce((n, e) => n + (e.count ?? 1), 0);
  const mirrorConfig = (mirror: string): Promise<void> =>
    putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/openshift-release-dev', mirrors: [mirror] }]) });

  before(async function () {
    k = kube();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await mirrorConfig('mirror.example.net/release');
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    await putCustom(k, 'nodepools', HS, { kind: 'NodePool', metadata: { name: 'pool', namespace: ns, labels: { chg: id } }, spec: { clusterName: 'hc' } });
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs });
    hash = (await waitReady(k, ns, 'pool')).status?.contentHash ?? '';
  });

  after(async function () {
    await op?.stop();
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `chg-${id}`);
    await deleteCustom(k, 'registryaccesses', OURS, `chg-${id}`);
    await deleteCustom(k, 'nodepools', HS, 'pool', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'hc', ns);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    await deleteNamespace(k, opNs, { finalize });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`operator log:\n${op.tail()}`);
  });

  it('follows an edit of the referenced ConfigMap', async () => {
    const t = Date.now();
    await mirrorConfig('mirror.example.net/release-v2');
    expect((await converged('ConfigMap edit', t))['quay.io/openshift-release-dev']).to.deep.equal(['mirror.example.net/release-v2']);
  });

  it('follows an edit of our ImageDigestMirrorSet', async () => {
    const idms = (mirror: string) => ({
      kind: 'ImageDigestMirrorSet',
      metadata: { name: `chg-${id}` },
      spec: { nodePoolSelector: { matchLabels: { chg: id } }, imageDigestMirrors: [{ source: 'docker.io', mirrors: [mirror] }] },
    });
    let t = Date.now();
    await putCustom(k, 'imagedigestmirrorsets', OURS, idms('mirror.example.net/hub'));
    expect((await converged('IDMS create', t))['docker.io']).to.deep.equal(['mirror.example.net/hub']);
    t = Date.now();
    await putCustom(k, 'imagedigestmirrorsets', OURS, idms('mirror.example.net/hub-v2'));
    expect((await converged('IDMS edit', t))['docker.io']).to.deep.equal(['mirror.example.net/hub-v2']);
  });

  it('follows an edit of the HostedCluster', async () => {
    const t = Date.now();
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' }, imageContentSources: [{ source: 'registry.example.com/ubi', mirrors: ['mirror.example.net/ubi'] }] },
    });
    expect((await converged('HostedCluster edit', t))['registry.example.com/ubi']).to.deep.equal(['mirror.example.net/ubi']);
  });

  it('follows a Secret a RegistryAccess references, from its first appearance', async () => {
    await putCustom(k, 'registryaccesses', OURS, {
      kind: 'RegistryAccess',
      metadata: { name: `chg-${id}` },
      spec: {
        nodePoolSelector: { matchLabels: { chg: id } },
        hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: opNs, name: 'creds' } }],
      },
    });
    await waitDegraded(k, ns, 'pool', 'MissingReference');
    const t = Date.now();
    await k.core.createNamespacedSecret({
      namespace: opNs,
      body: { metadata: { name: 'creds' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: `first-${id}` } },
    });
    await converged('referenced Secret created', t);
    const secretText = async (): Promise<string> =>
      Object.values((await readSecret(k, ns, out))?.data ?? {})
        .map((v) => Buffer.from(v, 'base64').toString('utf8'))
        .join('\n');
    expect(await secretText()).to.contain(Buffer.from(`u:first-${id}`).toString('base64'));
    // A new password changes only the Secret, and with it the content hash (docs/api.md "Content hash").
    await k.core.replaceNamespacedSecret({
      namespace: opNs,
      name: 'creds',
      body: { metadata: { name: 'creds' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: `second-${id}` } },
    });
    await waitUntil('the output Secret to hold the new password', async () => (await secretText()).includes(Buffer.from(`u:second-${id}`).toString('base64')));
    hash = (await waitReady(k, ns, 'pool', { notHash: hash })).status?.contentHash ?? '';
    await deleteCustom(k, 'registryaccesses', OURS, `chg-${id}`);
    await waitUntil('the output Secret to be deleted', async () => (await readSecret(k, ns, out)) === undefined);
    // Without the credentials the content changes: wait for that status, not the one before it.
    hash = (await waitReady(k, ns, 'pool', { notHash: hash })).status?.contentHash ?? '';
  });

  it('keeps the last good output when the referenced ConfigMap is deleted or broken, and recovers when it is fixed', async () => {
    const good = await readConfigMap(k, ns, out);
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: 'mirrors' });
    let rmc = await waitDegraded(k, ns, 'pool', 'MissingReference');
    // Recovered Events of earlier tests have landed by now: a target's Event is recorded before its next pass runs.
    const recovered0 = await recoveredCount();
    expect(condition(rmc.status, 'Degraded')?.message).to.contain(`ConfigMap ${ns}/mirrors not found`);
    expect(condition(rmc.status, 'Ready')).to.include({ status: 'False', reason: 'InvalidInputs' });
    expect(rmc.status?.contentHash).to.equal(hash);

    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': 'apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec: [unclosed\n' });
    rmc = await waitDegraded(k, ns, 'pool', 'InvalidYAML');
    expect(condition(rmc.status, 'Degraded')?.message).to.contain(`ConfigMap ${ns}/mirrors key idms.yaml`);
    const kept = await readConfigMap(k, ns, out);
    expect(kept?.metadata?.resourceVersion).to.equal(good?.metadata?.resourceVersion);
    expect(kept?.data).to.deep.equal(good?.data);

    const t = Date.now();
    await mirrorConfig('mirror.example.net/release-v3');
    expect((await converged('fixed ConfigMap', t))['quay.io/openshift-release-dev']).to.deep.equal(['mirror.example.net/release-v3']);
    const events = await waitUntil('the Recovered event', async () => {
      const list = await eventsAbout(k, ns, 'pool');
      return list.filter((e) => e.reason === 'Recovered').length === 2 ? list : undefined;
    });
    const reasons = events.map((e) => `${e.involvedObject.kind} ${e.type}/${e.reason}`);
    // Each on the NodePool and on the RenderedMirrorConfig (same name, same namespace).
    for (const kind of ['NodePool', 'RenderedMirrorConfig']) {
      expect(reasons).to.include.members([`${kind} Warning/MissingReference`, `${kind} Warning/InvalidYAML`, `${kind} Normal/Recovered`]);
    }
    expect(events.every((e) => e.involvedObject.namespace === ns)).to.equal(true);

    // The same problem and the same recovery again: counted on the Events already there, as client-go's recorder does.
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: 'mirrors' });
    await waitDegraded(k, ns, 'pool', 'MissingReference');
    expect(await recoveredCount()).to.equal(recovered0 + 1);
    await mirrorConfig('mirror.example.net/release-v3');
    const counted = await waitUntil('the repeated events to be counted', async () => {
      const list = await eventsAbout(k, ns, 'pool', 'NodePool');
      const missing = list.filter((e) => e.reason === 'MissingReference' && e.message?.includes(`ConfigMap ${ns}/mirrors not found`));
      const recovered = list.filter((e) => e.reason === 'Recovered');
      return recovered.some((e) => e.count === recovered0 + 2) && missing.some((e) => e.count === 2) ? { missing, recovered } : undefined;
    });
    expect(counted.missing.map((e) => e.count)).to.deep.equal([2]);
    // One Event, counted: not one per recovery.
    expect(counted.recovered.map((e) => e.count)).to.deep.equal([recovered0 + 2]);
    const [first, last] = [counted.missing[0]?.firstTimestamp, counted.missing[0]?.lastTimestamp].map((d) => new Date(d ?? 0).getTime()) as [number, number];
    expect(last).to.be.at.least(first);
  });

  it('leaves an output whose labels someone else changed as it is: read back, compared, not written', async () => {
    const writes = (): Promise<number> => op.metric('imagemirror_api_writes_total', { kind: 'ConfigMap' });
    const written = await writes();
    const labelled = await k.core.patchNamespacedConfigMap(
      { namespace: ns, name: out, body: { metadata: { labels: { 'team.example/owner': 'platform' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The watch event carries the metadata only: the operator reads the object back (500 ms after the event), finds
    // its data and labels as published, and writes nothing. An output counted as changed would be written at once.
    await new Promise((r) => setTimeout(r, 2_500));
    const now = await readConfigMap(k, ns, out);
    expect(now?.metadata?.resourceVersion).to.equal(labelled.metadata?.resourceVersion);
    expect(await writes()).to.equal(written);
    // Its data edited next: repaired (the operator was watching), the label kept.
    await k.core.patchNamespacedConfigMap(
      { namespace: ns, name: out, body: { data: { 'registries.conf': '# edited by hand\n' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const repaired = await waitUntil('the edited output to be repaired', async () => {
      const cm = await readConfigMap(k, ns, out);
      return cm?.data?.['registries.conf'] !== '# edited by hand\n' && cm?.metadata?.resourceVersion !== labelled.metadata?.resourceVersion ? cm : undefined;
    });
    expect(repaired?.metadata?.labels).to.include({ 'team.example/owner': 'platform', 'imagemirror.io/output': 'true' });
    expect(await writes()).to.equal(written + 1);
  });

  it('repairs an output edited or deleted by hand', async () => {
    const good = await readConfigMap(k, ns, out);
    await k.core.replaceNamespacedConfigMap({ namespace: ns, name: out, body: { ...good, data: { ...good?.data, 'registries.conf': '# edited by hand\n' } } });
    await waitUntil(
      'the edited output to be repaired',
      async () => (await readConfigMap(k, ns, out))?.data?.['registries.conf'] === good?.data?.['registries.conf'],
    );
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: out });
    const back = await waitUntil('the deleted output to be back', () => readConfigMap(k, ns, out));
    expect(back.data).to.deep.equal(good?.data);
    expect(back.metadata?.labels).to.include({ 'imagemirror.io/output': 'true', 'imagemirror.io/target': `${ns}.pool` });
  });

  it('never reads an output as an input, even when the NodePool lists its own or another one in spec.config', async () => {
    await putCustom(k, 'nodepools', HS, { kind: 'NodePool', metadata: { name: 'pool2', namespace: ns }, spec: { clusterName: 'hc' } });
    await waitReady(k, ns, 'pool2');
    const config = [{ name: out }, { name: 'pool2-image-mirrors' }];
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'pool', namespace: ns, labels: { chg: id } },
      spec: { clusterName: 'hc', config },
    });
    const np = (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'pool',
    })) as {
      metadata: { generation: number };
    };
    // Wait for the pass that saw the new NodePool generation.
    const rmc = await waitUntil('a pass over the edited NodePool', async () => {
      const r = await readRmc(k, ns, 'pool');
      const seen = r?.status?.contributors?.find((c) => c.kind === 'NodePool')?.generation;
      return seen === np.metadata.generation || condition(r?.status, 'Degraded')?.status === 'True' ? r : undefined;
    });
    expect(condition(rmc.status, 'Degraded')).to.include({ status: 'False' });
    expect(rmc.status?.contentHash).to.equal(hash);
    expect((rmc.status?.contributors ?? []).map((c) => c.name)).to.not.include.members([out, 'pool2-image-mirrors']);
    await deleteCustom(k, 'nodepools', HS, 'pool2', ns);
  });

  it('removes the outputs and the status of a deleted NodePool', async () => {
    expect(await readRmc(k, ns, 'pool')).to.not.equal(undefined);
    await deleteCustom(k, 'nodepools', HS, 'pool', ns);
    await waitUntil('outputs and status to be gone', async () => {
      const [cm, secret, rmc] = await Promise.all([readConfigMap(k, ns, out), readSecret(k, ns, out), readRmc(k, ns, 'pool')]);
      return !cm && !secret && !rmc;
    });
  });
});
