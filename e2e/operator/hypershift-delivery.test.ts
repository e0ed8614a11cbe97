// HyperShift delivery a platform team can trust (issue 17), on the real API
// server with the compat HostedCluster/NodePool CRDs: what `kubectl get rmc`
// and `kubectl describe rmc` show, which warnings and keys a NodePool target
// gets, both mirror-config fields set on a HostedCluster, whether the output
// is delivered through NodePool.spec.config, and one change of the `config`
// key per burst of input changes.
import { PatchStrategy, setHeaderOptions, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { auditLog, kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import type { AuditLog } from '../lib/audit.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import { kubectl, table } from '../lib/kubectl.js';
import {
  type Condition,
  type CustomObject,
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
const OURS = 'imagemirror.io/v1alpha1';
/** The operator's --nodepool-config-settle here. */
const SETTLE_S = 3;
/** Objects a GitOps sync applies one after another. */
const BURST = 5;

describe('operator: HyperShift delivery', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `hsd-${id}`;
  const opNs = `hsd-op-${id}`;
  let k: Kube;
  let audit: AuditLog | undefined;
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
    audit = auditLog();
    await createNamespace(k, ns);
    await createNamespace(k, opNs);
    await hostedCluster({
      imageContentSources: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: [`${MIRROR}/openshift-release-dev/ocp-release`] }],
    });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns, labels: { hsd: id } },
      spec: { clusterName: 'demo', replicas: 2, management: { upgradeType: 'Replace' } },
    });
    op = await OperatorProcess.start({
      kubeconfig: kubeconfigPath(),
      namespace: opNs,
      args: ['--resync-period', '2s', '--nodepool-config-settle', `${SETTLE_S}s`],
    });
  });

  after(async function () {
    await op?.stop();
    for (let i = 0; i < BURST; i++) await deleteCustom(k, 'imagedigestmirrorsets', OURS, `hsd-${id}-${i}`);
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
    const noContainerdWarnings = (): Promise<CustomObject> =>
      waitUntil('a Ready status without containerd warnings', async () => {
        const cur = await readRmc(k, ns, 'workers');
        return condition(cur?.status, 'Ready')?.status === 'True' && cur?.status && !('containerdWarnings' in cur.status) ? cur : undefined;
      });
    await waitReady(k, ns, 'workers');
    expect(await keys()).to.deep.equal(['config', 'files.json', 'registries.conf']);
    // quay.io/openshift-release-dev/ocp-release is repository-scoped: containerd widens it to the whole host (a warning).
    // A routine status write may follow its output a moment later (status-lane.ts): the status is waited for.
    let rmc = await noContainerdWarnings();
    expect(rmc.status?.warnings ?? []).to.deep.equal([]);

    const annotate = (value: string | null) => mergePatchNodePool({ metadata: { annotations: { [AGENT_FILES]: value } } });
    await annotate('all');
    rmc = await waitUntil('the containerd files in the output', async () => {
      const cur = await readRmc(k, ns, 'workers');
      return cur?.status?.containerdWarningCount ? cur : undefined;
    });
    expect(await keys()).to.include.members(['config', 'files.json', 'registries.conf', 'containerd.quay.io.hosts.toml']);
    const status = rmc?.status ?? {};
    expect(status.warnings ?? []).to.deep.equal([]);
    expect(status.containerdWarnings?.map((w) => `${w.renderer} ${w.code} ${w.source}`)).to.include(
      'containerd HostWideWidening quay.io/openshift-release-dev/ocp-release',
    );

    await annotate('none');
    await waitUntil('the config key alone', async () => (await keys()).join(',') === 'config');
    rmc = await noContainerdWarnings();
    expect(condition(rmc.status, 'Ready')?.status).to.equal('True');

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

  // ---------------------------------------------------------------- delivery through NodePool.spec.config

  /** Writes of the output ConfigMap that the API server accepted, after `mark` (audit log). */
  const configMapWrites = async (mark: number): Promise<number> =>
    (await audit?.countWrites({ resource: 'configmaps', namespace: ns, name: OUT, verbs: ['create', 'update', 'patch'] }, mark)) ?? 0;

  /** A watch on the output ConfigMap from now on: how often it changed, and how often its key config did. */
  const watchConfigKey = async (): Promise<{ modified: () => number; configChanges: () => number; stop: () => void }> => {
    const cm = await readConfigMap(k, ns, OUT);
    let last = cm?.data?.config;
    let [modified, changes] = [0, 0];
    const req = await new Watch(k.kc).watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { fieldSelector: `metadata.name=${OUT}`, resourceVersion: cm?.metadata?.resourceVersion ?? '' },
      (type: string, obj: V1ConfigMap) => {
        if (type !== 'MODIFIED') return;
        modified++;
        if (obj.data?.config !== last) changes++;
        last = obj.data?.config;
      },
      () => undefined,
    );
    return { modified: () => modified, configChanges: () => changes, stop: () => req.abort() };
  };

  const readNodePool = async (): Promise<NodePoolObject> =>
    (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'workers',
    })) as NodePoolObject;

  /** What HyperShift's NodePool controller would write: its config conditions, in the status subresource. */
  const hyperShiftSays = async (conditions: Array<{ type: string; status: string; reason?: string; message?: string }>): Promise<void> => {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = { status: { conditions: conditions.map((c) => ({ reason: 'AsExpected', message: '', ...c, lastTransitionTime: now })) } };
    await k.custom.patchNamespacedCustomObjectStatus(
      { group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools', namespace: ns, name: 'workers', body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };

  const delivered = async (reason: string): Promise<Condition> =>
    waitUntil(`Delivered ${reason}`, async () => {
      const c = condition((await readRmc(k, ns, 'workers'))?.status, 'Delivered');
      return c?.reason === reason ? c : undefined;
    });

  it('Delivered says the output is not listed in spec.config, and the command its message gives fixes it', async () => {
    const c = await delivered('NotReferenced');
    expect(c.status).to.equal('False');
    expect(table(await kubectl(kubeconfigPath(), ['get', 'rmc', '-n', ns]))[0]).to.include({ DELIVERED: 'False' });
    const warning = await waitUntil('the NotReferenced Warning on the RenderedMirrorConfig', async () =>
      (await eventsAbout(k, ns, 'workers', 'RenderedMirrorConfig')).find((e) => e.type === 'Warning' && e.reason === 'NotReferenced'),
    );
    expect(warning.message).to.equal(c.message);
    expect(c.message).to.contain(`kubectl -n ${ns} annotate nodepool workers imagemirror.io/manage-config-ref=true`);
    // Run the command exactly as the message spells it.
    const command = /run kubectl (.*?) \(or list it in Git/.exec(c.message)?.[1] ?? '';
    expect(command).to.match(/^-n \S+ patch nodepool workers --type=json -p '/);
    await kubectl(kubeconfigPath(), shellWords(command));
    expect((await readNodePool()).spec.config).to.deep.equal([{ name: OUT }]);
    const now = await delivered('Referenced');
    expect(now.status).to.equal('True');
    expect(now.message).to.contain(`reports no UpdatingConfig condition`);
    expect(table(await kubectl(kubeconfigPath(), ['get', 'rmc', '-n', ns]))[0]).to.include({ DELIVERED: 'True' });
  });

  it('Delivered follows HyperShift`s UpdatingConfig and ValidMachineConfig on the NodePool', async () => {
    await hyperShiftSays([
      { type: 'ValidMachineConfig', status: 'True' },
      { type: 'UpdatingConfig', status: 'True', message: 'Updating config in progress. Target config: 5d1b' },
    ]);
    expect((await delivered('RollingOut')).message)
      .to.contain('UpdatingConfig=True since')
      .and.contain('Target config: 5d1b');
    await hyperShiftSays([
      { type: 'ValidMachineConfig', status: 'True' },
      { type: 'UpdatingConfig', status: 'False' },
    ]);
    expect((await delivered('PickedUp')).status).to.equal('True');
    await hyperShiftSays([
      { type: 'ValidMachineConfig', status: 'False', reason: 'ValidationFailed', message: 'failed to get config: unsupported kind' },
      { type: 'UpdatingConfig', status: 'False' },
    ]);
    const rejected = await delivered('ConfigRejected');
    expect(rejected.message).to.contain('ValidMachineConfig=False (ValidationFailed): failed to get config: unsupported kind');
    await waitUntil('the ConfigRejected Warning on the NodePool', async () =>
      (await eventsAbout(k, ns, 'workers', 'NodePool')).some((e) => e.type === 'Warning' && e.reason === 'ConfigRejected'),
    );
    await hyperShiftSays([
      { type: 'ValidMachineConfig', status: 'True' },
      { type: 'UpdatingConfig', status: 'False' },
    ]);
    await delivered('PickedUp');
  });

  it(`a burst of ${BURST} objects applied one after another is one change of the config key; the other keys follow at once`, async () => {
    const watch = await watchConfigKey();
    const mark = (await audit?.mark()) ?? 0;
    const before = (await readConfigMap(k, ns, OUT))?.data ?? {};
    const t0 = Date.now();
    for (let i = 0; i < BURST; i++) {
      await putCustom(k, 'imagedigestmirrorsets', OURS, {
        kind: 'ImageDigestMirrorSet',
        metadata: { name: `hsd-${id}-${i}` },
        spec: { nodePoolSelector: { matchLabels: { hsd: id } }, imageDigestMirrors: [{ source: `burst-${i}.example.com`, mirrors: [`${MIRROR}/burst-${i}`] }] },
      });
    }
    // The held change, in the status: what it will do, when.
    const pending = await delivered('ChangePending');
    expect(pending.message).to.match(
      /, publishing in \d s; publishing it rolls the 2 nodes of NodePool \S+\/workers \(upgradeType Replace: new machines replace the old ones\)/,
    );
    const rmc = await readRmc(k, ns, 'workers');
    expect(rmc?.status?.delivery).to.include.keys('pendingConfigHash', 'pendingSince', 'publishAfter');
    // The agent's key has every object already, the config key none of them yet.
    await waitUntil('registries.conf with the whole burst', async () =>
      (await readConfigMap(k, ns, OUT))?.data?.['registries.conf']?.includes(`burst-${BURST - 1}.example.com`),
    );
    const during = (await readConfigMap(k, ns, OUT))?.data ?? {};
    expect(during.config).to.equal(before.config);
    const published = await waitUntil(
      'the config key with the whole burst',
      async () => {
        const cur = await readConfigMap(k, ns, OUT);
        return cur?.data?.config !== before.config ? cur : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const took = Date.now() - t0;
    for (let i = 0; i < BURST; i++) expect(decoded(published.data?.config)).to.contain(`burst-${i}.example.com`);
    expect(took, 'published after the settle window').to.be.at.least(SETTLE_S * 1000 - 500);
    // HyperShift's last word predates the change: not known to be picked up until it reports an update.
    expect((await delivered('AwaitingHyperShift')).status).to.equal('Unknown');
    await hyperShiftSays([{ type: 'UpdatingConfig', status: 'True', message: 'Updating config in progress. Target config: 77aa' }]);
    await delivered('RollingOut');
    await hyperShiftSays([{ type: 'UpdatingConfig', status: 'False' }]);
    await delivered('PickedUp');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(watch.configChanges(), 'changes of the config key seen by a watch').to.equal(1);
    expect(watch.modified(), 'ConfigMap updates seen by a watch').to.be.at.least(2);
    watch.stop();
    const reasons = (await eventsAbout(k, ns, 'workers', 'RenderedMirrorConfig')).map((e) => `${e.reason} ${e.count}`);
    expect(reasons.filter((r) => r.startsWith('ConfigChangePending'))).to.have.length(1);
    expect(reasons.filter((r) => r.startsWith('ConfigPublished'))).to.deep.equal(['ConfigPublished 1']);
    if (audit)
      console.log(`      burst of ${BURST}: ${await configMapWrites(mark)} ConfigMap writes, 1 change of config, published ${took} ms after the first apply`);
    // HyperShift gone quiet (as on the stand-in CRDs): Delivered says only that the output is listed.
    await hyperShiftSays([]);
    await delivered('Referenced');
  });

  it('counted in the audit log: with the agent files "none" every write is the config key, and a burst is one write', async function () {
    if (!audit) this.skip();
    await mergePatchNodePool({ metadata: { annotations: { [AGENT_FILES]: 'none' } } });
    await waitUntil('the config key alone', async () => Object.keys((await readConfigMap(k, ns, OUT))?.data ?? {}).join(',') === 'config');
    await delivered('Referenced');
    const mark = await audit.mark();
    for (let i = 0; i < BURST; i++) {
      await putCustom(k, 'imagedigestmirrorsets', OURS, {
        kind: 'ImageDigestMirrorSet',
        metadata: { name: `hsd-${id}-${i}` },
        spec: { nodePoolSelector: { matchLabels: { hsd: id } }, imageDigestMirrors: [{ source: `burst-${i}.example.com`, mirrors: [`${MIRROR}/again-${i}`] }] },
      });
    }
    await delivered('ChangePending');
    expect(await configMapWrites(mark), 'ConfigMap writes while the change is held').to.equal(0);
    const published = async (): Promise<boolean> => decoded((await readConfigMap(k, ns, OUT))?.data?.config).includes(`again-${BURST - 1}`);
    await waitUntil('the burst published', published, { timeoutMs: 30_000, intervalMs: 100 });
    await delivered('Referenced');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await configMapWrites(mark), 'writes of the config key for the burst').to.equal(1);
    await mergePatchNodePool({ metadata: { annotations: { [AGENT_FILES]: null } } });
    await waitUntil('the default keys back', async () => Object.keys((await readConfigMap(k, ns, OUT))?.data ?? {}).length > 1);
  });

  it('with approval required, a change waits for the annotation the message names, and publishing it is an Event', async () => {
    await mergePatchNodePool({ metadata: { annotations: { 'imagemirror.io/config-approval': 'required' } } });
    await delivered('Referenced');
    const before = (await readConfigMap(k, ns, OUT))?.data?.config;
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `hsd-${id}-0`);
    const held = await delivered('AwaitingApproval');
    expect(held.message).to.contain('upgradeType Replace');
    const event = await waitUntil('the ConfigChangePending Event naming the approval', async () =>
      (await eventsAbout(k, ns, 'workers', 'NodePool')).find((e) => e.reason === 'ConfigChangePending' && e.message?.includes('held until approved')),
    );
    // Longer than the settle window: still held.
    await new Promise((r) => setTimeout(r, (SETTLE_S + 1) * 1000));
    expect((await readConfigMap(k, ns, OUT))?.data?.config).to.equal(before);
    const command = /approve it: kubectl (.*)$/.exec(held.message)?.[1] ?? '';
    expect(event.message).to.contain(`kubectl ${command}`);
    const pendingHash = (await readRmc(k, ns, 'workers'))?.status?.delivery?.pendingConfigHash ?? '';
    expect(command).to.equal(`-n ${ns} annotate nodepool workers imagemirror.io/approve-config=${pendingHash.slice(7, 19)} --overwrite`);
    await kubectl(kubeconfigPath(), shellWords(command));
    await waitUntil('the approved change published', async () => (await readConfigMap(k, ns, OUT))?.data?.config !== before, { timeoutMs: 30_000 });
    await delivered('Referenced');
    const publishedEvent = await waitUntil('the ConfigPublished Event', async () =>
      (await eventsAbout(k, ns, 'workers', 'NodePool')).find((e) => e.reason === 'ConfigPublished' && e.message?.includes(`-> ${pendingHash.slice(7, 19)}`)),
    );
    expect(publishedEvent.message).to.contain('HyperShift rolls the 2 nodes').and.contain('upgradeType Replace');
    await mergePatchNodePool({ metadata: { annotations: { 'imagemirror.io/config-approval': null, 'imagemirror.io/approve-config': null } } });
  });
});

interface NodePoolObject {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { config?: Array<{ name: string }> };
}

/** The files of a MachineConfig (key `config`), decoded and joined. */
function decoded(config: string | undefined): string {
  const files =
    (JSON.parse(config ?? '{}') as { spec?: { config?: { storage?: { files?: Array<{ contents: { source: string } }> } } } }).spec?.config?.storage?.files ??
    [];
  return files.map((f) => Buffer.from(f.contents.source.replace(/^data:[^,]*,/, ''), 'base64').toString('utf8')).join('\n');
}

/** Splits a command line as a POSIX shell would for the quoting these messages use (single quotes). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? '');
  return words;
}
