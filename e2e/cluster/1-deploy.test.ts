// Scenario 1 and 7 of the cluster tier: the operator and the agent deployed
// from the project image with `kubectl apply -k deploy/` and `deploy/agent`
// (the root hook did exactly what `make cluster` does), running as shipped.
import type { V1DaemonSet, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { repoRoot } from '../lib/controlplane.js';
import { waitUntil, type Kube } from '../lib/kube.js';
import type { ClusterKube } from './harness.js';
import { readRmc, sumSamples } from '../operator/lib.js';
import { cluster, image } from './hooks.js';

const OP_NS = 'image-mirror-system';
const AGENT_NS = 'image-mirror-agent';

async function shipped<T>(file: string, kind: string): Promise<T> {
  const docs = loadAllYaml(await readFile(join(repoRoot(), file), 'utf8')) as Array<{ kind: string }>;
  return docs.find((d) => d.kind === kind) as T;
}

async function podsOf(k: Kube, namespace: string, component: string): Promise<V1Pod[]> {
  const list = await k.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/component=${component}` });
  return list.items;
}

const ready = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The fields `kubectl apply` sets from the manifest, with the server's defaults removed where they differ only by defaulting. */
function securityOf(spec: { securityContext?: unknown; containers: Array<{ securityContext?: unknown; volumeMounts?: unknown; args?: unknown }> }): unknown {
  const c = spec.containers[0];
  return { pod: spec.securityContext, container: c?.securityContext, mounts: c?.volumeMounts, args: c?.args };
}

describe('cluster: the operator and the agent deployed from the image (kubectl apply -k)', function () {
  this.timeout(180_000);
  let k: ClusterKube;

  before(() => {
    k = cluster().kube();
  });

  it('runs the controller Deployment: both replicas Running and Ready (probes pass), no restarts, the pushed image', async () => {
    const pods = await podsOf(k, OP_NS, 'controller');
    expect(pods).to.have.length(2);
    for (const p of pods) {
      expect(p.status?.phase, p.metadata?.name).to.equal('Running');
      expect(ready(p), `${p.metadata?.name} Ready (readiness probe /readyz)`).to.equal(true);
      expect(p.status?.containerStatuses?.[0]?.restartCount, `${p.metadata?.name} restarts (liveness probe /healthz)`).to.equal(0);
      expect(p.spec?.containers[0]?.image).to.equal(image());
      // Non-root with a read-only root file system, as the Dockerfile and deploy/ say.
      expect(p.spec?.securityContext?.runAsUser).to.equal(65532);
      expect(p.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem).to.equal(true);
    }
    // On separate nodes, as the topology spread asks.
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).to.equal(Math.min(2, cluster().nodes.length));
  });

  it('has exactly one leader: the Lease holder, the only replica whose /metrics says imagemirror_is_leader 1', async () => {
    const pods = await podsOf(k, OP_NS, 'controller');
    const leaders = await waitUntil('one leader in the metrics', async () => {
      const flags = await Promise.all(
        pods.map(async (p) => {
          // From inside the Pod (kubectl exec: API server -> kubelet -> containerd), on the metrics port.
          const text = await cluster().kubectlOk([
            '-n',
            OP_NS,
            'exec',
            p.metadata?.name as string,
            '--',
            'node',
            '-e',
            'fetch("http://127.0.0.1:8080/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))',
          ]);
          expect(text).to.include('# TYPE imagemirror_reconcile_total counter');
          return { name: p.metadata?.name as string, leader: sumSamples(text, 'imagemirror_is_leader', {}) };
        }),
      );
      const l = flags.filter((f) => f.leader === 1);
      return l.length === 1 && flags.filter((f) => f.leader === 0).length === pods.length - 1 ? l : undefined;
    });
    const lease = await k.coordination.readNamespacedLease({ namespace: OP_NS, name: 'image-mirror-controller' });
    expect(lease.spec?.holderIdentity?.startsWith(`${leaders[0]?.name}_`), `Lease holder ${lease.spec?.holderIdentity}`).to.equal(true);
  });

  it('publishes the cluster-wide output, and the RenderedMirrorConfig says Ready', async () => {
    const rmc = await waitUntil('RenderedMirrorConfig cluster Ready', async () => {
      const r = await readRmc(k, OP_NS, 'cluster');
      return r?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? r : undefined;
    });
    const cm = await k.core.readNamespacedConfigMap({ namespace: OP_NS, name: 'cluster-image-mirrors' });
    expect(cm.data?.['files.json']).to.be.a('string');
    expect(cm.metadata?.annotations?.['imagemirror.io/content-hash']).to.equal(rmc.status?.contentHash);
  });

  it('runs the agent DaemonSet on every node, as shipped: same securityContext, args and hostPath mounts', async () => {
    const file = await shipped<V1DaemonSet>('deploy/agent/daemonset.yaml', 'DaemonSet');
    const ds = await k.apps.readNamespacedDaemonSet({ namespace: AGENT_NS, name: 'image-mirror-agent' });
    const spec = ds.spec?.template.spec as NonNullable<V1DaemonSet['spec']>['template']['spec'] & object;
    const want = file.spec?.template.spec as typeof spec;
    expect(securityOf(spec)).to.deep.equal(securityOf(want));
    expect(spec.volumes?.map((v) => ({ name: v.name, hostPath: v.hostPath }))).to.deep.equal(
      want.volumes?.map((v) => ({ name: v.name, hostPath: v.hostPath })),
    );
    // hostNetwork as shipped: each node has a network of its own, so every agent binds its metrics port.
    expect({ hostNetwork: spec.hostNetwork ?? false, dnsPolicy: spec.dnsPolicy }).to.deep.equal({
      hostNetwork: want.hostNetwork ?? false,
      dnsPolicy: want.dnsPolicy ?? 'ClusterFirst',
    });
    const pods = await podsOf(k, AGENT_NS, 'agent');
    expect(pods.map((p) => p.spec?.nodeName).sort()).to.deep.equal([...cluster().nodes].sort());
    for (const p of pods) {
      expect(p.status?.phase).to.equal('Running');
      expect(p.status?.containerStatuses?.[0]?.restartCount, `${p.metadata?.name} restarts`).to.equal(0);
    }
    // Each agent reported on its own Node that the files are installed and containerd reads them.
    await waitUntil('ImageMirrorConfigured=True on every node', async () => {
      const nodes = await k.core.listNode();
      const ok = nodes.items.every((n) =>
        n.status?.conditions?.some((c) => c.type === 'ImageMirrorConfigured' && c.status === 'True' && c.reason === 'Applied'),
      );
      return ok || undefined;
    });
  });

  it('the controller Deployment is the shipped one but for the image', async () => {
    const file = await shipped<V1Deployment>('deploy/deployment.yaml', 'Deployment');
    const dep = await k.apps.readNamespacedDeployment({ namespace: OP_NS, name: 'image-mirror-controller' });
    const spec = dep.spec?.template.spec as NonNullable<V1Deployment['spec']>['template']['spec'] & object;
    expect(securityOf(spec)).to.deep.equal(securityOf(file.spec?.template.spec as typeof spec));
    expect(spec.hostNetwork ?? false).to.equal(false);
    expect(spec.containers[0]?.image).to.equal(image());
    const nodeOptions = (c: { env?: Array<{ name: string; value?: string }> } | undefined): string | undefined =>
      c?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    expect(nodeOptions(spec.containers[0]), 'NODE_OPTIONS (the heap bound)')
      .to.equal(nodeOptions(file.spec?.template.spec?.containers[0]))
      .and.not.equal(undefined);
  });

  it('kubectl logs shows the JSON logs of the controller and of the agent (scenario 7)', async () => {
    for (const [ns, component, msg] of [
      [OP_NS, 'controller', 'controller started'],
      [AGENT_NS, 'agent', 'agent target'],
    ] as const) {
      for (const p of await podsOf(k, ns, component)) {
        const out = await cluster().kubectlOk(['-n', ns, 'logs', p.metadata?.name as string]);
        const lines = out.split('\n').filter((l) => l.trim() !== '');
        expect(lines.length, `${p.metadata?.name} log`).to.be.greaterThan(0);
        const parsed = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
        expect(
          parsed.every((l) => typeof l.level === 'number' && typeof l.msg === 'string'),
          out,
        ).to.equal(true);
        expect(
          parsed.map((l) => l.msg),
          out,
        ).to.include(msg);
      }
    }
  });
});
