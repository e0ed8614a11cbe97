// The shipped RBAC on the real API server (authorization mode RBAC): the
// operator and the node agent run with their ServiceAccounts' tokens, bound
// by deploy/rbac.yaml and deploy/agent/rbac.yaml exactly as shipped, through
// every kind of write they make. Enough: no request of theirs is refused (the
// audit log and their logs say so). Only what is needed: with the same tokens,
// requests outside the header comments of those files are refused.
import { CoordinationV1Api, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { agentOnce } from '../chain/lib.js';
import { auditLog, kube, localControlPlane } from '../hooks.js';
import type { AuditEvent, AuditLog } from '../lib/audit.js';
import { repoRoot } from '../lib/controlplane.js';
import { apply, connect, deleteNamespace, deleteObject, errorMessage, parseYaml, statusCode, waitUntil, type Kube } from '../lib/kube.js';
import {
  condition,
  deleteCustom,
  eventsAbout,
  GROUP,
  HS,
  idmsDoc,
  OperatorProcess,
  putConfigMap,
  putCustom,
  serviceAccountKubeconfig,
  putSecret,
  readClusterObject,
  readConfigMap,
  readRmc,
  readSecret,
  registriesConf,
  mirrorsByLocation,
  waitDegraded,
  waitReady,
} from './lib.js';

const OURS = `${GROUP}/v1alpha1`;
const SYSTEM_NS = 'image-mirror-system';
const CONTROLLER_SA = { namespace: SYSTEM_NS, name: 'image-mirror-controller' };
const AGENT_SA = { namespace: 'image-mirror-agent', name: 'image-mirror-agent' };
const LEASE = 'image-mirror-controller';
const CLUSTER_OUT = 'cluster-image-mirrors';
const MIRROR = 'mirror.rbac.example:5000';
const MANAGE = 'imagemirror.io/manage-config-ref';
const OUT = 'workers-image-mirrors';

interface NodePoolView {
  metadata: { annotations?: Record<string, string> };
  spec: { config?: Array<{ name: string }> };
}

const userOf = (sa: { namespace: string; name: string }): string => `system:serviceaccount:${sa.namespace}:${sa.name}`;

/** The deploy/ files, parsed as shipped. */
async function shipped(...files: string[]): Promise<KubernetesObject[]> {
  const out: KubernetesObject[] = [];
  for (const f of files) {
    const file = path.join(repoRoot(), 'deploy', f);
    out.push(...parseYaml(await readFile(file, 'utf8'), file));
  }
  return out;
}

/** Retries a read-then-replace the operator's status writes may overtake (409 Conflict). */
async function retryOnConflict(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (statusCode(err) !== 409 || attempt === 5) throw err;
    }
  }
}

/** Expects the API to refuse the call with 403 Forbidden. */
async function expectForbidden(what: string, call: () => Promise<unknown>): Promise<void> {
  let code: number | undefined;
  try {
    await call();
  } catch (err) {
    code = statusCode(err);
    expect(code, `${what}: ${errorMessage(err)}`).to.equal(403);
  }
  expect(code, `${what} was allowed`).to.equal(403);
}

const forbiddenFor = (events: AuditEvent[], user: string): string[] =>
  events.filter((e) => e.user.username === user && e.responseStatus?.code === 403).map((e) => `${e.verb} ${e.requestURI}`);

