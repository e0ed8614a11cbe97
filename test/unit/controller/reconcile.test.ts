import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { CONTENT_HASH_ANNOTATION as HASH_ANNOTATION, OUTPUT_LABEL, TARGET_LABEL } from '../../../src/contract.js';
import { reconcileTarget } from '../../../src/controller/reconcile.js';
import type { Condition } from '../../../src/controller/conditions.js';
import { deps, FakeCluster } from './fake-cluster.js';
import { configHash } from '../../../src/controller/nodepool-delivery.js';
import { contentHash } from '../../../src/pipeline.js';
import { CachesNotFilled } from '../../../src/controller/sources.js';

const NS = 'clusters';
const OPERATOR_NS = 'image-mirror-system';
const NP: Target = { kind: 'NodePool', namespace: NS, name: 'workers' };

function hostedCluster(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'demo', namespace: NS }, spec };
}

function nodePool(name = 'workers', labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name, namespace: NS, labels }, spec: { clusterName: 'demo' } };
}

function idms(name: string, entries: unknown[], selector?: unknown): KubeObject {
  const spec: Record<string, unknown> = { imageDigestMirrors: entries };
  if (selector) spec.nodePoolSelector = selector;
  return { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', metadata: { name }, spec };
}

function statusOf(c: FakeCluster, ns = NS, name = 'workers'): { conditions: Condition[]; contentHash?: string; [k: string]: unknown } {
  return c.find('RenderedMirrorConfig', ns, name)?.status as { conditions: Condition[]; contentHash?: string };
}

function cond(c: FakeCluster, type: string, ns = NS, name = 'workers'): Condition | undefined {
  return statusOf(c, ns, name)?.conditions.find((x) => x.type === type);
}

/** Events other than the Warning that the output is not listed in spec.config (every unlisted NodePool gets it once; see the Delivered tests). */
function eventsBut(c: FakeCluster): FakeCluster['events'] {
  return c.events.filter((e) => e.reason !== 'NotReferenced');
}

function seedHostedCluster(c: FakeCluster): void {
  c.put(hostedCluster({ imageContentSources: [{ source: 'registry.example.com/team', mirrors: ['mirror.example.net/team'] }] }));
  c.put(nodePool());
}

describe('reconcileTarget', () => {
  it('publishes a NodePool output with labels, hash, owner, and a Ready status; a second pass writes nothing', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    const d = deps(c);
    const s1 = await reconcileTarget(d, NP);
    expect(s1).to.include({ ok: true, ready: true, degraded: false, result: 'rendered' });
    expect(c.writes.map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['create ConfigMap', 'create RenderedMirrorConfig', 'update RenderedMirrorConfig/status']);
    const cm = c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> };
    expect(cm.metadata.labels).to.deep.equal({ [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: 'clusters.workers' });
    const np = c.find('NodePool', NS, 'workers') as KubeObject;
    expect((cm.metadata as { ownerReferences?: unknown[] }).ownerReferences).to.deep.equal([
      { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', name: 'workers', uid: np.metadata.uid, controller: true },
    ]);
    const conf = parseToml(cm.data['registries.conf'] ?? '') as { registry: Array<{ location: string; mirror: Array<{ location: string }> }> };
    expect(conf.registry.map((r) => [r.location, r.mirror.map((m) => m.location)])).to.deep.equal([['registry.example.com/team', ['mirror.example.net/team']]]);
    const status = statusOf(c);
    expect(status.contentHash).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(cm.metadata.annotations?.[HASH_ANNOTATION]).to.equal(status.contentHash);
    expect(status).to.include({ observedGeneration: 1, sources: 1, lastRenderedTime: '2030-01-01T00:00:00Z' });
    expect(status.outputs).to.deep.equal({ configMap: 'workers-image-mirrors' });
    expect((status.contributors as Array<{ kind: string; generation?: number }>).map((x) => x.kind)).to.deep.equal(['HostedCluster', 'NodePool']);
    expect(cond(c, 'Ready')).to.include({ status: 'True', reason: 'Rendered', observedGeneration: 1 });
    expect(cond(c, 'Degraded')).to.include({ status: 'False', reason: 'AsExpected' });

    // Every write is reported to the caches with the version it replaced and the one stored.
    const rv = (kind: string, ns: string, name: string): string | undefined => c.find(kind, ns, name)?.metadata.resourceVersion;
    expect(c.recorded).to.deep.equal([
      { kind: 'ConfigMap', name: 'workers-image-mirrors', before: undefined, after: rv('ConfigMap', NS, 'workers-image-mirrors') },
      { kind: 'RenderedMirrorConfig', name: 'workers', before: undefined, after: c.recorded[1]?.after },
      { kind: 'RenderedMirrorConfig', name: 'workers', before: c.recorded[1]?.after, after: rv('RenderedMirrorConfig', NS, 'workers') },
    ]);

    const before = c.writes.length;
    d.clock.t += 60_000;
    const s2 = await reconcileTarget(d, NP);
    expect(s2.result).to.equal('unchanged');
    expect(c.writesSince(before)).to.deep.equal([]);
    expect(eventsBut(c)).to.deep.equal([]);
  });

  it('keeps the last good output while inputs are invalid, says why, and recovers by itself', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    c.put(idms('corp', [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }]));
    const d = deps(c);
    await reconcileTarget(d, NP);
    const good = c.find('ConfigMap', NS, 'workers-image-mirrors');
    const goodHash = statusOf(c).contentHash;
    const readySince = cond(c, 'Ready')?.lastTransitionTime;

    d.clock.t += 1000;
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => {
      (o.spec as { imageDigestMirrors: unknown[] }).imageDigestMirrors = [{ source: 'docker.io', mirrors: ['https://mirror.example.net'] }];
    });
    const before = c.writes.length;
    const s = await reconcileTarget(d, NP);
    expect(s).to.include({ ok: false, ready: false, degraded: true, result: 'degraded' });
    // Only the status changed; the published output is untouched.
    expect(c.writesSince(before).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['update RenderedMirrorConfig/status']);
    expect(c.find('ConfigMap', NS, 'workers-image-mirrors')).to.deep.equal(good);
    expect(statusOf(c).contentHash).to.equal(goodHash);
    const degraded = cond(c, 'Degraded') as Condition;
    expect(degraded).to.include({ status: 'True', reason: 'InvalidMirror' });
    expect(degraded.message).to.contain('ImageDigestMirrorSet corp').and.contain('spec.imageDigestMirrors[0].mirrors[0]');
    expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'InvalidInputs' });
    expect(cond(c, 'Ready')?.message).to.contain(`the last good output (${goodHash}) is kept`);
    // On the NodePool and on the RenderedMirrorConfig (with its uid: kubectl describe selects Events by it).
    const rmcUid = c.find('RenderedMirrorConfig', NS, 'workers')?.metadata.uid;
    expect(rmcUid).to.be.a('string');
    expect(eventsBut(c).map((e) => [e.type, e.reason, e.involvedObject.kind, e.involvedObject.name, e.involvedObject.uid])).to.deep.equal([
      ['Warning', 'InvalidMirror', 'NodePool', 'workers', (c.find('NodePool', NS, 'workers') as KubeObject).metadata.uid],
      ['Warning', 'InvalidMirror', 'RenderedMirrorConfig', 'workers', rmcUid],
    ]);
    expect(eventsBut(c)[1]?.metadata?.namespace).to.equal(NS);
    expect(eventsBut(c)[1]?.message).to.equal(eventsBut(c)[0]?.message);

    // The same problem again: no status write, no second event.
    const again = c.writes.length;
    await reconcileTarget(d, NP);
    expect(c.writesSince(again)).to.deep.equal([]);
    expect(eventsBut(c)).to.have.length(2);

    d.clock.t += 1000;
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => {
      (o.spec as { imageDigestMirrors: unknown[] }).imageDigestMirrors = [{ source: 'docker.io', mirrors: ['mirror.example.net/hub'] }];
    });
    const fixed = await reconcileTarget(d, NP);
    expect(fixed).to.include({ ok: true, ready: true, degraded: false, result: 'rendered' });
    expect(statusOf(c).contentHash).to.not.equal(goodHash);
    expect(cond(c, 'Ready')?.lastTransitionTime).to.not.equal(readySince);
    expect(eventsBut(c).map((e) => [e.type, e.reason, e.involvedObject.kind])).to.deep.equal([
      ['Warning', 'InvalidMirror', 'NodePool'],
      ['Warning', 'InvalidMirror', 'RenderedMirrorConfig'],
      ['Normal', 'Recovered', 'NodePool'],
      ['Normal', 'Recovered', 'RenderedMirrorConfig'],
    ]);
  });

  it('refuses an output over the 1 MiB ConfigMap limit before writing it: the last good one stays, the status says why', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    const entries = (n: number, from = 0): unknown[] =>
      Array.from({ length: n }, (_, i) => ({
        source: `registry-${from + i}.example.com/team/app`,
        mirrors: [`mirror.example.net/r${from + i}/a`, `mirror.example.net/r${from + i}/b`],
      }));
    c.put(idms('corp', entries(10)));
    const d = deps(c);
    await reconcileTarget(d, NP);
    const good = c.find('ConfigMap', NS, 'workers-image-mirrors');
    const goodHash = statusOf(c).contentHash;

    // 3,000 entries, in objects of at most 1,000 (the CRD's bound).
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => {
      (o.spec as { imageDigestMirrors: unknown[] }).imageDigestMirrors = entries(1000);
    });
    c.put(idms('corp-2', entries(1000, 1000)));
    c.put(idms('corp-3', entries(1000, 2000)));
    const before = c.writes.length;
    const s = await reconcileTarget(d, NP);
    expect(s).to.include({ ok: false, ready: false, degraded: true, result: 'degraded' });
    expect(c.writesSince(before).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['update RenderedMirrorConfig/status']);
    expect(c.find('ConfigMap', NS, 'workers-image-mirrors')).to.deep.equal(good);
    expect(statusOf(c).contentHash).to.equal(goodHash);
    const degraded = cond(c, 'Degraded') as Condition;
    expect(degraded.reason).to.equal('OutputTooLarge');
    expect(degraded.message).to.match(
      /^output ConfigMap clusters\/workers-image-mirrors would hold [\d,]+ bytes, over the 1,048,576-byte limit of a ConfigMap \(largest keys: /,
    );
    expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'OutputTooLarge' });
    expect(eventsBut(c).map((e) => [e.type, e.reason, e.involvedObject.kind])).to.deep.equal([
      ['Warning', 'OutputTooLarge', 'NodePool'],
      ['Warning', 'OutputTooLarge', 'RenderedMirrorConfig'],
    ]);
  });

  it('lists the first 100 warnings in the status and counts all of them', async () => {
    const c = new FakeCluster();
    // Every repository-scoped source widens to its whole host in containerd: one warning or more each.
    const entries = Array.from({ length: 150 }, (_, i) => ({ source: `registry-${i}.example.com/team/app`, mirrors: [`mirror.example.net/r${i}`] }));
    c.put(idms('corp', entries));
    await reconcileTarget(deps(c), { kind: 'Cluster' });
    const status = statusOf(c, OPERATOR_NS, 'cluster') as unknown as { warnings: Array<{ source: string }>; warningCount: number };
    expect(status.warningCount).to.be.at.least(150);
    expect(status.warnings).to.have.length(100);
    const cm = c.find('ConfigMap', OPERATOR_NS, 'cluster-image-mirrors');
    expect(cond(c, 'Ready', OPERATOR_NS, 'cluster')?.message).to.contain(`${status.warningCount} warnings`);
    expect(cm).to.not.equal(undefined);
  });

  it('a NodePool target: containerd warnings are not target warnings; with agent files "all" they are listed apart, 100 at most', async () => {
    const entries = Array.from({ length: 150 }, (_, i) => ({ source: `registry-${i}.example.com/team/app`, mirrors: [`mirror.example.net/r${i}`] }));
    type Listed = {
      warnings?: Array<{ renderer: string }>;
      warningCount: number;
      containerdWarnings?: Array<{ renderer: string }>;
      containerdWarningCount?: number;
    };
    const keys = (c: FakeCluster): string[] => Object.keys((c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: object }).data).sort();
    for (const [why, agentFiles, annotation] of [
      ['default (crio)', undefined, undefined],
      ['the flag', 'all', undefined],
      ['the NodePool annotation over the flag', 'none', 'all'],
    ] as const) {
      const c = new FakeCluster();
      seedHostedCluster(c);
      if (annotation) {
        c.edit('NodePool', NS, 'workers', (o) => {
          o.metadata.annotations = { 'imagemirror.io/agent-files': annotation };
        });
      }
      c.put(idms('corp', entries));
      await reconcileTarget({ ...deps(c), ...(agentFiles ? { nodePools: { agentFiles } } : {}) }, NP);
      const status = statusOf(c) as unknown as Listed;
      expect(status.warningCount, why).to.equal(0);
      expect(status.warnings ?? [], why).to.deep.equal([]);
      const all = (annotation ?? agentFiles) === 'all';
      if (all) {
        expect(status.containerdWarnings, why).to.have.length(100);
        expect(
          status.containerdWarnings?.every((w) => w.renderer === 'containerd'),
          why,
        ).to.equal(true);
        expect(status.containerdWarningCount, why).to.be.greaterThan(150);
        expect(
          keys(c).filter((k) => k.startsWith('containerd.')),
          why,
        ).to.not.deep.equal([]);
      } else {
        expect(status, why).to.not.have.any.keys('containerdWarnings', 'containerdWarningCount');
        expect(keys(c), why).to.deep.equal(['config', 'files.json', 'registries.conf']);
      }
    }
  });

  it('agent files "none": the output ConfigMap holds the key config only; an unknown annotation value is a warning and the flag applies', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    await reconcileTarget({ ...deps(c), nodePools: { agentFiles: 'none' } }, NP);
    expect(Object.keys((c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: object }).data)).to.deep.equal(['config']);
    c.edit('NodePool', NS, 'workers', (o) => {
      o.metadata.annotations = { 'imagemirror.io/agent-files': 'containerd' };
    });
    await reconcileTarget({ ...deps(c), nodePools: { agentFiles: 'none' } }, NP);
    const status = statusOf(c) as unknown as { warnings: Array<{ code: string; source: string; message: string }> };
    expect(status.warnings.map((w) => `${w.code} ${w.source}: ${w.message}`)).to.deep.equal([
      'InvalidAnnotation NodePool clusters/workers annotation imagemirror.io/agent-files: "containerd" is not one of none, crio, all; none applies',
    ]);
    expect(cond(c, 'Ready')?.status).to.equal('True');
  });

  it('a HostedCluster with both mirror-config fields: AmbiguousInputs=True, one Warning Event each on NodePool and status; cleared when fixed', async () => {
    const c = new FakeCluster();
    const mirrors = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: NS },
      data: {
        'idms.yaml':
          'apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: x}\nspec:\n  imageDigestMirrors:\n  - source: a.io\n    mirrors: [m.io]\n',
      },
    });
    c.put(mirrors('new'));
    c.put(mirrors('old'));
    c.put(hostedCluster({ imageMirrorConfigRef: { name: 'new' }, imageMirrorConfig: { name: 'old' } }));
    c.put(nodePool());
    const d = deps(c);
    await reconcileTarget(d, NP);
    const ambiguous = cond(c, 'AmbiguousInputs') as Condition;
    expect(ambiguous).to.include({ status: 'True', reason: 'BothMirrorConfigFields' });
    expect(ambiguous.message).to.contain(
      'ConfigMap clusters/new (spec.imageMirrorConfigRef.name) is used, clusters/old (spec.imageMirrorConfig.name) is ignored',
    );
    expect(cond(c, 'Ready')?.status).to.equal('True');
    expect((statusOf(c).warnings as Array<{ code: string }>).map((w) => w.code)).to.deep.equal(['AmbiguousReference']);
    expect(eventsBut(c).map((e) => [e.type, e.reason, e.involvedObject.kind])).to.deep.equal([
      ['Warning', 'BothMirrorConfigFields', 'NodePool'],
      ['Warning', 'BothMirrorConfigFields', 'RenderedMirrorConfig'],
    ]);
    await reconcileTarget(d, NP);
    expect(eventsBut(c)).to.have.length(2);
    c.edit('HostedCluster', NS, 'demo', (o) => {
      delete (o.spec as { imageMirrorConfig?: unknown }).imageMirrorConfig;
    });
    await reconcileTarget(d, NP);
    expect(cond(c, 'AmbiguousInputs')).to.include({ status: 'False', reason: 'AsExpected' });
    expect(eventsBut(c)).to.have.length(2);
    // The cluster target has no HostedCluster: no such condition.
    await reconcileTarget(d, { kind: 'Cluster' });
    expect(cond(c, 'AmbiguousInputs', OPERATOR_NS, 'cluster')).to.equal(undefined);
  });

  it('a NodePool that lists its output: a change of the config key is held for the settle window, the other keys go out at once', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    c.edit('NodePool', NS, 'workers', (o) => {
      (o.spec as Record<string, unknown>).config = [{ name: 'workers-image-mirrors' }];
      (o.spec as Record<string, unknown>).management = { upgradeType: 'InPlace' };
    });
    const d = deps(c);
    const data = (): Record<string, string> => (c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> }).data;
    expect((await reconcileTarget(d, NP)).passAgainInMs).to.equal(undefined);
    const first = data();
    expect(cond(c, 'Delivered')).to.include({ status: 'True', reason: 'Referenced' });
    const delivered = statusOf(c).delivery as { configHash: string; configChangedTime: string };
    expect(delivered).to.deep.equal({ configHash: configHash(first.config ?? ''), configChangedTime: '2030-01-01T00:00:00Z', upgradeType: 'InPlace' });

    d.clock.t += 1_000;
    c.put(idms('corp', [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }]));
    const held = await reconcileTarget(d, NP);
    expect(held.passAgainInMs).to.equal(5_000);
    expect(data()['registries.conf']).to.contain('mirror.example.net/docker');
    expect(data().config).to.equal(first.config);
    const status = statusOf(c);
    expect(status.delivery).to.deep.include({ configHash: delivered.configHash, pendingSince: '2030-01-01T00:00:01Z', publishAfter: '2030-01-01T00:00:06Z' });
    expect(cond(c, 'Delivered')).to.include({ status: 'False', reason: 'ChangePending' });
    expect(cond(c, 'Delivered')?.message).to.contain('publishing in 5 s; publishing it rolls the nodes of NodePool clusters/workers (upgradeType InPlace');
    expect(cond(c, 'Ready')?.message).to.contain('except the key config: a change of it is held (see Delivered)');
    expect(status.contentHash).to.equal(`sha256:${contentHash(data())}`);
    expect(eventsBut(c).map((e) => [e.reason, e.involvedObject.kind])).to.deep.equal([
      ['ConfigChangePending', 'NodePool'],
      ['ConfigChangePending', 'RenderedMirrorConfig'],
    ]);

    d.clock.t += 5_000;
    const out = await reconcileTarget(d, NP);
    expect(out.passAgainInMs).to.equal(undefined);
    expect(data().config).to.not.equal(first.config);
    expect(JSON.parse(data().config ?? '{}').kind).to.equal('MachineConfig');
    expect(statusOf(c).delivery).to.deep.equal({
      configHash: configHash(data().config ?? ''),
      configChangedTime: '2030-01-01T00:00:06Z',
      upgradeType: 'InPlace',
    });
    expect(
      eventsBut(c)
        .map((e) => [e.reason, e.involvedObject.kind])
        .slice(2),
    ).to.deep.equal([
      ['ConfigPublished', 'NodePool'],
      ['ConfigPublished', 'RenderedMirrorConfig'],
    ]);
  });

  it('with approval required, a change of the config key waits for the approval annotation naming it', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    c.edit('NodePool', NS, 'workers', (o) => {
      (o.spec as Record<string, unknown>).config = [{ name: 'workers-image-mirrors' }];
    });
    const d = { ...deps(c), nodePools: { approval: true } };
    await reconcileTarget(d, NP);
    c.put(idms('corp', [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }]));
    d.clock.t += 3_600_000;
    expect((await reconcileTarget(d, NP)).passAgainInMs).to.equal(undefined);
    const pending = (statusOf(c).delivery as { pendingConfigHash: string; approvalRequired: boolean }).pendingConfigHash;
    expect(cond(c, 'Delivered')).to.include({ status: 'False', reason: 'AwaitingApproval' });
    const fix = `kubectl -n clusters annotate nodepool workers imagemirror.io/approve-config=${pending.slice(7, 19)} --overwrite`;
    expect(cond(c, 'Delivered')?.message).to.contain(fix);
    c.edit('NodePool', NS, 'workers', (o) => {
      o.metadata.annotations = { 'imagemirror.io/approve-config': pending.slice(7, 19) };
    });
    await reconcileTarget(d, NP);
    const cm = c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> };
    expect(configHash(cm.data.config ?? '')).to.equal(pending);
    expect(cond(c, 'Delivered')).to.include({ status: 'True' });
  });

  it('reports a missing referenced ConfigMap as Degraded MissingReference with nothing published', async () => {
    const c = new FakeCluster();
    c.put(hostedCluster({ imageMirrorConfigRef: { name: 'absent' } }));
    c.put(nodePool());
    const s = await reconcileTarget(deps(c), NP);
    expect(s.ok).to.equal(false);
    expect(c.find('ConfigMap', NS, 'workers-image-mirrors')).to.equal(undefined);
    expect(cond(c, 'Degraded')).to.include({ status: 'True', reason: 'MissingReference' });
    expect(cond(c, 'Ready')?.message).to.contain('nothing has been published');
    expect(s.references).to.deep.include({ kind: 'ConfigMap', namespace: NS, name: 'absent' });
  });

  it('puts credentials only into the Secret, written before the ConfigMap, and deletes it when they go away', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    const password = 'pw-4cbd1e7f';
    c.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: OPERATOR_NS },
      type: 'kubernetes.io/basic-auth',
      data: { username: Buffer.from('robot').toString('base64'), password: Buffer.from(password).toString('base64') },
    });
    const access = (withCreds: boolean): KubeObject => ({
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'RegistryAccess',
      metadata: { name: 'corp' },
      spec: { hosts: [{ host: 'mirror.example.net', ...(withCreds ? { credentialsSecretRef: { namespace: OPERATOR_NS, name: 'creds' } } : {}) }] },
    });
    c.put(access(true));
    const d = deps(c);
    await reconcileTarget(d, NP);
    const order = c.writes.filter((w) => w.kind === 'Secret' || w.kind === 'ConfigMap').map((w) => `${w.verb} ${w.kind}`);
    expect(order).to.deep.equal(['create Secret', 'create ConfigMap']);
    const secret = c.find('Secret', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> };
    const decoded = Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    expect(decoded.some((v) => v.includes(password) || v.includes(Buffer.from(`robot:${password}`).toString('base64')))).to.equal(true);
    const cm = c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> };
    expect(JSON.stringify(cm.data)).to.not.contain(password);
    expect(JSON.stringify(cm.data)).to.not.contain(Buffer.from(`robot:${password}`).toString('base64'));
    expect(JSON.stringify(c.objects.get('RenderedMirrorConfig/clusters/workers'))).to.not.contain(password);
    expect(statusOf(c).outputs).to.deep.equal({ configMap: 'workers-image-mirrors', secret: 'workers-image-mirrors' });

    c.edit('RegistryAccess', undefined, 'corp', (o) => Object.assign(o, { spec: access(false).spec }));
    const before = c.writes.length;
    await reconcileTarget(d, NP);
    expect(
      c
        .writesSince(before)
        .filter((w) => w.kind !== 'RenderedMirrorConfig/status')
        .map((w) => `${w.verb} ${w.kind}`),
    ).to.deep.equal(['update ConfigMap', 'delete Secret']);
    expect(statusOf(c).outputs).to.deep.equal({ configMap: 'workers-image-mirrors' });
  });

  it('repairs an output edited by hand, and replaces one the cache does not know yet', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    const d = deps(c);
    await reconcileTarget(d, NP);
    const good = (c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject & { data: Record<string, string> }).data;

    c.edit('ConfigMap', NS, 'workers-image-mirrors', (o) => ((o.data as Record<string, string>)['registries.conf'] = '# emptied by hand\n'));
    let before = c.writes.length;
    await reconcileTarget(d, NP);
    expect(c.writesSince(before).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['update ConfigMap']);
    expect((c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject).data).to.deep.equal(good);

    c.edit('ConfigMap', NS, 'workers-image-mirrors', (o) => ((o.data as Record<string, string>)['registries.conf'] = 'x'));
    c.cacheLag = true;
    before = c.writes.length;
    await reconcileTarget(d, NP);
    expect(c.writesSince(before).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['create ConfigMap', 'update ConfigMap']);
    expect((c.find('ConfigMap', NS, 'workers-image-mirrors') as KubeObject).data).to.deep.equal(good);
  });

  it('renders the cluster target into the operator namespace from objects without a selector only', async () => {
    const c = new FakeCluster();
    c.put(idms('all', [{ source: 'docker.io', mirrors: ['mirror.example.net/docker'] }]));
    c.put(idms('gpu-only', [{ source: 'nvcr.io', mirrors: ['mirror.example.net/nvcr'] }], { matchLabels: { gpu: 'true' } }));
    await reconcileTarget(deps(c), { kind: 'Cluster' });
    const cm = c.find('ConfigMap', OPERATOR_NS, 'cluster-image-mirrors') as KubeObject & { data: Record<string, string> };
    expect(cm.metadata.labels?.[TARGET_LABEL]).to.equal('cluster');
    expect((cm.metadata as { ownerReferences?: unknown }).ownerReferences).to.equal(undefined);
    const conf = parseToml(cm.data['registries.conf'] ?? '') as { registry: Array<{ location: string }> };
    expect(conf.registry.map((r) => r.location)).to.deep.equal(['docker.io']);
    const rmc = c.find('RenderedMirrorConfig', OPERATOR_NS, 'cluster') as KubeObject;
    expect(rmc.spec).to.deep.equal({ target: { kind: 'Cluster' } });
    expect(cond(c, 'Ready', OPERATOR_NS, 'cluster')?.status).to.equal('True');
  });

  it('reports a render that throws as RenderFailed and writes no output', async () => {
    const c = new FakeCluster();
    seedHostedCluster(c);
    const d = {
      ...deps(c),
      render: () => {
        throw new Error('boom');
      },
    };
    const s = await reconcileTarget(d, NP);
    expect(s.ok).to.equal(false);
    expect(c.find('ConfigMap', NS, 'workers-image-mirrors')).to.equal(undefined);
    expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'RenderFailed' });
    expect(cond(c, 'Degraded')).to.include({ status: 'True', reason: 'InternalError' });
  });

  it('re-renders after new caches were filled, so a first reference never reads as missing', async () => {
    const c = new FakeCluster();
    c.put(hostedCluster({ imageMirrorConfigRef: { name: 'mirrors' } }));
    c.put(nodePool());
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mirrors', namespace: NS },
      data: {
        'idms.yaml':
          'apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: a}\nspec:\n  imageDigestMirrors:\n  - source: quay.io/x\n    mirrors: [mirror.example.net/x]\n',
      },
    };
    let filled = false;
    // A cache that only holds the ConfigMap once `ensure` has been asked for it.
    c.ensure = async (refs) => {
      if (filled || !refs.some((r) => r.kind === 'ConfigMap' && r.name === 'mirrors')) return false;
      filled = true;
      c.put(cm);
      return true;
    };
    const s = await reconcileTarget(deps(c), NP);
    expect(s).to.include({ ok: true, result: 'rendered' });
    expect(eventsBut(c)).to.deep.equal([]);
  });

  it('says a referenced object cannot be read (e.g. RBAC), instead of calling it missing', async () => {
    const c = new FakeCluster();
    c.put(hostedCluster({ imageMirrorConfigRef: { name: 'mirrors' } }));
    c.put(nodePool());
    const why = '403: configmaps "mirrors" is forbidden: User "system:serviceaccount:ops:op" cannot list resource "configmaps"';
    c.ensure = async (refs) => {
      throw new CachesNotFilled(
        10_000,
        refs.filter((r) => r.kind === 'ConfigMap').map((ref) => ({ ref, why })),
      );
    };
    const s = await reconcileTarget(deps(c), NP);
    expect(s).to.include({ ok: false, degraded: true, result: 'degraded' });
    expect(c.find('ConfigMap', NS, 'workers-image-mirrors')).to.equal(undefined);
    const degraded = cond(c, 'Degraded') as Condition;
    expect(degraded.reason).to.equal('UnreadableReference');
    expect(degraded.message).to.equal(`cannot read ConfigMap clusters/mirrors: ${why} [UnreadableReference]`);
  });
});
