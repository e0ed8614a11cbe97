// The whole chain on one machine: the real API server, the operator and the
// agent as child processes (the agent's root is a temporary directory), and
// the real consumers reading what the agent installed there: a private
// containerd resolving with that directory's etc/containerd/certs.d as its
// hosts directory, and skopeo with its etc/containers (registries.conf.d
// drop-in). Three docker-registry instances play the source and two mirrors;
// each holds the image, so a pull that reached the wrong one would succeed
// and only the request logs tell where it went.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { deleteNamespace, waitUntil, type Kube } from '../lib/kube.js';
import { createNamespace, deleteCustom, GROUP, OperatorProcess, putConfigMap, putCustom, putSecret, readRmc } from '../operator/lib.js';
import type { Containerd } from '../../test/consumer/lib/containerd.js';
import { removeDir, tempDir, type RunResult } from '../../test/consumer/lib/proc.js';
import type { Registry } from '../../test/consumer/lib/registry.js';
import { copyOnNode } from '../../test/consumer/lib/skopeo.js';
import { makeServerCert } from '../../test/consumer/lib/tls.js';
import { lines, World, type TestImage } from '../../test/consumer/lib/world.js';
import { AgentProcess } from './lib.js';

const OURS = `${GROUP}/v1alpha1`;
const REPO = 'team/app';

/** Regular files below `dir`, as paths relative to it. */
async function filesUnder(dir: string, rel = ''): Promise<string[]> {
  const names = await readdir(join(dir, rel)).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.sort()) {
    const p = rel ? `${rel}/${n}` : n;
    const st = await lstat(join(dir, p));
    if (st.isDirectory()) out.push(...(await filesUnder(dir, p)));
    else out.push(p);
  }
  return out;
}