describe('rbac: the shipped ServiceAccounts and roles are enough, and no more', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `rbac-${id}`;
  const nodeName = `rbac-node-${id}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let audit: AuditLog | undefined;
  const created: KubernetesObject[] = [];
  const logs: string[] = [];
  let auditStart = 0;
  let k: Kube;
  let dir: string;
  let controllerKubeconfig: string;
  let agentKubeconfig: string;
  let op: OperatorProcess | undefined;
  let agentLog = '';

  const startOperator = async (args: string[] = []): Promise<void> => {
    op = await OperatorProcess.start({ kubeconfig: controllerKubeconfig, namespace: SYSTEM_NS, args: ['--leader-elect', ...args] });
  };
  const stopOperator = async (): Promise<void> => {
    if (!op) return;
    const stopped = op;
    op = undefined;
    const code = await stopped.stop();
    logs.push(stopped.text());
    expect(code, `operator exit code\n${stopped.tail()}`).to.equal(0);
  };
  const readNodePool = async (): Promise<NodePoolView> =>
    (await k.custom.getNamespacedCustomObject({
      group: 'hypershift.openshift.io',
      version: 'v1beta1',
      plural: 'nodepools',
      namespace: ns,
      name: 'workers',
    })) as NodePoolView;
  const registryAccess = async (selector: boolean, credentials: boolean): Promise<void> => {
    const host = { host: MIRROR, plainHTTP: true, ...(credentials ? { credentialsSecretRef: { namespace: ns, name: 'creds' } } : {}) };
    const spec = { ...(selector ? { nodePoolSelector: { matchLabels: { rbac: id } } } : {}), hosts: [host] };
    await retryOnConflict(() => putCustom(k, 'registryaccesses', OURS, { kind: 'RegistryAccess', metadata: { name: `rbac-${id}` }, spec }));
  };
  const idms = async (selector: boolean): Promise<void> => {
    const spec = {
      ...(selector ? { nodePoolSelector: { matchLabels: { rbac: id } } } : {}),
      imageDigestMirrors: [{ source: 'docker.io', mirrors: [`${MIRROR}/dockerhub`] }],
    };
    await retryOnConflict(() => putCustom(k, 'imagedigestmirrorsets', OURS, { kind: 'ImageDigestMirrorSet', metadata: { name: `rbac-${id}` }, spec }));
  };

  before(async function () {
    k = kube();
    audit = auditLog();
    dir = await tempDir('rbac');
    // Applied as shipped; objects that were already there are replaced (idempotent) and left in place after.
    const docs = await shipped('namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'agent/namespace.yaml', 'agent/serviceaccount.yaml', 'agent/rbac.yaml');
    for (const doc of docs) {
      const { action } = await apply(k, doc);
      if (action === 'created') created.push(doc);
    }
    controllerKubeconfig = await serviceAccountKubeconfig(k, CONTROLLER_SA, dir);
    agentKubeconfig = await serviceAccountKubeconfig(k, AGENT_SA, dir);
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    await k.core.createNode({ body: { metadata: { name: nodeName } } });
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/openshift-release-dev', mirrors: [`${MIRROR}/ocp`] }]) });
    await putSecret(k, ns, 'creds', 'kubernetes.io/basic-auth', { username: 'robot', password });
    await putCustom(k, 'hostedclusters', HS, {
      kind: 'HostedCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: { imageMirrorConfigRef: { name: 'mirrors' } },
    });
    await putCustom(k, 'nodepools', HS, {
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: ns, labels: { rbac: id } },
      spec: { clusterName: 'demo', replicas: 1 },
    });
    await idms(true);
    await registryAccess(true, true);
    auditStart = (await audit?.mark()) ?? 0;
  });

  after(async function () {
    if (op) logs.push(op.text());
    await op?.stop();
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await deleteCustom(k, 'hostedclusters', HS, 'demo', ns);
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, `rbac-${id}`);
    await deleteCustom(k, 'registryaccesses', OURS, `rbac-${id}`);
    // The cluster target's outputs and the Lease: nothing else removes them.
    await deleteCustom(k, 'renderedmirrorconfigs', OURS, 'cluster', SYSTEM_NS);
    await k.core.deleteNamespacedConfigMap({ namespace: SYSTEM_NS, name: CLUSTER_OUT }).catch(() => undefined);
    await k.core.deleteNamespacedSecret({ namespace: SYSTEM_NS, name: CLUSTER_OUT }).catch(() => undefined);
    await k.kc
      .makeApiClient(CoordinationV1Api)
      .deleteNamespacedLease({ namespace: SYSTEM_NS, name: LEASE })
      .catch(() => undefined);
    await k.core.deleteNode({ name: nodeName }).catch(() => undefined);
    const finalize = localControlPlane() !== undefined;
    await deleteNamespace(k, ns, { finalize });
    // What this test created from deploy/, namespaces last: without a namespace controller their contents would outlive them.
    for (const obj of [...created].reverse()) {
      if (obj.kind === 'Namespace') await deleteNamespace(k, obj.metadata?.name ?? '', { finalize });
      else await deleteObject(k, obj);
    }
    await removeDir(dir);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    if (op) console.log(`operator log:\n${op.tail()}`);
    if (agentLog) console.log(`agent log:\n${agentLog.split('\n').slice(-30).join('\n')}`);
  });

  it('renders a NodePool as the controller ServiceAccount, holding the Lease: output ConfigMap, Secret and status', async () => {
    await startOperator();
    const rmc = await waitReady(k, ns, 'workers');
    expect(rmc.status?.outputs).to.deep.equal({ configMap: OUT, secret: OUT });
    const conf = mirrorsByLocation(registriesConf(await readConfigMap(k, ns, OUT)));
    expect(conf['quay.io/openshift-release-dev']).to.deep.equal([`${MIRROR}/ocp`]);
    expect(conf['docker.io']).to.deep.equal([`${MIRROR}/dockerhub`]);
    const secret = await readSecret(k, ns, OUT);
    const decoded = Object.values(secret?.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    expect(decoded.join('\n')).to.contain(Buffer.from(`robot:${password}`).toString('base64'));
    const lease = await k.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: SYSTEM_NS, name: LEASE });
    expect(lease.spec?.holderIdentity).to.be.a('string').and.not.equal('');
    // The writes were the ServiceAccount's, not an administrator's.
    if (audit) {
      const writer = { username: userOf(CONTROLLER_SA), namespace: ns, name: OUT, verbs: ['create'] };
      expect(await audit.countWrites({ ...writer, resource: 'configmaps' }, auditStart)).to.equal(1);
      expect(await audit.countWrites({ ...writer, resource: 'secrets' }, auditStart)).to.equal(1);
    }
  });

  it('writes Accepted and Applied on the cluster-scoped IDMS and RegistryAccess', async () => {
    for (const plural of ['imagedigestmirrorsets', 'registryaccesses']) {
      const obj = await waitUntil(`${plural} rbac-${id} Applied`, async () => {
        const o = await readClusterObject(k, plural, `rbac-${id}`);
        return condition(o.status, 'Applied')?.status === 'True' ? o : undefined;
      });
      expect(condition(obj.status, 'Accepted')).to.include({ status: 'True', reason: 'Valid' });
      expect(condition(obj.status, 'Applied')?.message).to.equal('rendered into 1 target');
    }
  });

  it('deletes the output Secret when the credentials go, and creates it again when they are back', async () => {
    await registryAccess(true, false);
    await waitUntil('the output Secret to be deleted', async () => (await readSecret(k, ns, OUT)) === undefined, { intervalMs: 50 });
    const rmc = await waitUntil('status without a Secret', async () => {
      const r = await readRmc(k, ns, 'workers');
      return r?.status?.outputs && r.status.outputs.secret === undefined ? r : undefined;
    });
    expect(rmc.status?.outputs).to.deep.equal({ configMap: OUT });
    await registryAccess(true, true);
    await waitUntil('the output Secret back', async () => (await readSecret(k, ns, OUT)) !== undefined, { intervalMs: 50 });
  });

  it('reports an invalid input as Degraded with a Warning event on the NodePool and on its RenderedMirrorConfig', async () => {
    const own = idmsDoc('release', [
      { source: 'quay.io/openshift-release-dev', mirrors: ['quay.io/openshift-release-dev'], mirrorSourcePolicy: 'NeverContactSource' },
    ]);
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': own });
    await waitDegraded(k, ns, 'workers', 'SourceIsOwnMirror');
    for (const kind of ['NodePool', 'RenderedMirrorConfig']) {
      const event = await waitUntil(`a Warning event on ${kind} workers`, async () =>
        (await eventsAbout(k, ns, 'workers', kind)).find((e) => e.type === 'Warning' && e.reason === 'SourceIsOwnMirror'),
      );
      expect(event.involvedObject).to.include({ kind, namespace: ns });
    }
    await putConfigMap(k, ns, 'mirrors', { 'idms.yaml': idmsDoc('release', [{ source: 'quay.io/openshift-release-dev', mirrors: [`${MIRROR}/ocp`] }]) });
    await waitUntil('Degraded=False again', async () => condition((await readRmc(k, ns, 'workers'))?.status, 'Degraded')?.status === 'False', {
      intervalMs: 50,
    });
  });

  it('with the opt-in annotation patches NodePool.spec.config', async () => {
    await k.custom.patchNamespacedCustomObject(
      {
        group: 'hypershift.openshift.io',
        version: 'v1beta1',
        plural: 'nodepools',
        namespace: ns,
        name: 'workers',
        body: { metadata: { annotations: { [MANAGE]: 'true' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const np = await waitUntil(
      'the output in spec.config',
      async () => {
        const cur = await readNodePool();
        return cur.spec.config?.some((c) => c.name === OUT) ? cur : undefined;
      },
      { intervalMs: 50 },
    );
    expect(np.spec.config).to.deep.equal([{ name: OUT }]);
    if (audit)
      expect(await audit.countWrites({ username: userOf(CONTROLLER_SA), resource: 'nodepools', namespace: ns, verbs: ['patch'] }, auditStart)).to.equal(1);
  });

  it('deletes the ConfigMap, Secret and status of a NodePool that is gone', async () => {
    await deleteCustom(k, 'nodepools', HS, 'workers', ns);
    await waitUntil(
      'the outputs and status to be deleted',
      async () => {
        const left = [await readConfigMap(k, ns, OUT), await readSecret(k, ns, OUT), await readRmc(k, ns, 'workers')];
        return left.every((o) => o === undefined);
      },
      { intervalMs: 50 },
    );
    if (audit) {
      const deletes = (await audit.events(auditStart)).filter(
        (e) => e.user.username === userOf(CONTROLLER_SA) && e.verb === 'delete' && e.objectRef?.namespace === ns,
      );
      expect(deletes.map((e) => `${e.objectRef?.resource}/${e.objectRef?.name} ${e.responseStatus?.code}`).sort()).to.include.members([
        `configmaps/${OUT} 200`,
        `renderedmirrorconfigs/workers 200`,
        `secrets/${OUT} 200`,
      ]);
    }
  });

  it('renders the cluster target, and the agent installs it with its own ServiceAccount', async () => {
    await stopOperator();
    await idms(false);
    await registryAccess(false, true);
    await startOperator(['--targets', 'cluster']);
    const rmc = await waitReady(k, SYSTEM_NS, 'cluster');
    expect(rmc.status?.outputs).to.deep.equal({ configMap: CLUSTER_OUT, secret: CLUSTER_OUT });
    const cm = (await readConfigMap(k, SYSTEM_NS, CLUSTER_OUT)) as V1ConfigMap;

    const root = path.join(dir, 'root');
    await mkdir(root);
    const args = [
      '--kubeconfig',
      agentKubeconfig,
      '--node-name',
      nodeName,
      '--namespace',
      SYSTEM_NS,
      '--root',
      root,
      '--containerd-config',
      '',
      '--log-level',
      'debug',
    ];
    const res = await agentOnce(args);
    agentLog = res.stdout + res.stderr;
    logs.push(agentLog);
    expect(res.code, agentLog).to.equal(0);
    const manifest = JSON.parse(cm.data?.['files.json'] ?? '{}') as Record<string, { path: string; from: string }>;
    expect(Object.keys(manifest)).to.not.be.empty;
    for (const [key, entry] of Object.entries(manifest)) {
      const installed = await readFile(path.join(root, entry.path), 'utf8');
      if (entry.from === 'ConfigMap') expect(installed, entry.path).to.contain(cm.data?.[key] ?? '');
    }
    expect(
      Object.values(manifest).some((e) => e.from === 'Secret'),
      'a file from the Secret',
    ).to.equal(true);
    const node = await k.core.readNode({ name: nodeName });
    expect(node.metadata?.annotations?.['imagemirror.io/applied-hash']).to.equal(cm.metadata?.annotations?.['imagemirror.io/content-hash']);
    expect(node.status?.conditions?.find((c) => c.type === 'ImageMirrorConfigured')).to.include({ status: 'True' });
    const events = (await k.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${nodeName}` })).items;
    expect(events.map((e) => e.reason)).to.include('MirrorConfigApplied');
    // Its Event names its field manager (the API server keeps no managedFields on Nodes).
    const applied = events.find((e) => e.reason === 'MirrorConfigApplied');
    expect([...new Set((applied?.metadata?.managedFields ?? []).map((m) => m.manager))]).to.deep.equal(['image-mirror-agent']);
    await stopOperator();
  });

  it('refused none of their requests: no 403 in the audit log, no "forbidden" in their logs', async () => {
    const refusedInLogs = logs.flatMap((text) => text.split('\n').filter((line) => /forbidden/i.test(line)));
    const events = (await audit?.events(auditStart)) ?? [];
    const refused = [
      ...refusedInLogs.map((line) => `log: ${line.slice(0, 400)}`),
      ...forbiddenFor(events, userOf(CONTROLLER_SA)).map((r) => `audit, controller: ${r}`),
      ...forbiddenFor(events, userOf(AGENT_SA)).map((r) => `audit, agent: ${r}`),
    ];
    expect(refused).to.deep.equal([]);
  });

  it('every request of theirs, reads and watches too, names image-mirror/<version> (controller) or (agent)', async function () {
    if (!audit) this.skip();
    const version = (JSON.parse(await readFile(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    const events = await (audit as AuditLog).events(auditStart);
    for (const [sa, component] of [
      [CONTROLLER_SA, 'controller'],
      [AGENT_SA, 'agent'],
    ] as const) {
      const mine = events.filter((e) => e.user.username === userOf(sa));
      expect(mine.length, `requests of ${component}`).to.be.greaterThan(0);
      const verbs = new Set(mine.map((e) => e.verb));
      for (const v of component === 'controller' ? ['list', 'watch', 'create', 'update', 'patch', 'delete'] : ['get', 'patch', 'create']) {
        expect(verbs.has(v), `${component} ${v}`).to.equal(true);
      }
      const agents = [...new Set(mine.map((e) => e.userAgent))];
      expect(agents, component).to.deep.equal([`image-mirror/${version} (${component})`]);
    }
  });

  it('the controller may not touch Pods, Nodes, the Lease beyond renewing it, or the spec of its inputs', async () => {
    const mark = (await audit?.mark()) ?? 0;
    const sa = connect(controllerKubeconfig);
    await expectForbidden('list Pods', () => sa.core.listPodForAllNamespaces());
    await expectForbidden('get Node', () => sa.core.readNode({ name: nodeName }));
    await expectForbidden('delete the Lease', () => sa.kc.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ namespace: SYSTEM_NS, name: LEASE }));
    const current = await readClusterObject(k, 'imagedigestmirrorsets', `rbac-${id}`);
    const body = {
      apiVersion: OURS,
      kind: 'ImageDigestMirrorSet',
      metadata: current.metadata,
      spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: ['evil.example/dockerhub'] }] },
    };
    await expectForbidden('update an IDMS spec', () =>
      sa.custom.replaceClusterCustomObject({ group: GROUP, version: 'v1alpha1', plural: 'imagedigestmirrorsets', name: `rbac-${id}`, body }),
    );
    // The audit check above would have seen such refusals: the log records every request of this user.
    const log = audit;
    if (log) {
      const expected = [
        'list /api/v1/pods',
        `get /api/v1/nodes/${nodeName}`,
        `delete /apis/coordination.k8s.io/v1/namespaces/${SYSTEM_NS}/leases/${LEASE}`,
        `update /apis/${GROUP}/v1alpha1/imagedigestmirrorsets/rbac-${id}`,
      ];
      const seen = await waitUntil('the four refusals in the audit log', async () => {
        const refused = forbiddenFor(await log.events(mark), userOf(CONTROLLER_SA));
        return refused.length >= expected.length ? refused : undefined;
      });
      expect(seen).to.deep.equal(expected);
    }
  });

  it('the agent may read only the published output, and write no ConfigMap or Secret', async () => {
    const agent = connect(agentKubeconfig);
    await expectForbidden('get another ConfigMap', () => agent.core.readNamespacedConfigMap({ namespace: ns, name: 'mirrors' }));
    await expectForbidden('list Secrets', () => agent.core.listSecretForAllNamespaces());
    await expectForbidden('create a ConfigMap', () =>
      agent.core.createNamespacedConfigMap({ namespace: SYSTEM_NS, body: { metadata: { name: `rbac-${id}` }, data: { a: 'b' } } }),
    );
  });
});
