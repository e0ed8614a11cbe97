// The operator writes and deletes only its own outputs (docs/api.md
// "Ownership of outputs"), and its content hash covers the Secret
// ("Content hash"). Against the in-memory API; e2e/operator/ownership.test.ts
// runs the same flows on the real API server.
import { expect } from 'chai';
import { computePlan, DEFAULT_ALLOWED_ROOTS } from '../../../src/agent/plan.js';
import { readPublication } from '../../../src/agent/index.js';
import { contentHash } from '../../../src/common/content-hash.js';
import { CONTENT_HASH_ANNOTATION, CONTENT_HASH_KEY, OUTPUT_LABEL, outputContentHash, TARGET_LABEL } from '../../../src/contract.js';
import type { Condition } from '../../../src/controller/conditions.js';
import { Controller } from '../../../src/controller/controller.js';
import { ControllerMetrics } from '../../../src/controller/metrics.js';
import { silentLogger } from '../../../src/controller/log.js';
import { deleteOwn, foreignReason } from '../../../src/controller/outputs.js';
import { CONFLICT_RETRY_MS, reconcileTarget, removeTarget } from '../../../src/controller/reconcile.js';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { deps, FakeCluster } from './fake-cluster.js';

const NS = 'clusters';
const OPERATOR_NS = 'image-mirror-system';
const NP: Target = { kind: 'NodePool', namespace: NS, name: 'workers' };
const OUT = 'workers-image-mirrors';
const HS = 'hypershift.openshift.io/v1beta1';

function seed(c: FakeCluster, opts: { credentials?: string } = {}): void {
  c.put({
    apiVersion: HS,
    kind: 'HostedCluster',
    metadata: { name: 'demo', namespace: NS },
    spec: { imageContentSources: [{ source: 'registry.example.com/team', mirrors: ['mirror.example.net/team'] }] },
  });
  c.put({ apiVersion: HS, kind: 'NodePool', metadata: { name: 'workers', namespace: NS }, spec: { clusterName: 'demo' } });
  if (opts.credentials !== undefined) {
    setPassword(c, opts.credentials);
    c.put({
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'RegistryAccess',
      metadata: { name: 'corp' },
      spec: { hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: OPERATOR_NS, name: 'creds' } }] },
    });
  }
}

function setPassword(c: FakeCluster, password: string): void {
  c.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: OPERATOR_NS },
    type: 'kubernetes.io/basic-auth',
    data: { username: Buffer.from('robot').toString('base64'), password: Buffer.from(password).toString('base64') },
  });
}

/** A user's own object under the output's name: no label of ours, no owner. */
function usersOwn(kind: 'ConfigMap' | 'Secret'): KubeObject {
  const data = kind === 'ConfigMap' ? { 'app.properties': 'color=blue\n' } : { token: Buffer.from('users-token').toString('base64') };
  return { apiVersion: 'v1', kind, metadata: { name: OUT, namespace: NS, labels: { app: 'mine' } }, ...(kind === 'Secret' ? { type: 'Opaque' } : {}), data };
}

interface Status {
  conditions: Condition[];
  contentHash?: string;
  lastRenderedTime?: string;
  problems?: Array<{ reason: string; message: string }>;
}

const statusOf = (c: FakeCluster): Status => c.find('RenderedMirrorConfig', NS, 'workers')?.status as Status;
const cond = (c: FakeCluster, type: string): Condition | undefined => statusOf(c)?.conditions.find((x) => x.type === type);
const writesTo = (c: FakeCluster, since: number, kind: string): string[] =>
  c
    .writesSince(since)
    .filter((w) => w.kind === kind && w.name === OUT)
    .map((w) => w.verb);

