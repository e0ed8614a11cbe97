// Scenarios 2-4 of the cluster tier: a user applies mirror settings, the
// operator (a Pod) publishes them, the agent (a DaemonSet Pod) installs them
// into each node's /etc/containerd/certs.d, and workload Pods pull through the
// mirrors with the nodes' own containerd. Every image is fresh content pushed
// only where the pull is supposed to go, and the registries' access logs show
// who was asked: the mirror serves the pull, the source is never contacted.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteNamespace, waitUntil } from '../lib/kube.js';
import { createNamespace, deleteCustom, putConfigMap, putCustom, putSecret, readRmc } from '../operator/lib.js';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { makeServerCert } from '../../test/consumer/lib/tls.js';
import {
  ClusterRegistry,
  contributes,
  deletePod,
  nodeFile,
  notContributing,
  pushFreshImage,
  runPod,
  waitApplied,
  workloadPod,
  type ClusterKube,
} from './harness.js';
import { cluster } from './hooks.js';

const OURS = 'imagemirror.io/v1alpha1';
const OP_NS = 'image-mirror-system';
const APPS = 'cluster-tier-apps';
const CONFIG_NS = 'cluster-tier-config';

/** containerd's certs.d directory name for a registry host (`host_port_`). */
const hostDir = (host: string): string => `etc/containerd/certs.d/${host.replace(':', '_')}_/hosts.toml`;

/** The access log needs a moment after the response (distribution logs after the handler returns). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

interface Reachability {
  nodes?: { total?: number; reporting?: number; stale?: number; unreported?: number };
  mirrors?: Array<{
    mirror: string;
    runtimes?: string[];
    nodes: number;
    reachable: number;
    failures?: Array<{ errorClass: string; message: string; examples: string[] }>;
  }>;
}

const rmc = async (
  k: ClusterKube,
): Promise<{ mirrorReachability?: Reachability; conditions?: Array<{ type: string; status: string; reason: string; message: string }> }> =>
  (((await readRmc(k, OP_NS, 'cluster')) as { status?: unknown } | undefined)?.status ?? {}) as never;

/** Waits (probes run at most every 30 s per node) until the cluster target's status.mirrorReachability satisfies `ok`. */
const waitReachability = (k: ClusterKube, ok: (r: Reachability) => Reachability | undefined): Promise<Reachability> =>
  waitUntil('status.mirrorReachability of the cluster target', async () => ok((await rmc(k)).mirrorReachability ?? {}), {
    timeoutMs: 90_000,
    intervalMs: 500,
  });

const mirrorsReachable = async (k: ClusterKube) => (await rmc(k)).conditions?.find((c) => c.type === 'MirrorsReachable');

