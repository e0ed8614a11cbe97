import { expect } from 'chai';
import { FileObjectSource } from '../../src/model/files.js';
import type { KubeObject, Target } from '../../src/model/source.js';
import { formatProblem } from '../../src/model/types.js';
import { RenderMemo, renderTarget, type RenderedTarget } from '../../src/pipeline.js';

const HS = 'hypershift.openshift.io/v1beta1';
const NS = 'clusters';

function hostedCluster(name: string, ics: Array<{ source: string; mirrors: string[] }> = []): KubeObject {
  return { apiVersion: HS, kind: 'HostedCluster', metadata: { name, namespace: NS }, spec: { imageContentSources: ics } };
}

function nodePool(name: string, cluster: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: HS, kind: 'NodePool', metadata: { name, namespace: NS, labels }, spec: { clusterName: cluster } };
}

function idms(name: string, source: string, mirror: string, selector?: Record<string, string>): KubeObject {
  const spec: Record<string, unknown> = { imageDigestMirrors: [{ source, mirrors: [mirror], mirrorSourcePolicy: 'NeverContactSource' }] };
  if (selector) spec.nodePoolSelector = { matchLabels: selector };
  return { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', metadata: { name, generation: 1 }, spec };
}

const world: KubeObject[] = [
  idms('global', 'quay.io/ocp', 'mirror.corp:5000/ocp'),
  idms('gpu-only', 'nvcr.io/nvidia', 'mirror.corp:5000/nvidia', { gpu: 'true' }),
  hostedCluster('a'),
  hostedCluster('b'),
  hostedCluster('c', [{ source: 'docker.io/library', mirrors: ['mirror.corp:5000/hub'] }]),
  nodePool('a-1', 'a'),
  nodePool('a-2', 'a'),
  nodePool('b-1', 'b'),
  nodePool('b-gpu', 'b', { gpu: 'true' }),
  nodePool('c-1', 'c'),
];

const np = (name: string): Target => ({ kind: 'NodePool', namespace: NS, name });

function ok(r: RenderedTarget): Extract<RenderedTarget['outcome'], { ok: true }> {
  if (!r.outcome.ok) throw new Error(r.outcome.errors.map(formatProblem).join('\n'));
  return r.outcome;
}

describe('RenderMemo: one render for targets with the same inputs', () => {
  const src = new FileObjectSource(world);
  const targets: Target[] = [np('a-1'), np('a-2'), np('b-1'), np('b-gpu'), np('c-1'), { kind: 'Cluster' }];

  it('gives every target exactly what a render without the memo gives, its own contributors included', () => {
    const memo = new RenderMemo();
    for (const round of [1, 2]) {
      for (const t of targets) {
        const shared = renderTarget(src, t, memo);
        const alone = renderTarget(src, t);
        expect(shared, `${round}: ${JSON.stringify(t)}`).to.deep.equal(alone);
      }
    }
    // a-1, a-2 and b-1 share inputs; b-gpu, c-1 and the cluster target each have their own.
    expect(memo.misses).to.equal(4);
    expect(memo.hits).to.equal(2 + targets.length);
  });

  it('keeps the contributors of each target out of the shared render', () => {
    const memo = new RenderMemo();
    const first = ok(renderTarget(src, np('a-1'), memo));
    const second = ok(renderTarget(src, np('b-1'), memo));
    expect(memo.hits).to.equal(1);
    expect(second.configMapData).to.equal(first.configMapData);
    const names = (o: typeof first): string[] => o.model.contributors.map((c) => `${c.kind}/${c.name}`);
    expect(names(first)).to.include('HostedCluster/a').and.not.include('HostedCluster/b');
    expect(names(second)).to.include('HostedCluster/b').and.not.include('HostedCluster/a');
  });

  it('tells a NodePool (with a MachineConfig) from the cluster target with the same inputs', () => {
    const only = [idms('global', 'quay.io/ocp', 'mirror.corp:5000/ocp')];
    const inputs = (t: Target) => renderTarget(new FileObjectSource([...only, hostedCluster('a'), nodePool('a-1', 'a')]), t).gathered.inputs;
    expect(RenderMemo.key(inputs(np('a-1')), 'crio')).to.not.equal(RenderMemo.key(inputs({ kind: 'Cluster' }), 'cluster'));
    expect(RenderMemo.key(inputs(np('a-1')), 'crio')).to.not.equal(RenderMemo.key(inputs(np('a-1')), 'all'));
  });

  it('misses after any change of an input, and forgets the least recently used beyond its size', () => {
    const memo = new RenderMemo(2);
    ok(renderTarget(src, np('a-1'), memo));
    const changed = new FileObjectSource(world.map((o) => (o.metadata.name === 'global' ? idms('global', 'quay.io/ocp', 'mirror2.corp:5000/ocp') : o)));
    const after = ok(renderTarget(changed, np('a-1'), memo));
    expect(memo.misses).to.equal(2);
    expect(after.configMapData['registries.conf']).to.contain('mirror2.corp:5000/ocp');
    ok(renderTarget(src, np('c-1'), memo)); // a third set of inputs: the first one goes
    ok(renderTarget(src, np('a-1'), memo));
    expect(memo.misses).to.equal(4);
    expect(memo.hits).to.equal(0);
  });
});

describe('API objects (with a resourceVersion): read once per version, shared by every target', () => {
  const versioned = (o: KubeObject, rv: string): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: rv, uid: `uid-${o.metadata.name}` } });
  const api = world.map((o, i) => versioned(o, String(100 + i)));
  const targets: Target[] = [np('a-1'), np('a-2'), np('b-1'), np('b-gpu'), np('c-1'), { kind: 'Cluster' }];

  it('renders what the same objects without the read memo render, round after round', () => {
    const memo = new RenderMemo();
    const src = new FileObjectSource(api);
    for (const round of [1, 2, 3]) {
      for (const t of targets) {
        // Fresh copies of every object: nothing of theirs is in any memo.
        const fresh = new FileObjectSource(api.map((o) => structuredClone(o)));
        expect(renderTarget(src, t, memo), `${round}: ${JSON.stringify(t)}`).to.deep.equal(renderTarget(fresh, t));
      }
    }
    expect(memo.misses).to.equal(4);
  });

  it('shares the entries of a cluster-wide object among targets, frozen', () => {
    const src = new FileObjectSource(api);
    const a = renderTarget(src, np('a-1')).gathered.inputs.entries;
    const b = renderTarget(src, np('b-1')).gathered.inputs.entries;
    const global = a.find((e) => e.origin.name === 'global');
    expect(global).to.not.equal(undefined);
    expect(b).to.include(global);
    expect(Object.isFrozen(global)).to.equal(true);
    expect(Object.isFrozen(global?.mirrors)).to.equal(true);
  });

  it('reads a new version of an object anew: its change reaches the output and the memo misses', () => {
    const memo = new RenderMemo();
    const before = ok(renderTarget(new FileObjectSource(api), np('a-1'), memo));
    const next = api.map((o) => (o.metadata.name === 'global' ? versioned(idms('global', 'quay.io/ocp', 'mirror2.corp:5000/ocp'), '999') : o));
    const after = ok(renderTarget(new FileObjectSource(next), np('a-1'), memo));
    expect(before.configMapData['registries.conf']).to.contain('mirror.corp:5000/ocp');
    expect(after.configMapData['registries.conf']).to.contain('mirror2.corp:5000/ocp').and.not.contain('"mirror.corp:5000/ocp"');
    expect(memo.misses).to.equal(2);
  });

  it('reports an invalid object for each target that uses it, each with its own copy of the problem', () => {
    const bad = versioned(idms('broken', 'quay.io/ocp', 'not a mirror'), '500');
    const src = new FileObjectSource([...api, bad]);
    const first = renderTarget(src, np('a-1'));
    const second = renderTarget(src, np('b-1'));
    const problem = (r: RenderedTarget) => (r.outcome.ok ? undefined : r.outcome.errors.find((p) => p.origin?.name === 'broken'));
    expect(problem(first)?.field).to.equal('spec.imageDigestMirrors[0].mirrors[0]');
    expect(problem(second)).to.deep.equal(problem(first));
    expect(problem(second)).to.not.equal(problem(first));
  });
});