describe('outputs: ownership', () => {
  const np = { apiVersion: HS, kind: 'NodePool', metadata: { name: 'workers', namespace: NS, uid: 'np-uid' } } as KubeObject;
  const ours = { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: 'clusters.workers' };
  const ref = (over: Record<string, unknown> = {}) => ({ apiVersion: HS, kind: 'NodePool', name: 'workers', uid: 'np-uid', controller: true, ...over });
  const cases: Array<{ why: string; meta: Record<string, unknown>; owner?: KubeObject; target?: Target; ours: boolean }> = [
    { why: 'our labels and our owner', meta: { labels: ours, ownerReferences: [ref()] }, owner: np, ours: true },
    { why: 'our labels, owner reference removed by hand (repaired)', meta: { labels: ours }, owner: np, ours: true },
    { why: 'our owner reference, labels removed by hand (repaired)', meta: { labels: { app: 'x' }, ownerReferences: [ref()] }, owner: np, ours: true },
    { why: 'our labels, owned by an earlier NodePool of that name', meta: { labels: ours, ownerReferences: [ref({ uid: 'old' })] }, owner: np, ours: true },
    { why: 'our labels, NodePool gone (removal)', meta: { labels: ours, ownerReferences: [ref()] }, ours: true },
    { why: 'no labels, no owner: a user object', meta: { labels: { app: 'x' } }, owner: np, ours: false },
    { why: 'only the output label', meta: { labels: { [OUTPUT_LABEL]: 'true' } }, owner: np, ours: false },
    { why: 'the labels of another target', meta: { labels: { ...ours, [TARGET_LABEL]: 'clusters.other' } }, owner: np, ours: false },
    {
      why: 'our labels but another controller',
      meta: { labels: ours, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }] },
      owner: np,
      ours: false,
    },
    { why: 'an earlier NodePool of that name without our labels', meta: { ownerReferences: [ref({ uid: 'old' })] }, owner: np, ours: false },
    { why: 'cluster target: our labels', meta: { labels: { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: 'cluster' } }, target: { kind: 'Cluster' }, ours: true },
    {
      why: 'cluster target: a NodePool owner is not ours',
      meta: { labels: { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: 'cluster' }, ownerReferences: [ref()] },
      target: { kind: 'Cluster' },
      ours: false,
    },
  ];
  for (const t of cases) {
    it(`${t.ours ? 'ours' : 'not ours'}: ${t.why}`, () => {
      const why = foreignReason({ metadata: t.meta }, t.target ?? NP, t.owner);
      expect(why === undefined, why).to.equal(t.ours);
    });
  }

  it('names what is missing or who controls the object', () => {
    expect(foreignReason({ metadata: {} }, NP, np)).to.equal(`it lacks the labels ${OUTPUT_LABEL}=true and ${TARGET_LABEL}=clusters.workers`);
    expect(
      foreignReason({ metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }] } }, NP, np),
    ).to.equal('its controller is Deployment web');
  });
});