describe('cluster: Pods pull through the mirrors the agent installed', function () {
  this.timeout(240_000);
  let k: ClusterKube;
  let source: ClusterRegistry;
  let mirrorA: ClusterRegistry;
  let mirrorB: ClusterRegistry;
  let secure: ClusterRegistry;
  let certs: string;
  let nodes: string[];
  const figures: string[] = [];

  const plainAccess = (): Array<Record<string, unknown>> => [mirrorA, mirrorB].map((r) => ({ host: r.host, plainHTTP: true }));
  const putAccess = (hosts: Array<Record<string, unknown>>): Promise<void> =>
    putCustom(k, 'registryaccesses', OURS, { kind: 'RegistryAccess', metadata: { name: 'cluster-tier' }, spec: { hosts } });
  const putIdms = (name: string, repo: string, mirror: ClusterRegistry): Promise<void> =>
    putCustom(k, 'imagedigestmirrorsets', OURS, {
      kind: 'ImageDigestMirrorSet',
      metadata: { name },
      spec: { imageDigestMirrors: [{ source: `${source.host}/${repo}`, mirrors: [`${mirror.host}/${repo}`], mirrorSourcePolicy: 'NeverContactSource' }] },
    });
  const access = () => contributes(k, 'registryaccesses', 'RegistryAccess', 'cluster-tier');
  const idmsIn = (name: string) => contributes(k, 'imagedigestmirrorsets', 'ImageDigestMirrorSet', name);
  const pod = (name: string, node: string, ref: string) => workloadPod(APPS, name, node, ref);
  const manifestGets = async (reg: ClusterRegistry, mark: number, repo: string): Promise<string[]> =>
    (await reg.pulls(mark)).filter((r) => r.path.startsWith(`/v2/${repo}/manifests/`)).map((r) => `${r.method} ${r.path} ${r.status}`);

  before(async function () {
    this.timeout(120_000);
    const c = cluster();
    k = c.kube();
    nodes = c.nodes;
    certs = await tempDir('cluster-tls');
    await makeServerCert(certs, 'image-mirror cluster-tier CA');
    [source, mirrorA, mirrorB, secure] = await Promise.all([
      ClusterRegistry.start(c, 'source'),
      ClusterRegistry.start(c, 'mirror-a'),
      ClusterRegistry.start(c, 'mirror-b'),
      ClusterRegistry.start(c, 'secure', {
        tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key') },
        auth: { username: 'cluster-puller', password: `pw-${Date.now()}` },
      }),
    ]);
    await createNamespace(k, APPS);
    await createNamespace(k, CONFIG_NS);
    await putAccess(plainAccess());
    await waitApplied(k, nodes, access());
  });

  after(async function () {
    this.timeout(60_000);
    for (const f of figures) console.log(`      ${f}`);
    await Promise.all(['cluster-tier-app', 'cluster-tier-secure'].map((n) => deleteCustom(k, 'imagedigestmirrorsets', OURS, n)));
    await deleteCustom(k, 'imagetagmirrorsets', OURS, 'cluster-tier-tags');
    await deleteNamespace(k, APPS);
    await Promise.all([source, mirrorA, mirrorB, secure].map((r) => r?.stop()));
    await removeDir(certs);
  });

  it('2. IDMS with NeverContactSource: the agent installs hosts.toml on every node; a Pod by digest under the source name runs, pulled from the mirror only', async () => {
    const img = await pushFreshImage(cluster(), [mirrorA], 'team/app', 'v1');
    const t0 = Date.now();
    await putIdms('cluster-tier-app', 'team/app', mirrorA);
    await waitApplied(k, nodes, idmsIn('cluster-tier-app'));
    figures.push(`IDMS applied -> files on ${nodes.length} nodes: ${Date.now() - t0} ms`);
    for (const node of nodes) {
      const toml = await nodeFile(cluster(), node, hostDir(source.host));
      expect(toml, `${node}: ${hostDir(source.host)}`).to.include(mirrorA.host);
      expect(toml).to.match(/^# Managed by the image-mirror agent/);
    }
    const [mS, mA] = [await source.mark(), await mirrorA.mark()];
    const out = await runPod(k, pod('digest-a', nodes[0] as string, `${source.host}/team/app@${img.manifestDigest}`));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    figures.push(`Pod pulled through mirror A Running ${out.ms} ms after create`);
    await settle();
    expect(await manifestGets(mirrorA, mA, 'team/app')).to.include(`GET /v2/team/app/manifests/${img.manifestDigest} 200`);
    expect((await mirrorA.pulls(mA)).map((r) => r.path)).to.include(`/v2/team/app/blobs/${img.markerLayer}`);
    expect(await source.requests(mS), 'requests to the source').to.deep.equal([]);
  });

  it('3. switching the IDMS to another mirror moves the next pull there, without restarting containerd', async () => {
    const pids = await Promise.all(nodes.map((n) => cluster().runtimePid(n)));
    const img = await pushFreshImage(cluster(), [mirrorB], 'team/app', 'v2');
    await putIdms('cluster-tier-app', 'team/app', mirrorB);
    await waitApplied(k, nodes, idmsIn('cluster-tier-app'));
    for (const node of nodes)
      expect(await nodeFile(cluster(), node, hostDir(source.host)), node)
        .to.include(mirrorB.host)
        .and.not.include(mirrorA.host);
    const [mS, mA, mB] = [await source.mark(), await mirrorA.mark(), await mirrorB.mark()];
    const node = nodes[nodes.length - 1] as string;
    const out = await runPod(k, pod('digest-b', node, `${source.host}/team/app@${img.manifestDigest}`));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    await settle();
    expect(await manifestGets(mirrorB, mB, 'team/app')).to.include(`GET /v2/team/app/manifests/${img.manifestDigest} 200`);
    expect(await mirrorA.requests(mA), 'requests to the old mirror').to.deep.equal([]);
    expect(await source.requests(mS), 'requests to the source').to.deep.equal([]);
    expect(await Promise.all(nodes.map((n) => cluster().runtimePid(n))), 'containerd PIDs').to.deep.equal(pids);
  });

  it('3. deleting the IDMS: the agent removes its hosts.toml and a new Pod pulls from the source', async () => {
    const img = await pushFreshImage(cluster(), [source], 'team/app', 'v3');
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, 'cluster-tier-app');
    await waitApplied(k, nodes, notContributing('ImageDigestMirrorSet', 'cluster-tier-app'));
    for (const node of nodes) expect(await nodeFile(cluster(), node, hostDir(source.host)), `${node}: ${hostDir(source.host)}`).to.equal(undefined);
    const [mS, mA, mB] = [await source.mark(), await mirrorA.mark(), await mirrorB.mark()];
    const out = await runPod(k, pod('digest-source', nodes[0] as string, `${source.host}/team/app@${img.manifestDigest}`));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    await settle();
    expect(await manifestGets(source, mS, 'team/app')).to.include(`GET /v2/team/app/manifests/${img.manifestDigest} 200`);
    expect([...(await mirrorA.requests(mA)), ...(await mirrorB.requests(mB))], 'requests to the mirrors').to.deep.equal([]);
  });

  it('3. an ITMS does the same for a pull by tag', async () => {
    await pushFreshImage(cluster(), [mirrorA], 'team/tagged', 'v1');
    await putCustom(k, 'imagetagmirrorsets', OURS, {
      kind: 'ImageTagMirrorSet',
      metadata: { name: 'cluster-tier-tags' },
      spec: { imageTagMirrors: [{ source: `${source.host}/team/tagged`, mirrors: [`${mirrorA.host}/team/tagged`], mirrorSourcePolicy: 'NeverContactSource' }] },
    });
    await waitApplied(k, nodes, contributes(k, 'imagetagmirrorsets', 'ImageTagMirrorSet', 'cluster-tier-tags'));
    const [mS, mA] = [await source.mark(), await mirrorA.mark()];
    const out = await runPod(k, pod('tag-a', nodes[0] as string, `${source.host}/team/tagged:v1`));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    await settle();
    // containerd resolves a tag with HEAD, then fetches by digest.
    expect(await manifestGets(mirrorA, mA, 'team/tagged')).to.include('HEAD /v2/team/tagged/manifests/v1 200');
    expect(await source.requests(mS), 'requests to the source').to.deep.equal([]);
    await deleteCustom(k, 'imagetagmirrorsets', OURS, 'cluster-tier-tags');
    await waitApplied(k, nodes, notContributing('ImageTagMirrorSet', 'cluster-tier-tags'));
  });

  it('4. a TLS mirror with a private CA and basic auth: without its RegistryAccess the pull fails visibly; with it the Pod runs', async () => {
    const img = await pushFreshImage(cluster(), [secure], 'secure/app', 'v1');
    await putIdms('cluster-tier-secure', 'secure/app', secure);
    await waitApplied(k, nodes, idmsIn('cluster-tier-secure'));
    const ref = `${source.host}/secure/app@${img.manifestDigest}`;
    const node = nodes[0] as string;

    const failed = await runPod(k, pod('secure-without-access', node, ref));
    expect(failed.running, JSON.stringify(failed)).to.equal(false);
    const describe = await waitUntil('the pull error in kubectl describe pod', async () => {
      const d = await cluster().kubectlOk(['-n', APPS, 'describe', 'pod', 'secure-without-access']);
      return /Failed to pull image/.test(d) ? d : undefined;
    });
    expect(describe).to.match(/x509|certificate/);
    await deletePod(k, APPS, 'secure-without-access');
    // The agents probe the mirror from every node and the controller sums it up on the RenderedMirrorConfig.
    const t1 = Date.now();
    const down = await waitReachability(k, (r) => {
      const m = r.mirrors?.find((x) => x.mirror === secure.host && (x.runtimes ?? []).includes('containerd'));
      return r.nodes?.reporting === nodes.length && m !== undefined && m.reachable === 0 ? r : undefined;
    });
    figures.push(`mirror unreachable from ${nodes.length} nodes -> RenderedMirrorConfig says so: ${Date.now() - t1} ms`);
    const bad = down.mirrors?.find((x) => x.mirror === secure.host && (x.runtimes ?? []).includes('containerd'));
    expect(bad?.nodes).to.equal(nodes.length);
    expect(bad?.failures?.[0]?.errorClass).to.equal('tls-unknown-authority');
    expect(bad?.failures?.[0]?.examples).to.deep.equal([...nodes].sort().slice(0, 3));
    const unreachable = await mirrorsReachable(k);
    expect(unreachable).to.include({ status: 'False', reason: 'MirrorUnreachable' });
    expect(unreachable?.message).to.include(`${secure.host}: 0/${nodes.length} node(s) reach it`);
    for (const m of down.mirrors ?? []) if (m.mirror !== secure.host) expect(m.reachable, m.mirror).to.equal(m.nodes);

    const creds = secure.credentials as { username: string; password: string };
    await putConfigMap(k, CONFIG_NS, 'secure-ca', { 'ca.crt': await readFile(join(certs, 'ca.crt'), 'utf8') });
    await putSecret(k, CONFIG_NS, 'secure-creds', 'kubernetes.io/basic-auth', creds);
    await putAccess([
      ...plainAccess(),
      {
        host: secure.host,
        ca: { configMapKeyRef: { namespace: CONFIG_NS, name: 'secure-ca', key: 'ca.crt' } },
        credentialsSecretRef: { namespace: CONFIG_NS, name: 'secure-creds' },
      },
    ]);
    await waitApplied(k, nodes, access());
    // The credentials travel in the output Secret, never the ConfigMap.
    const cm = await k.core.readNamespacedConfigMap({ namespace: OP_NS, name: 'cluster-image-mirrors' });
    expect(JSON.stringify(cm.data)).not.to.include(creds.password);
    expect(JSON.stringify(cm.data)).not.to.include(Buffer.from(`${creds.username}:${creds.password}`).toString('base64'));
    const toml = await nodeFile(cluster(), node, hostDir(source.host));
    expect(toml).to.include('authorization');

    const t2 = Date.now();
    const up = await waitReachability(k, (r) => {
      const ms = (r.mirrors ?? []).filter((x) => x.mirror === secure.host);
      return r.nodes?.reporting === nodes.length && ms.length > 0 && ms.every((x) => x.reachable === nodes.length) ? r : undefined;
    });
    figures.push(`CA and credentials installed -> every node reaches the mirror in the RenderedMirrorConfig: ${Date.now() - t2} ms`);
    expect(await mirrorsReachable(k)).to.include({ status: 'True', reason: 'AllMirrorsReachable' });
    expect(JSON.stringify(up)).not.to.include(creds.password);

    const mSec = await secure.mark();
    const out = await runPod(k, pod('secure-with-access', node, ref));
    expect(out, JSON.stringify(out)).to.include({ running: true });
    await settle();
    expect(await manifestGets(secure, mSec, 'secure/app')).to.include(`GET /v2/secure/app/manifests/${img.manifestDigest} 200`);
    await deleteCustom(k, 'imagedigestmirrorsets', OURS, 'cluster-tier-secure');
    await putAccess(plainAccess());
    await waitApplied(k, nodes, access());
  });
});
