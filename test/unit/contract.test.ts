// The contract between the operator and the node agent (src/contract.ts),
// pinned end to end: what reconcileTarget publishes for a target is what the
// agent, from its node's labels alone, finds, reads and plans to install.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { inconsistency, readPublication } from '../../src/agent/index.js';
import { JSON_MARKER_KEY, JSON_MARKER_VALUE, MARKER_LINE } from '../../src/agent/marker.js';
import { computePlan, DEFAULT_ALLOWED_ROOTS } from '../../src/agent/plan.js';
import { resolveTarget } from '../../src/agent/target.js';
import {
  CONTENT_HASH_ANNOTATION,
  FILES_MANIFEST_KEY,
  NODEPOOL_LABEL,
  OUTPUT_LABEL,
  outputName,
  statusName,
  TARGET_LABEL,
  targetLabelValue,
  targetNamespace,
  targetOfLabel,
} from '../../src/contract.js';
import { silentLogger } from '../../src/controller/log.js';
import { reconcileTarget } from '../../src/controller/reconcile.js';
import type { KubeObject, Target } from '../../src/model/source.js';
import { FakeCluster } from './controller/fake-cluster.js';

const OPERATOR_NS = 'image-mirror-system';
const NS = 'clusters';

function seed(c: FakeCluster): void {
  c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'demo', namespace: NS }, spec: {} });
  c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: 'workers', namespace: NS }, spec: { clusterName: 'demo' } });
  c.put({
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'ImageDigestMirrorSet',
    metadata: { name: 'all' },
    spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }] },
  });
  c.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: OPERATOR_NS },
    type: 'kubernetes.io/basic-auth',
    data: { username: Buffer.from('robot').toString('base64'), password: Buffer.from('pw-5e1f').toString('base64') },
  });
  c.put({
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'RegistryAccess',
    metadata: { name: 'creds' },
    spec: { hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: OPERATOR_NS, name: 'creds' } }] },
  });
}

const cases: Array<{ why: string; target: Target; node: Record<string, string>; flags: { namespace: string; nodePoolNamespace?: string } }> = [
  {
    why: 'a node of a NodePool finds its pool output by the HyperShift node label',
    target: { kind: 'NodePool', namespace: NS, name: 'workers' },
    node: { [NODEPOOL_LABEL]: 'workers' },
    flags: { namespace: OPERATOR_NS, nodePoolNamespace: NS },
  },
  {
    why: 'a node without that label finds the cluster-wide output in the operator namespace',
    target: { kind: 'Cluster' },
    node: {},
    flags: { namespace: OPERATOR_NS },
  },
];

describe('contract: what the operator publishes is what the agent reads', () => {
  for (const { why, target, node, flags } of cases) {
    it(why, async () => {
      const c = new FakeCluster();
      seed(c);
      await reconcileTarget(
        { sources: c, writer: c, operatorNamespace: OPERATOR_NS, logger: silentLogger(), now: () => new Date('2030-01-01T00:00:00Z') },
        target,
      );
      const ns = targetNamespace(target, OPERATOR_NS);
      const cm = c.find('ConfigMap', ns, outputName(target)) as (KubeObject & V1ConfigMap) | undefined;
      const secret = c.find('Secret', ns, outputName(target)) as (KubeObject & V1Secret) | undefined;
      const status = c.find('RenderedMirrorConfig', ns, statusName(target))?.status as { contentHash: string; outputs: { configMap: string; secret?: string } };
      if (!cm || !secret) throw new Error('the operator published no ConfigMap and Secret');

      // The operator labels both objects as outputs of this target.
      for (const o of [cm, secret]) {
        expect(o.metadata.labels).to.deep.include({ [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: targetLabelValue(target) });
        expect(targetOfLabel(o.metadata.labels?.[TARGET_LABEL])).to.deep.equal(target);
      }
      expect(status.outputs).to.deep.equal({ configMap: outputName(target), secret: outputName(target) });

      // The agent picks those objects from its node's labels and flags.
      const picked = resolveTarget(node, flags);
      expect({ namespace: picked.namespace, name: picked.name }).to.deep.equal({ namespace: ns, name: outputName(target) });

      // It reads the content hash the status reports, and sees one consistent publication.
      const pub = readPublication(picked, cm, secret);
      expect(pub.contentHash).to.equal(status.contentHash).and.equal(cm.metadata.annotations?.[CONTENT_HASH_ANNOTATION]);
      expect(inconsistency(cm, secret)).to.equal(undefined);

      // Every key files.json lists is found where it says (ConfigMap or decoded Secret) and installs at its path.
      const manifest = JSON.parse(cm.data?.[FILES_MANIFEST_KEY] ?? '') as Record<string, { path: string; mode: string; from: 'ConfigMap' | 'Secret' }>;
      const plan = computePlan({ ...pub, allowedRoots: DEFAULT_ALLOWED_ROOTS, owned: [] });
      if (!plan.ok) throw new Error(`the agent refuses the publication: ${plan.errors.map((e) => e.message).join('; ')}`);
      expect(plan.plan.writes.map((w) => [w.key, w.path, w.mode.toString(8).padStart(4, '0'), w.from]).sort()).to.deep.equal(
        Object.entries(manifest)
          .map(([k, e]) => [k, e.path, e.mode, e.from])
          .sort(),
      );
      expect(plan.plan.writes.some((w) => w.from === 'Secret')).to.equal(true);
      // What it installs is what was published, plus its ownership marker (src/agent/marker.ts).
      for (const w of plan.plan.writes) {
        const held = (w.from === 'Secret' ? pub.secretData?.[w.key] : pub.configMapData?.[w.key]) ?? '';
        if (w.format === 'json') {
          const { [JSON_MARKER_KEY]: marker, ...rest } = JSON.parse(w.content) as Record<string, unknown>;
          expect([marker, rest], w.key).to.deep.equal([JSON_MARKER_VALUE, JSON.parse(held)]);
        } else {
          expect(w.content, w.key).to.equal(`${MARKER_LINE}\n${held}`);
        }
      }
    });
  }
});