describe('reconcileTarget: objects under an output name that are not ours', () => {
  for (const kind of ['ConfigMap', 'Secret'] as const) {
    it(`leaves a user's ${kind} byte for byte, reports OutputNameConflict naming it, and publishes once the name is free`, async () => {
      const c = new FakeCluster();
      seed(c, { credentials: 'pw-1' });
      c.put(usersOwn(kind));
      const theirs = c.find(kind, NS, OUT);
      const d = deps(c);
      const s = await reconcileTarget(d, NP);

      // Nothing of the output is written: neither the object in the way nor the other one.
      expect(c.writes.filter((w) => w.name === OUT)).to.deep.equal([]);
      expect(c.find(kind, NS, OUT)).to.deep.equal(theirs);
      expect(s).to.include({ ok: false, ready: false, degraded: true, result: 'degraded', retryAfterMs: CONFLICT_RETRY_MS });
      // The object in the way is watched like an input: its deletion queues the target.
      expect(s.references).to.deep.include({ kind, namespace: NS, name: OUT });
      const degraded = cond(c, 'Degraded') as Condition;
      expect(degraded).to.include({ status: 'True', reason: 'OutputNameConflict' });
      expect(degraded.message).to.contain(`${kind} ${NS}/${OUT} exists and is not the operator's`).and.contain(`lacks the labels ${OUTPUT_LABEL}=true`);
      expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'OutputNameConflict' });
      expect(cond(c, 'Ready')?.message).to.equal("an object the operator does not own holds the output's name; nothing is written until the name is free");
      expect(statusOf(c).problems?.map((p) => p.reason)).to.deep.equal(['OutputNameConflict']);
      expect(c.events.map((e) => [e.type, e.reason, e.involvedObject.kind, e.message?.includes(`${kind} ${NS}/${OUT}`)])).to.deep.equal([
        ['Warning', 'OutputNameConflict', 'NodePool', true],
        ['Warning', 'OutputNameConflict', 'RenderedMirrorConfig', true],
      ]);

      // While it stays: reported again, still untouched, no new event.
      d.clock.t += 30_000;
      await reconcileTarget(d, NP);
      expect(c.find(kind, NS, OUT)).to.deep.equal(theirs);
      expect(c.events).to.have.length(2);

      // The user deletes it: the next pass publishes both and recovers.
      c.remove(kind, NS, OUT);
      const recovered = await reconcileTarget(d, NP);
      expect(recovered).to.include({ ok: true, ready: true, degraded: false });
      expect(recovered.retryAfterMs).to.equal(undefined);
      expect(c.find('ConfigMap', NS, OUT)?.metadata.labels).to.include({ [OUTPUT_LABEL]: 'true' });
      expect(c.find('Secret', NS, OUT)?.metadata.labels).to.include({ [OUTPUT_LABEL]: 'true' });
      // Each on the NodePool and on the RenderedMirrorConfig (then Delivered=False: the NodePool does not list the output).
      expect(c.events.map((e) => e.reason).filter((r) => r !== 'NotReferenced')).to.deep.equal([
        'OutputNameConflict',
        'OutputNameConflict',
        'Recovered',
        'Recovered',
      ]);
    });
  }

  it('finds an object no cache knows by the create (409), reads it, and leaves it alone', async () => {
    const c = new FakeCluster();
    seed(c);
    c.put(usersOwn('ConfigMap'));
    const theirs = c.find('ConfigMap', NS, OUT);
    c.uncached.add(c.key('ConfigMap', NS, OUT));
    await reconcileTarget(deps(c), NP);
    // One create refused by the server; no update, no delete.
    expect(writesTo(c, 0, 'ConfigMap')).to.deep.equal(['create']);
    expect(c.find('ConfigMap', NS, OUT)).to.deep.equal(theirs);
    expect(cond(c, 'Degraded')).to.include({ reason: 'OutputNameConflict' });
  });

  it('reports both names at once when neither object is known to a cache', async () => {
    const c = new FakeCluster();
    seed(c, { credentials: 'pw-1' });
    c.put(usersOwn('ConfigMap'));
    c.put(usersOwn('Secret'));
    const theirs = [c.find('ConfigMap', NS, OUT), c.find('Secret', NS, OUT)];
    for (const kind of ['ConfigMap', 'Secret']) c.uncached.add(c.key(kind, NS, OUT));
    const s = await reconcileTarget(deps(c), NP);
    // The Secret's create is refused; the ConfigMap is only read.
    expect(c.writes.filter((w) => w.name === OUT).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['create Secret']);
    expect([c.find('ConfigMap', NS, OUT), c.find('Secret', NS, OUT)]).to.deep.equal(theirs);
    expect(cond(c, 'Degraded')?.message).to.contain(`ConfigMap ${NS}/${OUT} exists`).and.contain(`Secret ${NS}/${OUT} exists`);
    expect(s.references).to.deep.include.members([
      { kind: 'ConfigMap', namespace: NS, name: OUT },
      { kind: 'Secret', namespace: NS, name: OUT },
    ]);
  });

  it('leaves an object another controller owns, even with our labels', async () => {
    const c = new FakeCluster();
    seed(c);
    c.put({
      ...usersOwn('ConfigMap'),
      metadata: {
        name: OUT,
        namespace: NS,
        labels: { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: 'clusters.workers' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }],
      } as KubeObject['metadata'],
    });
    const theirs = c.find('ConfigMap', NS, OUT);
    await reconcileTarget(deps(c), NP);
    expect(c.find('ConfigMap', NS, OUT)).to.deep.equal(theirs);
    expect(cond(c, 'Degraded')?.message).to.contain('its controller is Deployment web');
    // Nor is it deleted when the target goes.
    c.remove('NodePool', NS, 'workers');
    await removeTarget(deps(c), NP);
    expect(c.find('ConfigMap', NS, OUT)).to.deep.equal(theirs);
  });

  it("ignores a user's Secret under the output name when the output needs no Secret", async () => {
    const c = new FakeCluster();
    seed(c);
    c.put(usersOwn('Secret'));
    const theirs = c.find('Secret', NS, OUT);
    const s = await reconcileTarget(deps(c), NP);
    expect(s).to.include({ ok: true, ready: true });
    expect(writesTo(c, 0, 'Secret')).to.deep.equal([]);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(theirs);
  });

  it("never deletes a user's objects when the target goes, and deletes ours only as found", async () => {
    const c = new FakeCluster();
    seed(c);
    c.put(usersOwn('Secret'));
    const theirs = c.find('Secret', NS, OUT);
    await reconcileTarget(deps(c), NP);
    c.remove('NodePool', NS, 'workers');
    expect(await removeTarget(deps(c), NP)).to.equal(true);
    expect(c.find('ConfigMap', NS, OUT)).to.equal(undefined);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(theirs);
  });

  it('deletes with uid and resourceVersion preconditions: an object changed or replaced meanwhile stays', async () => {
    const c = new FakeCluster();
    seed(c);
    await reconcileTarget(deps(c), NP);
    const seen = c.find('ConfigMap', NS, OUT) as KubeObject;
    c.edit('ConfigMap', NS, OUT, (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, note: 'edited' };
    });
    let err: unknown;
    await deleteOwn(c, 'ConfigMap', seen).catch((e: unknown) => (err = e));
    expect((err as { code?: number }).code).to.equal(409);
    expect(c.find('ConfigMap', NS, OUT)).to.not.equal(undefined);
    // Deleted and made again (another uid), same resourceVersion or not: still refused.
    const again = c.find('ConfigMap', NS, OUT) as KubeObject;
    c.remove('ConfigMap', NS, OUT);
    c.put({ ...again, metadata: { ...again.metadata, uid: 'another' } });
    err = undefined;
    await deleteOwn(c, 'ConfigMap', again).catch((e: unknown) => (err = e));
    expect((err as { code?: number }).code).to.equal(409);
  });
});

