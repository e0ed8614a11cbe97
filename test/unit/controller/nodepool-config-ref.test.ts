import { expect } from 'chai';
import { silentLogger } from '../../../src/controller/log.js';
import {
  CONFIG_REF_ADDED_ANNOTATION,
  configRefFingerprint,
  MANAGE_CONFIG_REF_ANNOTATION,
  planConfigRef,
  syncConfigRef,
  type JsonPatchOp,
} from '../../../src/controller/nodepool-config-ref.js';
import type { KubeObject } from '../../../src/model/source.js';

const OUT = 'workers-image-mirrors';

function nodePool(opts: { optIn?: string; added?: string; config?: Array<{ name: string }> } = {}): KubeObject {
  const annotations: Record<string, string> = { 'example.com/keep': 'yes' };
  if (opts.optIn !== undefined) annotations[MANAGE_CONFIG_REF_ANNOTATION] = opts.optIn;
  if (opts.added !== undefined) annotations[CONFIG_REF_ADDED_ANNOTATION] = opts.added;
  const spec: Record<string, unknown> = { clusterName: 'demo', replicas: 3, release: { image: 'r' } };
  if (opts.config) spec.config = opts.config;
  return {
    apiVersion: 'hypershift.openshift.io/v1beta1',
    kind: 'NodePool',
    metadata: { name: 'workers', namespace: 'clusters', resourceVersion: '42', annotations, labels: { tier: 'a' } },
    spec,
  };
}

/** RFC 6902 for the ops the planner emits (add, remove, test), enough to check where a plan leads. */
function applyPatch(doc: KubeObject, ops: readonly JsonPatchOp[]): KubeObject {
  const out = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop() as string;
    let parent: unknown = out;
    for (const p of parts) parent = (parent as Record<string, unknown>)[p];
    if (parent === undefined) throw new Error(`${op.op} ${op.path}: parent missing`);
    const obj = parent as Record<string, unknown>;
    if (op.op === 'test') {
      if (JSON.stringify(obj[last]) !== JSON.stringify(op.value)) throw new Error(`test ${op.path} failed`);
    } else if (!(last in obj) && op.op === 'remove') {
      throw new Error(`remove ${op.path}: missing`);
    } else if (Array.isArray(parent)) {
      if (op.op === 'add') parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
      else parent.splice(Number(last), 1);
    } else if (op.op === 'add') {
      obj[last] = op.value;
    } else {
      delete obj[last];
    }
  }
  return out as unknown as KubeObject;
}

function patched(np: KubeObject, outputExists = true): KubeObject {
  const plan = planConfigRef(np, OUT, outputExists);
  return 'ops' in plan ? applyPatch(np, plan.ops) : np;
}