describe('chain: operator + agent + containerd and skopeo', function () {
  this.timeout(180_000);
  const id = randomBytes(3).toString('hex');
  const opNs = `chain-op-${id}`;
  const nodeName = `chain-node-${id}`;
  const idmsName = `chain-${id}`;
  const accessName = `chain-access-${id}`;
  const world = new World();
  let k: Kube;
  let source: Registry;
  let mirrorA: Registry;
  let mirrorB: Registry;
  /** HTTPS with a private CA and basic authentication. */
  let mirrorC: Registry;
  let certs: string;
  let img: TestImage;
  let ctrd: Containerd;
  let root: string;
  let op: OperatorProcess | undefined;
  let agent: AgentProcess | undefined;
  let ref: string;
  let lastHash = '';

  const sourceDir = (): string => join(root, 'etc/containerd/certs.d', `${source.host.replace(':', '_')}_`);
  const hostsDir = (): string => join(root, 'etc/containerd/certs.d');
  const pullers: Array<{ name: string; pull: () => Promise<RunResult> }> = [
    { name: 'containerd', pull: () => ctrd.fetch(hostsDir(), ref) },
    { name: 'skopeo', pull: () => copyOnNode(root, ref) },
  ];

  const USER = { username: 'chain-puller', password: `pw-${id}` };
  const access = (withC: boolean): Promise<void> => {
    const hosts: Array<Record<string, unknown>> = [source, mirrorA, mirrorB].map((r) => ({ host: r.host, plainHTTP: true }));
    if (withC) {
      hosts.push({
        host: mirrorC.host,
        ca: { configMapKeyRef: { namespace: opNs, name: 'chain-ca', key: 'ca.crt' } },
        credentialsSecretRef: { namespace: opNs, name: 'chain-creds' },
      });
    }
    return putCustom(k, 'registryaccesses', OURS, { kind: 'RegistryAccess', metadata: { name: accessName }, spec: { hosts } });
  };

  const putIdms = (mirror: Registry): Promise<void> =>
    putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name: idmsName },
      spec: { imageDigestMirrors: [{ source: `${source.host}/${REPO}`, mirrors: [`${mirror.host}/${REPO}`], mirrorSourcePolicy: 'NeverContactSource' }] },
    });

  /**
   * Waits until the operator published a new hash and the agent reports it
   * applied on the Node (the annotation is written after the whole pass).
   */
  const waitApplied = async (settled: () => Promise<boolean> = async () => true): Promise<string> => {
    const hash = await waitUntil(
      'a new publication applied on the node',
      async () => {
        const published = (await readRmc(k, opNs, 'cluster'))?.status?.contentHash;
        if (!published || published === lastHash) return undefined;
        const node = await k.core.readNode({ name: nodeName });
        if (node.metadata?.annotations?.['imagemirror.io/applied-hash'] !== published) return undefined;
        return (await settled()) ? published : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    lastHash = hash;
    return hash;
  };

  const explain = (r: RunResult): string =>
    `${r.command} -> ${r.code}\n${r.stderr.slice(-1500)}\nsource: ${lines(source.requests()).join(', ')}\nA: ${lines(mirrorA.requests()).join(', ')}\nB: ${lines(mirrorB.requests()).join(', ')}\nC: ${lines(mirrorC.requests()).join(', ')}`;

  before(async function () {
    k = kube();
    await createNamespace(k, opNs);
    await k.core.createNode({ body: { metadata: { name: nodeName } } });
    root = await tempDir('chain-root');
    certs = await tempDir('chain-tls');
    const tls = await makeServerCert(certs);
    [source, mirrorA, mirrorB, mirrorC] = await Promise.all([world.registry(), world.registry(), world.registry(), world.registry({ tls, auth: USER })]);
    img = await world.image('full-chain');
    await Promise.all([source, mirrorA, mirrorB, mirrorC].map((r) => world.push(img, r, REPO)));
    await putConfigMap(k, opNs, 'chain-ca', { 'ca.crt': tls.caPEM });
    await putSecret(k, opNs, 'chain-creds', 'kubernetes.io/basic-auth', USER);
    ref = `${source.host}/${REPO}@${img.manifestDigest}`;
    ctrd = await world.containerd();
    await access(false);
    op = await OperatorProcess.start({ kubeconfig: kubeconfigPath(), namespace: opNs, args: ['--targets', 'cluster'] });
    await op.waitReady();
    agent = AgentProcess.start([
      '--kubeconfig',
      kubeconfigPath(),
      '--node-name',
      nodeName,
      '--namespace',
      opNs,
      '--root',
      root,
      '--containerd-config',
      '',
      '--log-level',
      'debug',
    ]);
    // The RegistryAccess-only publication: later waits then see only what each test changes.
    await waitApplied();
  });

  after(async function () {
    await agent?.stop();
    await op?.stop();
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, idmsName);
    await deleteCustom(k, 'registryaccesses', OURS, accessName);
    await k.core.deleteNode({ name: nodeName }).catch(() => undefined);
    await deleteNamespace(k, opNs, { finalize: localControlPlane() !== undefined });
    await world.stop();
    await removeDir(root);
    await removeDir(certs);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    if (op) console.log(`operator log:\n${op.tail()}`);
    if (agent) console.log(`agent log:\n${agent.tail()}`);
  });

  it('IDMS with NeverContactSource: the files arrive and both consumers pull by digest from the mirror, zero requests to the source', async function () {
    const t0 = Date.now();
    await putIdms(mirrorA);
    await waitApplied();
    console.log(`      IDMS created -> files applied on the node: ${Date.now() - t0} ms`);
    expect(await readFile(join(sourceDir(), 'hosts.toml'), 'utf8')).to.include(mirrorA.host);
    expect(await readFile(join(root, 'etc/containers/registries.conf.d/99-image-mirrors.conf'), 'utf8')).to.include(`${mirrorA.host}/${REPO}`);
    for (const p of pullers) {
      world.clearLogs();
      const r = await p.pull();
      expect(r.code, `${p.name}: ${explain(r)}`).to.equal(0);
      expect(lines(mirrorA.requestsFor(REPO)), `${p.name}: ${explain(r)}`).to.include(`GET /v2/${REPO}/blobs/${img.layerDigest} 200`);
      expect(source.connections(), `${p.name}: ${explain(r)}`).to.equal(0);
    }
  });

  it('switching the IDMS to another mirror: the next pull goes there, still never to the source', async function () {
    await putIdms(mirrorB);
    await waitApplied();
    expect(await readFile(join(sourceDir(), 'hosts.toml'), 'utf8'))
      .to.include(mirrorB.host)
      .and.not.include(mirrorA.host);
    for (const p of pullers) {
      world.clearLogs();
      const r = await p.pull();
      expect(r.code, `${p.name}: ${explain(r)}`).to.equal(0);
      expect(lines(mirrorB.requestsFor(REPO)), `${p.name}: ${explain(r)}`).to.include(`GET /v2/${REPO}/blobs/${img.layerDigest} 200`);
      expect(mirrorA.connections(), `${p.name}: ${explain(r)}`).to.equal(0);
      expect(source.connections(), `${p.name}: ${explain(r)}`).to.equal(0);
    }
  });

  it('a TLS mirror with a private CA and credentials: files from the output Secret arrive, 0600, and both consumers use them', async function () {
    await access(true);
    await putIdms(mirrorC);
    const hostsToml = join(sourceDir(), 'hosts.toml');
    // Two changes may be published one after the other: wait for the one with both.
    await waitApplied(async () => (await readFile(hostsToml, 'utf8')).includes(mirrorC.host));
    const cDir = `${mirrorC.host.replace(':', '_')}_`;
    expect(await readFile(hostsToml, 'utf8'))
      .to.include(mirrorC.host)
      .and.include('authorization');
    expect((await lstat(hostsToml)).mode & 0o777, 'hosts.toml with credentials').to.equal(0o600);
    expect((await lstat(join(root, 'etc/containers/auth.json'))).mode & 0o777, 'auth.json').to.equal(0o600);
    expect(await filesUnder(join(root, 'etc'))).to.include(`containers/certs.d/${mirrorC.host}/ca.crt`);
    expect(
      (await filesUnder(sourceDir())).some((f) => f.endsWith('.crt')),
      `CA next to hosts.toml in ${cDir}`,
    ).to.equal(true);
    for (const p of pullers) {
      world.clearLogs();
      const r = await p.pull();
      expect(r.code, `${p.name}: ${explain(r)}`).to.equal(0);
      const got = mirrorC.requestsFor(REPO);
      expect(
        got.some((q) => q.authorized && q.status === 200 && q.path.includes('/blobs/')),
        `${p.name}: ${explain(r)}`,
      ).to.equal(true);
      expect(source.connections(), `${p.name}: ${explain(r)}`).to.equal(0);
    }
    // The credentials reached the node, never the agent's log.
    expect(agent?.tail(10_000)).not.to.include(USER.password);
  });

  it('deleting the IDMS: the agent removes the mirror configuration and pulls go to the source again', async function () {
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, idmsName);
    await waitApplied();
    // RegistryAccess still says how to reach the three hosts; only the mirroring is gone.
    const hosts = await readFile(join(sourceDir(), 'hosts.toml'), 'utf8').catch(() => '');
    expect(hosts).not.to.include(mirrorC.host);
    const conf = await readFile(join(root, 'etc/containers/registries.conf.d/99-image-mirrors.conf'), 'utf8').catch(() => '');
    expect(conf).not.to.include(`${mirrorC.host}/${REPO}`);
    for (const p of pullers) {
      world.clearLogs();
      const r = await p.pull();
      expect(r.code, `${p.name}: ${explain(r)}`).to.equal(0);
      expect(lines(source.requestsFor(REPO)), `${p.name}: ${explain(r)}`).to.include(`GET /v2/${REPO}/blobs/${img.layerDigest} 200`);
      expect(mirrorC.connections(), `${p.name}: ${explain(r)}`).to.equal(0);
    }
  });

  it('deleting the last input: only an empty registries.conf drop-in is left', async function () {
    await deleteCustom(k, 'registryaccesses', OURS, accessName);
    // Files go first, then the directories the agent created for them, in the same pass.
    await waitUntil(
      'only the drop-in left under etc/',
      async () => {
        const left = await filesUnder(join(root, 'etc'));
        const dirs = await readdir(join(root, 'etc'));
        return left.join() === 'containers/registries.conf.d/99-image-mirrors.conf' && dirs.join() === 'containers';
      },
      { timeoutMs: 60_000 },
    );
    const conf = parseToml(await readFile(join(root, 'etc/containers/registries.conf.d/99-image-mirrors.conf'), 'utf8'));
    expect(conf).to.deep.equal({});
    expect(await readdir(join(root, 'etc/containers'))).to.deep.equal(['registries.conf.d']);
  });

  it('uninstall: with the operator stopped, deleting the output removes every file the agent installed', async function () {
    expect(await op?.stop()).to.equal(0);
    op = undefined;
    await k.core.deleteNamespacedConfigMap({ namespace: opNs, name: 'cluster-image-mirrors' });
    await k.core.deleteNamespacedSecret({ namespace: opNs, name: 'cluster-image-mirrors' }).catch(() => undefined);
    type State = { files: string[]; dirs: string[]; source: string };
    const readState = async (): Promise<State> => JSON.parse(await readFile(join(root, 'var/lib/image-mirror/owned.json'), 'utf8')) as State;
    // The state file is saved last in a pass.
    await waitUntil('every file removed and the state saved', async () => (await readState()).files.length === 0 && (await readState()).dirs.length === 0, {
      timeoutMs: 30_000,
    });
    expect(await readdir(root)).to.deep.equal(['var']);
    expect((await readState()).source).to.equal(`ConfigMap ${opNs}/cluster-image-mirrors`);
    expect(agent?.exited).to.equal(false);
  });
});