describe('reconcileTarget: the content hash covers the Secret', () => {
  it('changes contentHash and lastRenderedTime when only a password changes, and keeps them when nothing does', async () => {
    const c = new FakeCluster();
    seed(c, { credentials: 'pw-first' });
    const d = deps(c);
    await reconcileTarget(d, NP);
    const first = statusOf(c);
    const cm = c.find('ConfigMap', NS, OUT) as KubeObject;
    const secret = c.find('Secret', NS, OUT) as KubeObject;
    const key = Buffer.from((secret.data as Record<string, string>)[CONTENT_HASH_KEY] ?? '', 'base64').toString('utf8');
    expect(key).to.match(/^[0-9a-f]{64}$/);
    expect(first.contentHash).to.match(/^sha256:[0-9a-f]{64}$/);
    // Not the hash of the ConfigMap alone, and both objects say the same.
    expect(first.contentHash).to.not.equal(`sha256:${contentHash(cm.data as Record<string, string>)}`);
    expect(cm.metadata.annotations?.[CONTENT_HASH_ANNOTATION]).to.equal(first.contentHash);
    expect(secret.metadata.annotations?.[CONTENT_HASH_ANNOTATION]).to.equal(first.contentHash);

    // Same inputs: same hash, nothing written (the key is kept).
    d.clock.t += 60_000;
    const before = c.writes.length;
    await reconcileTarget(d, NP);
    expect(c.writesSince(before)).to.deep.equal([]);
    expect(statusOf(c).contentHash).to.equal(first.contentHash);

    // A rotated password changes the Secret only, and with it the hash and lastRenderedTime.
    d.clock.t += 60_000;
    setPassword(c, 'pw-second');
    await reconcileTarget(d, NP);
    const second = statusOf(c);
    expect((c.find('ConfigMap', NS, OUT) as KubeObject).data).to.deep.equal(cm.data);
    expect(second.contentHash).to.not.equal(first.contentHash);
    expect(second.lastRenderedTime).to.equal('2030-01-01T00:02:00Z').and.not.equal(first.lastRenderedTime);
    expect(c.find('ConfigMap', NS, OUT)?.metadata.annotations?.[CONTENT_HASH_ANNOTATION]).to.equal(second.contentHash);
    const stored = c.find('Secret', NS, OUT) as KubeObject;
    expect(stored.metadata.annotations?.[CONTENT_HASH_ANNOTATION]).to.equal(second.contentHash);
    expect(Buffer.from((stored.data as Record<string, string>)[CONTENT_HASH_KEY] ?? '', 'base64').toString('utf8')).to.equal(key);
    // The status never holds anything the password can be guessed from without the key.
    expect(JSON.stringify(second)).to.not.contain('pw-second');
  });

  it('an output without a Secret keeps the plain ConfigMap hash', async () => {
    const c = new FakeCluster();
    seed(c);
    await reconcileTarget(deps(c), NP);
    const cm = c.find('ConfigMap', NS, OUT) as KubeObject;
    expect(statusOf(c).contentHash).to.equal(`sha256:${contentHash(cm.data as Record<string, string>)}`);
  });
});

