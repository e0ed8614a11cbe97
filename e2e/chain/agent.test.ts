// The agent against the real API server: it watches the published ConfigMap
// and Secret by name, installs the files under a temporary root, and reports
// on its Node (condition, applied-hash annotation, events). The objects are
// written here the way the operator publishes them, so this file does not
// depend on the operator; full-chain.test.ts runs the operator too.
import type { CoreV1Event, V1ConfigMap, V1Node, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { restartApiServer } from '../lib/controlplane.js';
import { deleteNamespace, isNotFound, waitUntil, type Kube } from '../lib/kube.js';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { AgentProcess, agentOnce, publication, type FileSpec } from './lib.js';

const HOSTS_PATH = '/etc/containerd/certs.d/quay.io/hosts.toml';
const CONF_PATH = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const AUTH_PATH = '/etc/containers/auth.json';

function files(mirror: string): FileSpec[] {
  return [
    {
      key: 'containerd.quay.io.hosts.toml',
      path: HOSTS_PATH,
      content: `server = "https://quay.io"\n\n[host."https://${mirror}"]\n  capabilities = ["pull"]\n`,
    },
    {
      key: 'registries.conf',
      path: CONF_PATH,
      content: `[[registry]]\nlocation = "quay.io"\nmirror-by-digest-only = true\n\n[[registry.mirror]]\nlocation = "${mirror}"\n`,
    },
    { key: 'containers.auth.json', path: AUTH_PATH, content: `{"auths":{"${mirror}":{"auth":"dTpzM2NyM3Q="}}}`, secret: true },
  ];
}

describe('chain: agent against the API server', function () {
  this.timeout(90_000);
  const id = randomBytes(3).toString('hex');
  const ns = `agent-${id}`;
  const nodeName = `agent-node-${id}`;
  const poolNode = `pool-node-${id}`;
  const name = 'cluster-image-mirrors';
  let k: Kube;
  let root: string;
  let agent: AgentProcess | undefined;
  /** The content hash of the last publication the agent installed. */
  let lastGood = '';
  const at = (p: string): string => join(root, p);
  const read = (p: string): Promise<string> => readFile(at(p), 'utf8');

  const publish = async (pub: { cm: V1ConfigMap; secret: V1Secret }): Promise<void> => {
    for (const [kind, body] of [
      ['Secret', pub.secret],
      ['ConfigMap', pub.cm],
    ] as const) {
      const args = { namespace: ns, name: body.metadata?.name ?? '' };
      try {
        if (kind === 'Secret') await k.core.replaceNamespacedSecret({ ...args, body: body as V1Secret });
        else await k.core.replaceNamespacedConfigMap({ ...args, body: body as V1ConfigMap });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (kind === 'Secret') await k.core.createNamespacedSecret({ namespace: ns, body: body as V1Secret });
        else await k.core.createNamespacedConfigMap({ namespace: ns, body: body as V1ConfigMap });
      }
    }
  };
  const node = (n = nodeName): Promise<V1Node> => k.core.readNode({ name: n });
  const condition = async (n = nodeName): Promise<{ status?: string; reason?: string; message?: string } | undefined> =>
    (await node(n)).status?.conditions?.find((c) => c.type === 'ImageMirrorConfigured');
  const events = async (n = nodeName): Promise<CoreV1Event[]> =>
    (await k.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${n}` })).items;
  const agentArgs = (): string[] => ['--kubeconfig', kubeconfigPath(), '--node-name', nodeName, '--namespace', ns, '--root', root, '--log-level', 'debug'];

  before(async function () {
    k = kube();
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    await k.core.createNode({ body: { metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName } } } });
    await k.core.createNode({ body: { metadata: { name: poolNode, labels: { 'hypershift.openshift.io/nodePool': 'workers' } } } });
    root = await tempDir('agent-root');
    await mkdir(at('/etc/containerd'), { recursive: true });
    await writeFile(
      at('/etc/containerd/config.toml'),
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
    );
  });
  after(async function () {
    await agent?.stop();
    for (const n of [nodeName, poolNode]) await k.core.deleteNode({ name: n }).catch(() => undefined);
    await deleteNamespace(k, ns, { finalize: localControlPlane() !== undefined });
    await removeDir(root);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && agent) console.log(`agent log:\n${agent.tail()}`);
  });

  it('watch: installs the published files and reports on its Node', async function () {
    agent = AgentProcess.start(agentArgs());
    const pub = publication(ns, name, files('mirror-a.example:5000'));
    await publish(pub);
    // The annotation is written after the whole pass: every file is in place by then.
    await waitUntil('applied-hash annotation', async () => (await node()).metadata?.annotations?.['imagemirror.io/applied-hash'] === pub.hash);
    expect(await read(HOSTS_PATH)).to.include('mirror-a.example:5000');
    expect(await read(CONF_PATH)).to.match(/^# Managed by the image-mirror agent/);
    expect(JSON.parse(await read(AUTH_PATH)).auths).to.have.property('mirror-a.example:5000');
    expect((await stat(at(AUTH_PATH))).mode & 0o777).to.equal(0o600);
    const c = await waitUntil('condition', () => condition());
    expect(c).to.include({ status: 'True', reason: 'Applied' });
    const applied = await waitUntil('event', async () => (await events()).find((e) => e.reason === 'MirrorConfigApplied'));
    expect(applied.type).to.equal('Normal');
    expect(applied.message).to.include(HOSTS_PATH);
    // Credentials never reach the log or events.
    expect(agent.tail(500)).not.to.include('dTpzM2NyM3Q=');
    expect((await events()).map((e) => e.message).join('\n')).not.to.include('dTpzM2NyM3Q=');
  });

  it('watch: a new publication replaces the files', async function () {
    const pub = publication(ns, name, files('mirror-b.example:5000'));
    await publish(pub);
    lastGood = pub.hash;
    await waitUntil('annotation follows', async () => (await node()).metadata?.annotations?.['imagemirror.io/applied-hash'] === pub.hash);
    expect(await read(HOSTS_PATH)).to.include('mirror-b.example:5000');
    expect(await read(CONF_PATH)).to.include('mirror-b.example:5000');
  });

  it('watch: an invalid publication changes nothing on disk and says why', async function () {
    const before = await stat(at(HOSTS_PATH));
    const bad = files('mirror-c.example:5000');
    bad[0] = { ...bad[0]!, content: 'server = "https://quay.io\n' };
    await publish(publication(ns, name, bad));
    const c = await waitUntil('condition False', async () => ((await condition())?.status === 'False' ? condition() : undefined));
    expect(c).to.include({ reason: 'InvalidConfig' });
    expect(c?.message).to.include('containerd.quay.io.hosts.toml').and.include('invalid TOML');
    const warning = await waitUntil('warning event', async () => (await events()).find((e) => e.reason === 'MirrorConfigInvalid'));
    expect(warning.type).to.equal('Warning');
    expect((await stat(at(HOSTS_PATH))).mtimeMs).to.equal(before.mtimeMs);
    expect(await read(CONF_PATH)).to.include('mirror-b.example:5000');
    expect((await node()).metadata?.annotations?.['imagemirror.io/applied-hash']).to.equal(lastGood);
  });

  it('watch: content that does not match its hash annotation is not installed (ContentHashMismatch)', async function () {
    const good = publication(ns, name, files('mirror-b.example:5000'));
    await publish(good);
    await waitUntil('the good publication applied', async () => (await condition())?.status === 'True');
    const before = await stat(at(HOSTS_PATH));
    // The Secret changed after the hash was computed: a tampered or half-written publication.
    const tampered = publication(ns, name, files('mirror-e.example:5000'));
    await publish({
      ...tampered,
      cm: { ...tampered.cm, metadata: { ...tampered.cm.metadata, annotations: { 'imagemirror.io/content-hash': good.hash } } },
      secret: good.secret,
    });
    const c = await waitUntil('condition False', async () => ((await condition())?.reason === 'InvalidConfig' ? condition() : undefined));
    expect(c?.message).to.include(`annotation imagemirror.io/content-hash is ${good.hash}`).and.include('hashes to');
    expect((await stat(at(HOSTS_PATH))).mtimeMs).to.equal(before.mtimeMs);
    expect(await read(HOSTS_PATH)).to.include('mirror-b.example:5000');
    expect((await node()).metadata?.annotations?.['imagemirror.io/applied-hash']).to.equal(good.hash);
  });

  it('watch: keeps working across an API server restart', async function () {
    const cp = localControlPlane();
    if (!cp) this.skip();
    await restartApiServer(cp);
    const t0 = Date.now();
    const pub = publication(ns, name, files('mirror-d.example:5000'));
    await publish(pub);
    await waitUntil('applied after the restart', async () => (await node()).metadata?.annotations?.['imagemirror.io/applied-hash'] === pub.hash, {
      timeoutMs: 60_000,
    });
    console.log(`      applied ${Date.now() - t0} ms after publishing to the restarted API server`);
    expect(await read(HOSTS_PATH)).to.include('mirror-d.example:5000');
    await waitUntil('condition back to True', async () => (await condition())?.status === 'True');
  });

  it('watch: deleting the output removes the files the agent owns, and only those', async function () {
    await writeFile(at('/etc/containerd/certs.d/quay.io/extra.toml'), 'mine = true\n');
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name });
    await k.core.deleteNamespacedSecret({ namespace: ns, name });
    await waitUntil('files removed', () =>
      stat(at(CONF_PATH)).then(
        () => false,
        () => true,
      ),
    );
    await waitUntil('hosts.toml removed', () =>
      stat(at(HOSTS_PATH)).then(
        () => false,
        () => true,
      ),
    );
    expect(await read('/etc/containerd/certs.d/quay.io/extra.toml')).to.equal('mine = true\n');
    await stat(at(AUTH_PATH)).then(
      () => expect.fail('auth.json should be gone'),
      () => undefined,
    );
    // SIGTERM: a clean stop exits 0.
    expect(await agent?.stop()).to.equal(0);
    agent = undefined;
  });

  it('--once: a NodePool node installs its NodePool output, and a missing config_path is reported', async function () {
    const poolRoot = await tempDir('agent-pool-root');
    try {
      const pub = publication(ns, 'workers-image-mirrors', files('pool-mirror.example:5000'));
      await publish(pub);
      const r = await agentOnce(['--kubeconfig', kubeconfigPath(), '--node-name', poolNode, '--namespace', ns, '--root', poolRoot]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(await readFile(join(poolRoot, HOSTS_PATH), 'utf8')).to.include('pool-mirror.example:5000');
      const c = await condition(poolNode);
      expect(c).to.include({ status: 'Unknown', reason: 'ContainerdConfigNotFound' });
      expect((await node(poolNode)).metadata?.annotations?.['imagemirror.io/applied-hash']).to.equal(pub.hash);
      await mkdir(join(poolRoot, 'etc/containerd/conf'), { recursive: true });
      await writeFile(join(poolRoot, 'etc/containerd/conf/config.toml'), 'version = 2\n');
      const r2 = await agentOnce([
        '--kubeconfig',
        kubeconfigPath(),
        '--node-name',
        poolNode,
        '--namespace',
        ns,
        '--root',
        poolRoot,
        '--containerd-config',
        '/etc/containerd/conf/config.toml',
      ]);
      expect(r2.code).to.equal(0);
      expect(await condition(poolNode)).to.include({ status: 'False', reason: 'ContainerdConfigPathNotSet' });
      expect(r2.stdout).to.include('does not set the CRI registry config_path');
    } finally {
      await removeDir(poolRoot);
    }
  });

  it('--once: exits 3 when the files are installed but the Node cannot be told', async function () {
    const onceRoot = await tempDir('agent-once-root');
    try {
      await publish(publication(ns, 'workers-image-mirrors', files('told.example:5000')));
      // --configmap picks the output without reading the Node; the report then finds no Node to patch.
      const r = await agentOnce([
        '--kubeconfig',
        kubeconfigPath(),
        '--node-name',
        `gone-${ns}`,
        '--configmap',
        'workers-image-mirrors',
        '--namespace',
        ns,
        '--root',
        onceRoot,
        '--containerd-config',
        '',
      ]);
      expect(r.code, r.stdout + r.stderr).to.equal(3);
      expect(await readFile(join(onceRoot, HOSTS_PATH), 'utf8')).to.include('told.example:5000');
      expect(r.stdout).to.include('cannot report to the Node');
    } finally {
      await removeDir(onceRoot);
    }
  });

  it('--once: exits 1 on an invalid publication', async function () {
    const bad = files('x.example:5000').map((f) => (f.secret ? { ...f, content: '{not json' } : f));
    await publish(publication(ns, 'workers-image-mirrors', bad));
    const r = await agentOnce(['--kubeconfig', kubeconfigPath(), '--node-name', poolNode, '--namespace', ns, '--root', root, '--containerd-config', '']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include('Secret').and.include('containers.auth.json').and.include('invalid JSON');
    expect(r.stdout).not.to.include('{not json');
  });
});