describe('NodePool spec.config reference (opt-in)', () => {
  const cases: Array<[string, KubeObject, boolean, string]> = [
    ['no annotation: the NodePool is never written', nodePool({ config: [{ name: 'other' }] }), true, 'none'],
    ['annotation other than "true" is no opt-in', nodePool({ optIn: 'yes' }), true, 'none'],
    ['opt-in with the output stored: add', nodePool({ optIn: 'true' }), true, 'add'],
    ['opt-in but no output yet: a reference would point at nothing', nodePool({ optIn: 'true' }), false, 'none'],
    ['opt-in, already listed by us: nothing to do', nodePool({ optIn: 'true', added: OUT, config: [{ name: OUT }] }), true, 'none'],
    ['opt-in, listed by hand: nothing to do', nodePool({ optIn: 'true', config: [{ name: OUT }] }), true, 'none'],
    ['opt-in removed: remove what we added', nodePool({ added: OUT, config: [{ name: 'a' }, { name: OUT }] }), true, 'remove'],
    ['output gone: remove what we added', nodePool({ optIn: 'true', added: OUT, config: [{ name: OUT }] }), false, 'remove'],
    ['listed by hand, no opt-in: never removed', nodePool({ config: [{ name: OUT }] }), true, 'none'],
    ['our entry removed by someone else: forget the record', nodePool({ added: OUT, config: [{ name: 'a' }] }), true, 'forget'],
    ['opt-in, our entry removed by someone else: add it back', nodePool({ optIn: 'true', added: OUT, config: [{ name: 'a' }] }), true, 'add'],
  ];
  for (const [why, np, exists, action] of cases) {
    it(`${action}: ${why}`, () => {
      expect(planConfigRef(np, OUT, exists).action).to.equal(action);
    });
  }

  it('adds to an existing list after testing it, keeping every other entry and field', () => {
    const np = nodePool({ optIn: 'true', config: [{ name: 'a' }, { name: 'b' }] });
    const plan = planConfigRef(np, OUT, true);
    expect(plan).to.deep.equal({
      action: 'add',
      ops: [
        { op: 'test', path: '/spec/config', value: [{ name: 'a' }, { name: 'b' }] },
        { op: 'add', path: '/spec/config/-', value: { name: OUT } },
        { op: 'add', path: '/metadata/annotations/imagemirror.io~1config-ref-added', value: OUT },
      ],
    });
    const after = patched(np);
    expect(after.spec).to.deep.equal({ ...(np.spec as object), config: [{ name: 'a' }, { name: 'b' }, { name: OUT }] });
    expect(after.metadata.labels).to.deep.equal(np.metadata.labels);
    expect(after.metadata.annotations).to.deep.equal({ ...np.metadata.annotations, [CONFIG_REF_ADDED_ANNOTATION]: OUT });
  });

  it('creates the list when there is none, guarded by the resourceVersion', () => {
    const np = nodePool({ optIn: 'true' });
    const plan = planConfigRef(np, OUT, true);
    expect('ops' in plan && plan.ops[0]).to.deep.equal({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    expect(patched(np).spec).to.deep.equal({ ...(np.spec as object), config: [{ name: OUT }] });
  });

  it('removing restores the spec: other entries stay in order, an emptied list goes', () => {
    const optedIn = nodePool({ optIn: 'true', config: [{ name: 'a' }, { name: 'b' }] });
    const added = patched(optedIn);
    delete added.metadata.annotations?.[MANAGE_CONFIG_REF_ANNOTATION];
    const removed = patched(added);
    expect(removed.spec).to.deep.equal(optedIn.spec);
    expect(removed.metadata.annotations).to.deep.equal({ 'example.com/keep': 'yes' });

    const alone = patched(nodePool({ optIn: 'true' }));
    delete alone.metadata.annotations?.[MANAGE_CONFIG_REF_ANNOTATION];
    expect(patched(alone).spec).to.deep.equal(nodePool().spec);
    // Converged: nothing more to do.
    expect(planConfigRef(patched(alone), OUT, true).action).to.equal('none');
  });

  it('removes every copy of our entry when we added it, by descending index after testing the list', () => {
    const np = nodePool({ added: OUT, config: [{ name: OUT }, { name: 'a' }, { name: OUT }] });
    const plan = planConfigRef(np, OUT, true);
    expect('ops' in plan && plan.ops.map((o) => `${o.op} ${o.path}`)).to.deep.equal([
      'test /spec/config',
      'remove /spec/config/2',
      'remove /spec/config/0',
      'remove /metadata/annotations/imagemirror.io~1config-ref-added',
    ]);
    expect(patched(np).spec).to.deep.include({ config: [{ name: 'a' }] });
  });

  it('does not add to a full list (HyperShift allows 10 entries)', () => {
    const full = nodePool({ optIn: 'true', config: Array.from({ length: 10 }, (_, i) => ({ name: `c${i}` })) });
    expect(planConfigRef(full, OUT, true)).to.deep.equal({ action: 'full', entries: 10 });
  });

  it('the informer fingerprint changes with the opt-in and the record, not with other annotations', () => {
    const a = nodePool();
    const b = nodePool({ optIn: 'true' });
    const c = nodePool({ optIn: 'true', added: OUT });
    const d = structuredClone(a);
    d.metadata.annotations = { ...d.metadata.annotations, 'example.com/other': 'x' };
    expect(new Set([a, b, c].map(configRefFingerprint)).size).to.equal(3);
    expect(configRefFingerprint(d)).to.equal(configRefFingerprint(a));
  });

  it('sync sends one patch per change, none when converged, and names the NodePool when the patch fails', async () => {
    const sent: Array<{ ns: string; name: string; ops: readonly JsonPatchOp[] }> = [];
    const deps = {
      patchNodePool: async (ns: string, name: string, ops: readonly JsonPatchOp[]) => sent.push({ ns, name, ops }),
      logger: silentLogger(),
      patchedFrom: new Map<string, string>(),
    };
    const withRv = (np: KubeObject, rv: string): KubeObject => ({ ...np, metadata: { ...np.metadata, resourceVersion: rv } });
    expect(await syncConfigRef(deps, withRv(nodePool({ optIn: 'true' }), '42'), OUT, true)).to.equal(true);
    // The cache still shows the object the patch was planned from: no second patch from stale data.
    expect(await syncConfigRef(deps, withRv(nodePool({ optIn: 'true' }), '42'), OUT, true)).to.equal(false);
    expect(await syncConfigRef(deps, withRv(nodePool({ optIn: 'true', added: OUT, config: [{ name: OUT }] }), '43'), OUT, true)).to.equal(false);
    expect(sent.map((s) => `${s.ns}/${s.name} ${s.ops.length}`)).to.deep.equal(['clusters/workers 3']);
    // A newer object that needs a change again is patched again.
    expect(await syncConfigRef(deps, withRv(nodePool({ added: OUT, config: [{ name: OUT }] }), '44'), OUT, true)).to.equal(true);
    expect(sent.map((s) => s.ops.map((o) => o.op).join(','))).to.deep.equal(['test,add,add', 'test,remove,remove']);
    const failing = {
      patchNodePool: async () => {
        throw Object.assign(new Error('the server rejected our request'), { code: 422 });
      },
      logger: silentLogger(),
      patchedFrom: new Map<string, string>(),
    };
    let err: unknown;
    await syncConfigRef(failing, nodePool({ optIn: 'true' }), OUT, true).catch((e: unknown) => (err = e));
    expect(String(err)).to.include(`cannot add the spec.config entry ${OUT} of NodePool clusters/workers: it changed since it was read`);
    const other = {
      ...failing,
      patchNodePool: async () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })),
      patchedFrom: new Map<string, string>(),
    };
    await syncConfigRef(other, nodePool({ optIn: 'true' }), OUT, true).catch((e: unknown) => (err = e));
    expect(String(err)).to.include(`of NodePool clusters/workers: forbidden`);
  });
});