describe('agent: installs only what hashes to the annotation', () => {
  async function published(): Promise<{ cm: KubeObject; secret: KubeObject }> {
    const c = new FakeCluster();
    seed(c, { credentials: 'pw-1' });
    await reconcileTarget(deps(c), NP);
    return { cm: c.find('ConfigMap', NS, OUT) as KubeObject, secret: c.find('Secret', NS, OUT) as KubeObject };
  }
  const plan = (cm: KubeObject, secret: KubeObject | undefined) =>
    computePlan({
      ...readPublication({ namespace: NS, name: OUT, why: 'test' }, cm as never, secret as never),
      allowedRoots: DEFAULT_ALLOWED_ROOTS,
      owned: [],
    });
  const reasons = (r: ReturnType<typeof plan>): string[] => (r.ok ? [] : r.errors.map((e) => e.reason));

  it('accepts what the operator published', async () => {
    const { cm, secret } = await published();
    expect(reasons(plan(cm, secret))).to.deep.equal([]);
    // And an output without a Secret, whose annotation the operator takes from the render's hash (outputs.ts).
    const c = new FakeCluster();
    seed(c);
    await reconcileTarget(deps(c), NP);
    expect(c.find('Secret', NS, OUT)).to.equal(undefined);
    expect(reasons(plan(c.find('ConfigMap', NS, OUT) as KubeObject, undefined))).to.deep.equal([]);
  });

  it('refuses a tampered annotation, ConfigMap data or Secret data (ContentHashMismatch)', async () => {
    const { cm, secret } = await published();
    const annotation = structuredClone(cm);
    (annotation.metadata.annotations as Record<string, string>)[CONTENT_HASH_ANNOTATION] = `sha256:${'0'.repeat(64)}`;
    expect(reasons(plan(annotation, secret))).to.deep.equal(['ContentHashMismatch']);
    const data = structuredClone(cm);
    (data.data as Record<string, string>)['registries.conf'] += '# edited\n';
    expect(reasons(plan(data, secret))).to.deep.equal(['ContentHashMismatch']);
    const s = structuredClone(secret);
    const [first] = Object.keys(s.data as object).filter((k) => k !== CONTENT_HASH_KEY);
    const value = Buffer.from((s.data as Record<string, string>)[first as string] ?? '', 'base64').toString('utf8');
    (s.data as Record<string, string>)[first as string] = Buffer.from(`${value}\n`).toString('base64');
    const r = plan(cm, s);
    expect(reasons(r)).to.deep.equal(['ContentHashMismatch']);
    // Names the objects, never a value.
    if (!r.ok) expect(r.errors[0]?.message).to.contain(`ConfigMap ${NS}/${OUT}`).and.contain(`Secret ${NS}/${OUT}`).and.not.contain('pw-1');
  });

  it('checks a ConfigMap-only publication against the plain ConfigMap hash, and skips one without the annotation', () => {
    const data = { 'files.json': '{}' };
    const cm = (hash: string | undefined): KubeObject =>
      ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: OUT, namespace: NS, annotations: hash ? { [CONTENT_HASH_ANNOTATION]: hash } : {} },
        data,
      }) as KubeObject;
    expect(reasons(plan(cm(outputContentHash(data, undefined)), undefined))).to.deep.equal([]);
    expect(reasons(plan(cm('sha256:0'), undefined))).to.deep.equal(['ContentHashMismatch']);
    expect(reasons(plan(cm(undefined), undefined))).to.deep.equal([]);
  });
});

