// The agent's mirror probes as a child process against the real API server:
// after installing a publication it probes each mirror the files name (a
// real docker-registry, and a port nothing listens on), reports a Node
// condition, the per-node summary annotation the controller aggregates,
// Events on transitions and Prometheus metrics; never a credential.
import type { CoreV1Event, V1ConfigMap, V1Node, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kube, kubeconfigPath, localControlPlane } from '../hooks.js';
import { deleteNamespace, isNotFound, waitUntil, type Kube } from '../lib/kube.js';
import { freePort, removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import { Registry } from '../../test/consumer/lib/registry.js';
import { AgentProcess, publication, type FileSpec } from './lib.js';

const PASSWORD = `probe-${randomBytes(6).toString('hex')}`;

function files(good: string, dead: string | undefined): FileSpec[] {
  const tables = [good, dead].filter((m): m is string => m !== undefined).map((m) => `[host."http://${m}"]\n  capabilities = ["pull"]\n`);
  const mirrors = [good, dead].filter((m): m is string => m !== undefined).map((m) => `[[registry.mirror]]\nlocation = "${m}/quay"\ninsecure = true\n`);
  const auth = Buffer.from(`robot:${PASSWORD}`).toString('base64');
  return [
    { key: 'containerd.quay.io.hosts.toml', path: '/etc/containerd/certs.d/quay.io/hosts.toml', content: `server = "https://quay.io"\n\n${tables.join('\n')}` },
    {
      key: 'registries.conf',
      path: '/etc/containers/registries.conf.d/99-image-mirrors.conf',
      content: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n\n${mirrors.join('\n')}`,
    },
    { key: 'containers.auth.json', path: '/etc/containers/auth.json', content: JSON.stringify({ auths: { [good]: { auth } } }), secret: true },
  ];
}

describe('chain: agent mirror probes against the API server', function () {
  this.timeout(120_000);
  const id = randomBytes(3).toString('hex');
  const ns = `probe-${id}`;
  const nodeName = `probe-node-${id}`;
  const name = 'cluster-image-mirrors';
  let k: Kube;
  let root: string;
  let agent: AgentProcess | undefined;
  let registry: Registry;
  let dead: string;
  let metricsPort: number;

  const publish = async (pub: { cm: V1ConfigMap; secret: V1Secret }): Promise<void> => {
    for (const [kind, body] of [
      ['Secret', pub.secret],
      ['ConfigMap', pub.cm],
    ] as const) {
      const args = { namespace: ns, name };
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
  const node = (): Promise<V1Node> => k.core.readNode({ name: nodeName });
  const probeCondition = async (): Promise<{ status?: string; reason?: string; message?: string } | undefined> =>
    (await node()).status?.conditions?.find((c) => c.type === 'ImageMirrorsReachable');
  const events = async (): Promise<CoreV1Event[]> =>
    (await k.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${nodeName}` })).items;
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();

  before(async function () {
    k = kube();
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    await k.core.createNode({ body: { metadata: { name: nodeName } } });
    root = await tempDir('probe-root');
    await mkdir(join(root, 'etc/containerd'), { recursive: true });
    await writeFile(
      join(root, 'etc/containerd/config.toml'),
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
    );
    registry = await Registry.start();
    dead = `127.0.0.1:${await freePort()}`;
    metricsPort = await freePort();
  });
  after(async function () {
    await agent?.stop();
    await registry?.stop();
    await k.core.deleteNode({ name: nodeName }).catch(() => undefined);
    await deleteNamespace(k, ns, { finalize: localControlPlane() !== undefined });
    await removeDir(root);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && agent) console.log(`agent log:\n${agent.tail(60)}`);
  });

  it('after installing, probes each mirror and reports the unreachable one on the Node, in the summary, an Event and metrics', async function () {
    agent = AgentProcess.start([
      '--kubeconfig',
      kubeconfigPath(),
      '--node-name',
      nodeName,
      '--namespace',
      ns,
      '--root',
      root,
      '--log-level',
      'debug',
      '--probe-interval',
      '5',
      '--probe-timeout',
      '2',
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
    ]);
    const pub = publication(ns, name, files(registry.host, dead));
    await publish(pub);
    const c = await waitUntil(
      'probe condition',
      async () => {
        const x = await probeCondition();
        return x?.reason === 'MirrorsUnreachable' ? x : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(c.status).to.equal('False');
    // containerd reads http:// as plain HTTP; containers/image tries HTTPS first on an insecure mirror: two probes.
    expect(c.message).to.include(
      `2/4 mirror(s) unreachable from this node: ${dead} (containerd): ${dead} refused the connection; ${dead} (containers-image): ${dead} refused the connection`,
    );
    expect(c.message).to.not.include(registry.host);

    const summary = JSON.parse((await node()).metadata?.annotations?.['imagemirror.io/mirror-probes'] ?? '{}') as {
      version: number;
      contentHash: string;
      mirrors: Array<{ mirror: string; runtimes: string[]; reachable: boolean; errorClass?: string }>;
    };
    expect(summary.version).to.equal(1);
    expect(summary.contentHash).to.equal(pub.hash);
    const byMirror = Object.fromEntries(summary.mirrors.map((m) => [`${m.mirror} ${m.runtimes.join(',')}`, m.reachable ? 'up' : m.errorClass]));
    // The containers/image side of the good mirror has credentials (auth.json) and tries HTTPS first: two probes there too.
    expect(byMirror).to.deep.equal({
      [`${dead} containerd`]: 'connection-refused',
      [`${dead} containers-image`]: 'connection-refused',
      [`${registry.host} containerd`]: 'up',
      [`${registry.host} containers-image`]: 'up',
    });
    expect(registry.requests().filter((r) => r.path === '/v2/').length).to.be.at.least(2);

    const warning = await waitUntil('MirrorUnreachable event', async () => (await events()).find((e) => e.reason === 'MirrorUnreachable'));
    expect(warning.type).to.equal('Warning');
    expect(warning.message).to.include(dead);

    const text = await metrics();
    expect(text).to.include(`imagemirror_agent_mirror_up{mirror="${registry.host}",runtime="containerd"} 1`);
    expect(text).to.include(`imagemirror_agent_mirror_up{mirror="${dead}",runtime="containers-image"} 0`);
    expect(text).to.include(`imagemirror_agent_mirror_probe_error{mirror="${dead}",runtime="containerd",class="connection-refused"} 1`);

    for (const where of [JSON.stringify(summary), c.message ?? '', (await events()).map((e) => e.message).join('\n'), text, agent.tail(1000)]) {
      expect(where).to.not.include(PASSWORD);
      expect(where).to.not.include(Buffer.from(`robot:${PASSWORD}`).toString('base64'));
    }
  });

  it('a publication without the dead mirror: the condition turns True soon (a change probes again), the mirror leaves the metrics', async function () {
    await publish(publication(ns, name, files(registry.host, undefined)));
    const c = await waitUntil(
      'probe condition True',
      async () => {
        const x = await probeCondition();
        return x?.status === 'True' ? x : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(c.reason).to.equal('AllMirrorsReachable');
    expect(c.message).to.equal(`2/2 mirror(s) reachable: ${registry.host}, ${registry.host}`);
    const text = await metrics();
    expect(text).to.not.include(`mirror="${dead}"`);
  });
});