describe('Controller (in-memory API): outputs follow their watch events', function () {
  this.timeout(10_000);
  let c: FakeCluster;
  let ctl: Controller;

  async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  beforeEach(async () => {
    c = new FakeCluster();
    seed(c, { credentials: 'pw-1' });
    // No resync within the test: only watch events can cause a pass.
    ctl = new Controller(
      { operatorNamespace: OPERATOR_NS, identity: 'test', concurrency: 2, resyncPeriodMs: 0, targets: 'nodepools' },
      { informerApi: c, writer: c, hypershiftServed: async () => true, logger: silentLogger(), metrics: new ControllerMetrics({ processMetrics: false }) },
    );
  });

  afterEach(() => ctl.stop());

  it('repairs a tampered content hash annotation and a removed owner reference on their watch events', async () => {
    await ctl.start();
    const hash = await until('Ready', () => (cond(c, 'Ready')?.status === 'True' ? statusOf(c).contentHash : undefined));
    await until('an idle controller', () => ctl.idle());
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      c.edit(kind, NS, OUT, (o) => ((o.metadata.annotations as Record<string, string>)[CONTENT_HASH_ANNOTATION] = 'sha256:tampered'));
      await until(`the ${kind} annotation repaired`, () => c.find(kind, NS, OUT)?.metadata.annotations?.[CONTENT_HASH_ANNOTATION] === hash);
      c.edit(kind, NS, OUT, (o) => delete (o.metadata as { ownerReferences?: unknown }).ownerReferences);
      await until(
        `the ${kind} owner reference repaired`,
        () => (c.find(kind, NS, OUT)?.metadata as { ownerReferences?: unknown[] } | undefined)?.ownerReferences?.length === 1,
      );
    }
  });

  it("converges by itself once the user deletes their object holding the output's name", async () => {
    c.put(usersOwn('ConfigMap'));
    const theirs = c.find('ConfigMap', NS, OUT);
    await ctl.start();
    await until('OutputNameConflict', () => cond(c, 'Degraded')?.reason === 'OutputNameConflict');
    // (Not idle: a retry waits, CONFLICT_RETRY_MS away.)
    await new Promise((r) => setTimeout(r, 50));
    expect(c.find('ConfigMap', NS, OUT)).to.deep.equal(theirs);
    c.remove('ConfigMap', NS, OUT);
    await until('Ready', () => cond(c, 'Ready')?.status === 'True');
    expect(c.find('ConfigMap', NS, OUT)?.metadata.labels).to.include({ [OUTPUT_LABEL]: 'true' });
  });
});
