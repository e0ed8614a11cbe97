import { expect } from 'chai';
import type { KubeObject } from '../../../src/model/source.js';
import { contentHash } from '../../../src/pipeline.js';
import type { WatchFn } from '../../../src/controller/informer.js';
import { collectionPath, type Resource, type Selectors } from '../../../src/controller/kube.js';
import { silentLogger } from '../../../src/controller/log.js';
import { CachesNotFilled, ClusterSources, DATA_UNKNOWN, type SourceEvent } from '../../../src/controller/sources.js';
import { noteWritten, storedAfterWrite } from '../../../src/controller/outputs.js';

interface Watcher {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  cb: (phase: string, obj: unknown) => void;
}

/** Lists and watches over an in-memory object set, with the selectors the controller uses. */
class FakeApi {
  objects: KubeObject[] = [];
  lists: Array<{ plural: string } & Selectors> = [];
  watchers: Watcher[] = [];
  rv = 1;
  /** Lists this answers with 403 Forbidden, as RBAC would. */
  forbidden: (plural: string, sel: Selectors) => boolean = () => false;

  lister(r: Resource, sel: Selectors) {
    return async () => {
      this.lists.push({ plural: r.plural, ...sel });
      if (this.forbidden(r.plural, sel)) {
        throw Object.assign(
          new Error(`${r.plural} is forbidden: User "system:serviceaccount:ops:op" cannot list resource "${r.plural}" in the namespace "${sel.namespace}"`),
          { code: 403 },
        );
      }
      const items = this.objects.filter((o) => inCollection(o, r, sel.namespace) && matches(o, sel.labelSelector, sel.fieldSelector));
      return { metadata: { resourceVersion: String(this.rv) }, items: structuredClone(items) };
    };
  }

  watch: WatchFn = async (path, query, cb) => {
    this.watchers.push({ path, query, cb });
    return new AbortController();
  };

  /** Stores a change and sends it to every watch whose collection and selectors match. */
  change(phase: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects = this.objects.filter(
      (o) => !(o.kind === obj.kind && o.metadata.namespace === obj.metadata.namespace && o.metadata.name === obj.metadata.name),
    );
    if (phase !== 'DELETED') this.objects.push(stored);
    for (const w of this.watchers) {
      const label = w.query.labelSelector as string | undefined;
      const field = w.query.fieldSelector as string | undefined;
      if (pathMatches(w.path, stored) && matches(stored, label, field)) w.cb(phase, structuredClone(stored));
    }
  }
}

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  NodePool: 'nodepools',
  HostedCluster: 'hostedclusters',
  ImageDigestMirrorSet: 'imagedigestmirrorsets',
  RenderedMirrorConfig: 'renderedmirrorconfigs',
};

function inCollection(o: KubeObject, r: Resource, ns: string | undefined): boolean {
  return PLURALS[o.kind] === r.plural && (!ns || o.metadata.namespace === ns);
}

function pathMatches(path: string, o: KubeObject): boolean {
  const plural = PLURALS[o.kind];
  if (!path.endsWith(`/${plural}`)) return false;
  const m = /\/namespaces\/([^/]+)\//.exec(path);
  return !m || m[1] === o.metadata.namespace;
}

function matches(o: KubeObject, label: string | undefined, field: string | undefined): boolean {
  const labels = o.metadata.labels ?? {};
  if (label?.startsWith('!') && Object.hasOwn(labels, label.slice(1))) return false;
  if (label && !label.startsWith('!') && !Object.hasOwn(labels, label)) return false;
  if (field && field !== `metadata.name=${o.metadata.name}`) return false;
  return true;
}

function obj(kind: string, ns: string | undefined, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  const apiVersion =
    kind === 'ConfigMap' || kind === 'Secret'
      ? 'v1'
      : kind === 'ImageDigestMirrorSet' || kind === 'RenderedMirrorConfig'
        ? 'imagemirror.io/v1alpha1'
        : 'hypershift.openshift.io/v1beta1';
  return { apiVersion, kind, ...extra, metadata: { name, ...(ns ? { namespace: ns } : {}), ...(extra.metadata ?? {}) } } as KubeObject;
}

describe('ClusterSources', () => {
  let api: FakeApi;
  let events: SourceEvent[];
  let sources: ClusterSources;

  beforeEach(async () => {
    api = new FakeApi();
    api.objects.push(
      obj('NodePool', 'clusters', 'workers', { metadata: { name: 'workers', generation: 1, labels: { a: '1' } } }),
      obj('ConfigMap', 'clusters', 'mirrors', { data: { 'idms.yaml': '' } }),
      obj('ConfigMap', 'clusters', 'workers-image-mirrors', { metadata: { name: 'workers-image-mirrors', labels: { 'imagemirror.io/output': 'true' } } }),
      obj('ConfigMap', 'elsewhere', 'ca', { data: { 'ca.crt': 'pem' } }),
      obj('ConfigMap', 'elsewhere', 'unrelated', { data: {} }),
      obj('Secret', 'ops', 'creds', { data: { password: 'c2VjcmV0' } }),
      obj('Secret', 'ops', 'other', { data: {} }),
      obj('ImageDigestMirrorSet', undefined, 'corp', { metadata: { name: 'corp', generation: 1 } }),
    );
    events = [];
    sources = new ClusterSources({ api, operatorNamespace: 'ops', hypershift: true, logger: silentLogger(), onEvent: (e) => events.push(e) });
    sources.start();
    expect(await sources.waitForSync(1000)).to.equal(true);
  });

  afterEach(() => sources.stop());

  it('lists no ConfigMaps or Secrets up front except our own outputs', () => {
    const coreLists = api.lists.filter((l) => l.plural === 'configmaps' || l.plural === 'secrets');
    expect(coreLists).to.deep.equal([
      { plural: 'configmaps', labelSelector: 'imagemirror.io/output' },
      { plural: 'secrets', labelSelector: 'imagemirror.io/output' },
    ]);
    expect(sources.get('ConfigMap', 'clusters', 'mirrors')).to.equal(undefined);
    expect(sources.outputConfigMap('clusters', 'workers-image-mirrors')?.metadata.name).to.equal('workers-image-mirrors');
  });

  it('answers a lookup of our own output with the labelled object (gather skips it; it is never "missing")', async () => {
    await sources.ensure([{ kind: 'ConfigMap', namespace: 'clusters', name: 'workers-image-mirrors' }]);
    expect(sources.get('ConfigMap', 'clusters', 'workers-image-mirrors')?.metadata.labels).to.deep.equal({ 'imagemirror.io/output': 'true' });
  });

  it('caches a NodePool namespace whole (without outputs) once a ConfigMap there is referenced', async () => {
    expect(await sources.ensure([{ kind: 'ConfigMap', namespace: 'clusters', name: 'mirrors' }])).to.equal(true);
    expect(api.lists.at(-1)).to.deep.equal({ plural: 'configmaps', namespace: 'clusters', labelSelector: '!imagemirror.io/output' });
    expect(sources.get('ConfigMap', 'clusters', 'mirrors')?.data).to.deep.equal({ 'idms.yaml': '' });
    // Another ConfigMap of the same namespace needs no new cache.
    expect(await sources.ensure([{ kind: 'ConfigMap', namespace: 'clusters', name: 'absent' }])).to.equal(false);
    expect(sources.watchCounts()).to.include({ namespaces: 1, objects: 0 });
  });

  it('watches a Secret, and a ConfigMap outside those namespaces, one object at a time', async () => {
    await sources.ensure([
      { kind: 'Secret', namespace: 'ops', name: 'creds' },
      { kind: 'ConfigMap', namespace: 'elsewhere', name: 'ca' },
    ]);
    expect(api.lists.slice(-2)).to.deep.equal([
      { plural: 'secrets', namespace: 'ops', fieldSelector: 'metadata.name=creds' },
      { plural: 'configmaps', namespace: 'elsewhere', fieldSelector: 'metadata.name=ca' },
    ]);
    expect(sources.get('Secret', 'ops', 'creds')?.data).to.deep.equal({ password: 'c2VjcmV0' });
    expect(sources.get('Secret', 'ops', 'other')).to.equal(undefined);
    expect(sources.get('ConfigMap', 'elsewhere', 'unrelated')).to.equal(undefined);

    events.length = 0;
    api.change('MODIFIED', obj('Secret', 'ops', 'creds', { data: { password: 'bmV3' } }));
    api.change('MODIFIED', obj('Secret', 'ops', 'other', { data: { x: 'eA==' } }));
    expect(events).to.deep.equal([{ type: 'input', kind: 'Secret', namespace: 'ops', name: 'creds' }]);
  });

  it('throws CachesNotFilled with the answer of the API as soon as the list of a referenced object is refused, without waiting out the timeout', async () => {
    api.forbidden = (plural, sel) => plural === 'secrets' && sel.namespace === 'locked';
    api.objects.push(obj('Secret', 'locked', 'creds', { data: {} }));
    const started = Date.now();
    let err: unknown;
    try {
      await sources.ensure([
        { kind: 'Secret', namespace: 'locked', name: 'creds' },
        { kind: 'Secret', namespace: 'ops', name: 'creds' },
      ]);
    } catch (e) {
      err = e;
    }
    expect(Date.now() - started).to.be.below(5_000); // the default wait is 10 s
    expect(err).to.be.instanceOf(CachesNotFilled);
    const unread = (err as CachesNotFilled).unread;
    expect(unread.map((u) => u.ref)).to.deep.equal([{ kind: 'Secret', namespace: 'locked', name: 'creds' }]);
    expect(unread[0]?.why).to.match(/^403: secrets is forbidden: User "system:serviceaccount:ops:op" cannot list/);
    // The readable one was cached meanwhile.
    expect(sources.get('Secret', 'ops', 'creds')?.data).to.deep.equal({ password: 'c2VjcmV0' });
  });

  it('stops per-object watches nothing references any more, and keeps those still in use', async () => {
    await sources.ensure([
      { kind: 'Secret', namespace: 'ops', name: 'creds' },
      { kind: 'Secret', namespace: 'ops', name: 'other' },
      { kind: 'ConfigMap', namespace: 'clusters', name: 'mirrors' },
    ]);
    const stopped = await sources.collectGarbage((ref) => ref.name === 'creds');
    expect(stopped).to.equal(1);
    expect(sources.watchCounts()).to.include({ namespaces: 1, objects: 1 });
    expect(sources.get('Secret', 'ops', 'other')).to.equal(undefined);
  });

  it('answers with our own writes until the cache shows them, then with the cache again', () => {
    const cached = sources.outputConfigMap('clusters', 'workers-image-mirrors') as KubeObject;
    // Listed outputs are digested too.
    expect((cached as { contentDigest?: string }).contentDigest).to.equal(`sha256:${contentHash({})}`);
    const written = structuredClone(cached);
    written.metadata.resourceVersion = '9001';
    written.data = { k: 'new' };
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', cached, written);
    // The watch has not delivered the write yet: a pass must see (and update from) what was written.
    expect(sources.outputConfigMap('clusters', 'workers-image-mirrors')?.metadata.resourceVersion).to.equal('9001');
    // The watch catches up (any newer version): the cache is the truth again, and the write is
    // forgotten at once (it holds a whole output), before any pass asks for the object.
    expect(sources.pendingWrites()).to.equal(1);
    api.change('MODIFIED', { ...written, metadata: { ...written.metadata } });
    expect(sources.pendingWrites()).to.equal(0);
    const now = sources.outputConfigMap('clusters', 'workers-image-mirrors');
    expect(now?.metadata.resourceVersion).to.not.equal(cached.metadata.resourceVersion);
    // Outputs are cached as digests of their data, never the data itself.
    expect(now?.data).to.equal(undefined);
    expect((now as { contentDigest?: string }).contentDigest).to.equal(`sha256:${contentHash({ k: 'new' })}`);

    // A create: nothing cached yet, the written object answers; a delete: the cached object is hidden.
    const created = obj('Secret', 'clusters', 'workers-image-mirrors', { metadata: { name: 'workers-image-mirrors', resourceVersion: '77' } });
    sources.recordWrite('Secret', 'clusters', 'workers-image-mirrors', undefined, created);
    expect(sources.outputSecret('clusters', 'workers-image-mirrors')?.metadata.resourceVersion).to.equal('77');
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', now, undefined);
    expect(sources.outputConfigMap('clusters', 'workers-image-mirrors')).to.equal(undefined);
  });

  it('takes the watch event of a write of ours (same resourceVersion) from the write, without digesting it again', () => {
    const cached = sources.outputConfigMap('clusters', 'workers-image-mirrors') as KubeObject;
    const sent = { k: 'ours' };
    const written = obj('ConfigMap', 'clusters', 'workers-image-mirrors', {
      metadata: { name: 'workers-image-mirrors', resourceVersion: '500', labels: { 'imagemirror.io/output': 'true' } },
      data: sent,
    });
    // A stand-in digest (not the data's hash): it shows that the event's data was not hashed.
    noteWritten(written, sent, 'sha256:stand-in');
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', cached, written);
    // The same version on the watch, its data parsed anew (equal, not the same objects).
    api.rv = 499;
    api.change('MODIFIED', { ...written, data: JSON.parse(JSON.stringify(sent)) });
    expect(sources.pendingWrites()).to.equal(0);
    const now = sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string; metadata: { resourceVersion?: string } };
    expect(now.metadata.resourceVersion).to.equal('500');
    expect(now.contentDigest).to.equal('sha256:stand-in');
    // Any other version is digested from its own data.
    api.change('MODIFIED', { ...written, data: { k: 'edited' } });
    expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal(
      `sha256:${contentHash({ k: 'edited' })}`,
    );
  });

  it('digests the watch event of a write of ours anew when the server stored other data than was sent (metadata-only answer)', () => {
    const cached = sources.outputConfigMap('clusters', 'workers-image-mirrors') as KubeObject;
    const sent = obj('ConfigMap', 'clusters', 'workers-image-mirrors', {
      metadata: { name: 'workers-image-mirrors', labels: { 'imagemirror.io/output': 'true' } },
      data: { k: 'ours' },
    });
    // What the real writer gets back: the stored metadata only.
    const answer = {
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadata',
      metadata: { name: 'workers-image-mirrors', namespace: 'clusters', resourceVersion: '700', labels: { 'imagemirror.io/output': 'true' } },
    } as unknown as KubeObject;
    const stored = storedAfterWrite(sent, answer);
    expect(stored.kind).to.equal('ConfigMap');
    expect(stored.data).to.equal(sent.data);
    expect(stored.metadata.resourceVersion).to.equal('700');
    noteWritten(stored, sent.data as Record<string, string>, 'sha256:stand-in');
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', cached, stored);
    expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal('sha256:stand-in');
    // An admission webhook changed the data of that very version: the event says so, and it is hashed.
    api.rv = 699;
    api.change('MODIFIED', { ...stored, data: { k: 'changed by a webhook' } });
    expect(sources.pendingWrites()).to.equal(0);
    expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal(
      `sha256:${contentHash({ k: 'changed by a webhook' })}`,
    );
  });

  it('digests the answer to an output write from the digest of what was sent, unless the server stored other data', () => {
    const sent = { 'registries.conf': 'x'.repeat(1000), k: 'v' };
    const answer = (data: Record<string, string>, rv: string): KubeObject =>
      obj('ConfigMap', 'clusters', 'workers-image-mirrors', { metadata: { name: 'workers-image-mirrors', resourceVersion: rv }, data });
    // A stand-in digest (not the data's hash): it shows that the answer was not hashed again.
    const listed = sources.outputConfigMap('clusters', 'workers-image-mirrors');
    const same = answer({ ...sent }, '600');
    noteWritten(same, sent, 'sha256:as-sent');
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', listed, same);
    expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal('sha256:as-sent');
    // An admission webhook changed the data: its own hash.
    const mutated = answer({ ...sent, k: 'changed by a webhook' }, '601');
    noteWritten(mutated, sent, 'sha256:as-sent');
    sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', listed, mutated);
    expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal(
      `sha256:${contentHash({ ...sent, k: 'changed by a webhook' })}`,
    );
    // A key added, or one dropped: its own hash too.
    for (const [data, rv] of [
      [{ ...sent, extra: '' }, '602'],
      [{ k: 'v' }, '603'],
    ] as const) {
      const other = answer(data, rv);
      noteWritten(other, sent, 'sha256:as-sent');
      sources.recordWrite('ConfigMap', 'clusters', 'workers-image-mirrors', listed, other);
      expect((sources.outputConfigMap('clusters', 'workers-image-mirrors') as { contentDigest?: string }).contentDigest).to.equal(
        `sha256:${contentHash(data)}`,
      );
    }
  });

  it('forwards spec changes of our objects but not status-only updates', () => {
    events.length = 0;
    api.change('MODIFIED', obj('ImageDigestMirrorSet', undefined, 'corp', { metadata: { name: 'corp', generation: 1 }, status: { conditions: [] } }));
    expect(events).to.deep.equal([]);
    api.change('MODIFIED', obj('ImageDigestMirrorSet', undefined, 'corp', { metadata: { name: 'corp', generation: 2 } }));
    expect(
      events.map((e) =>
        e.type === 'clusterObject' ? [e.type, e.kind, e.event, e.obj.metadata.name, e.obj.metadata.generation, e.previous?.metadata.generation] : e,
      ),
    ).to.deep.equal([['clusterObject', 'IDMS', 'update', 'corp', 2, 1]]);
  });

  it('forwards NodePool label changes (selectors) but not status-only updates', () => {
    events.length = 0;
    const np = (labels: Record<string, string>, status?: unknown): KubeObject =>
      obj('NodePool', 'clusters', 'workers', { metadata: { name: 'workers', generation: 1, labels }, ...(status ? { status } : {}) });
    api.change('MODIFIED', np({ a: '1' }, { replicas: 3 }));
    expect(events).to.deep.equal([]);
    api.change('MODIFIED', np({ a: '2' }));
    expect(events).to.deep.equal([{ type: 'input', kind: 'NodePool', namespace: 'clusters', name: 'workers' }]);
  });

  it('reports changes of our outputs with the object, for drift checks', () => {
    events.length = 0;
    const out = obj('ConfigMap', 'clusters', 'workers-image-mirrors', {
      metadata: { name: 'workers-image-mirrors', labels: { 'imagemirror.io/output': 'true' } },
      data: { k: 'edited' },
    });
    api.change('MODIFIED', out);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ type: 'output', kind: 'ConfigMap', event: 'update' });
  });
});

/** FakeApi with the real controller's metadata-only watch of output ConfigMaps and its read of a whole one. */
class MetadataFakeApi extends FakeApi {
  reads: string[] = [];
  readFails = false;

  metadataWatch: WatchFn = async (path, query, cb) => {
    const partial = (phase: string, o: unknown): void => {
      const { metadata } = o as KubeObject;
      cb(phase, { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata });
    };
    this.watchers.push({ path, query, cb: partial });
    return new AbortController();
  };

  readOutputConfigMap = async (namespace: string, name: string): Promise<KubeObject | undefined> => {
    this.reads.push(`${namespace}/${name}`);
    if (this.readFails) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    const found = this.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === namespace && o.metadata.name === name);
    return found && structuredClone(found);
  };
}

describe('ClusterSources with a metadata-only watch of the output ConfigMaps', () => {
  let api: MetadataFakeApi;
  let events: SourceEvent[];
  let sources: ClusterSources;
  const NAME = 'workers-image-mirrors';
  const output = (data: Record<string, string>, extra: Record<string, string> = {}): KubeObject =>
    obj('ConfigMap', 'clusters', NAME, { metadata: { name: NAME, labels: { 'imagemirror.io/output': 'true', ...extra } }, data });
  const digestOf = (): string | undefined => (sources.outputConfigMap('clusters', NAME) as { contentDigest?: string } | undefined)?.contentDigest;
  const settled = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

  beforeEach(async () => {
    api = new MetadataFakeApi();
    api.objects.push(obj('NodePool', 'clusters', 'workers', { metadata: { name: 'workers', generation: 1 } }), output({ config: 'mc-1', k: 'listed' }));
    events = [];
    sources = new ClusterSources({
      api,
      operatorNamespace: 'ops',
      hypershift: true,
      logger: silentLogger(),
      onEvent: (e) => events.push(e),
      readBackDelayMs: 0,
    });
    sources.start();
    expect(await sources.waitForSync(1000)).to.equal(true);
    events.length = 0;
  });

  afterEach(() => sources.stop());

  it('lists whole (the digest of the listed data), and watches the outputs with the metadata-only watch', () => {
    expect(digestOf()).to.equal(`sha256:${contentHash({ config: 'mc-1', k: 'listed' })}`);
    const outputWatches = api.watchers.filter((w) => w.path === '/api/v1/configmaps');
    expect(outputWatches).to.have.length(1);
  });

  it('takes the metadata-only event of a write of ours from the write, reading nothing', () => {
    const cached = sources.outputConfigMap('clusters', NAME) as KubeObject;
    const sent = { config: 'mc-2', k: 'ours' };
    const stored = { ...output(sent), metadata: { ...output(sent).metadata, resourceVersion: '500' } };
    noteWritten(stored, sent, 'sha256:stand-in');
    sources.recordWrite('ConfigMap', 'clusters', NAME, cached, stored);
    api.rv = 499;
    api.change('MODIFIED', stored);
    expect(api.reads).to.deep.equal([]);
    expect(sources.pendingWrites()).to.equal(0);
    expect(digestOf()).to.equal('sha256:stand-in');
    expect(events.map((e) => e.type)).to.deep.equal(['output']);
  });

  it('reads a change made by someone else back whole before its target hears of it; meanwhile the output counts as differing', async () => {
    const before = sources.outputConfigMap('clusters', NAME) as { configHash?: string };
    api.change('MODIFIED', output({ config: 'mc-1', k: 'edited by hand' }));
    // Until the read answers: no event, the data unknown (a pass would write), the config hash as it was.
    expect(events).to.deep.equal([]);
    expect(digestOf()).to.equal(DATA_UNKNOWN);
    expect((sources.outputConfigMap('clusters', NAME) as { configHash?: string }).configHash).to.equal(before.configHash);
    await settled();
    expect(api.reads).to.deep.equal([`clusters/${NAME}`]);
    expect(digestOf()).to.equal(`sha256:${contentHash({ config: 'mc-1', k: 'edited by hand' })}`);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ type: 'output', kind: 'ConfigMap', event: 'update' });
    // The next version (a label added by hand) is read again: its data may have changed too.
    api.change('MODIFIED', output({ config: 'mc-1', k: 'edited by hand' }, { team: 'a' }));
    await settled();
    expect(api.reads).to.have.length(2);
    expect(digestOf()).to.equal(`sha256:${contentHash({ config: 'mc-1', k: 'edited by hand' })}`);
  });

  it("the event of a write of ours that comes before the write's answer: the answer tells it, nothing is read", async () => {
    const cached = sources.outputConfigMap('clusters', NAME) as KubeObject;
    const sent = { config: 'mc-2', k: 'ours' };
    api.rv = 499;
    api.change('MODIFIED', output(sent));
    expect(digestOf()).to.equal(DATA_UNKNOWN);
    // The answer (version 500) arrives now, before the delayed read.
    const stored = { ...output(sent), metadata: { ...output(sent).metadata, resourceVersion: '500' } };
    noteWritten(stored, sent, 'sha256:stand-in');
    sources.recordWrite('ConfigMap', 'clusters', NAME, cached, stored);
    expect(digestOf()).to.equal('sha256:stand-in');
    await settled();
    expect(api.reads).to.deep.equal([]);
    expect(digestOf()).to.equal('sha256:stand-in');
    expect(events).to.have.length(1);
    expect((events[0] as { obj?: { contentDigest?: string } }).obj?.contentDigest).to.equal('sha256:stand-in');
  });

  it('a create whose event came before its answer, then deleted: the output is gone, not brought back by the write', async () => {
    api.change('DELETED', output({}));
    const sent = { config: 'mc-3', k: 'created' };
    api.rv = 599;
    api.change('ADDED', output(sent));
    const stored = { ...output(sent), metadata: { ...output(sent).metadata, resourceVersion: '600' } };
    noteWritten(stored, sent, 'sha256:created');
    sources.recordWrite('ConfigMap', 'clusters', NAME, undefined, stored);
    expect(digestOf()).to.equal('sha256:created');
    api.change('DELETED', stored);
    expect(sources.outputConfigMap('clusters', NAME)).to.equal(undefined);
    await settled();
    expect(sources.outputConfigMap('clusters', NAME)).to.equal(undefined);
    expect(api.reads).to.deep.equal([]);
  });

  it('a read that fails leaves the data unknown and tells the target, whose pass then writes the output again', async () => {
    api.readFails = true;
    api.change('MODIFIED', output({ config: 'mc-1', k: 'edited by hand' }));
    await settled();
    expect(digestOf()).to.equal(DATA_UNKNOWN);
    expect(events).to.have.length(1);
  });

  it('a delete is told at once, with nothing read', () => {
    api.change('DELETED', output({}));
    expect(api.reads).to.deep.equal([]);
    expect(events.map((e) => (e.type === 'output' ? e.event : e.type))).to.deep.equal(['delete']);
  });
});

describe('ClusterSources memory', () => {
  it('keeps no managedFields, and one copy of the status lists equal across RenderedMirrorConfigs', async () => {
    const api = new FakeApi();
    const managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }];
    const warnings = [{ code: 'HostWideWidening', renderer: 'containerd', source: 'registry.example/team', message: 'containerd tries ...' }];
    const rmc = (name: string, extra: Record<string, unknown> = {}): KubeObject =>
      obj('RenderedMirrorConfig', 'clusters', name, {
        metadata: { name, managedFields } as KubeObject['metadata'],
        status: { contentHash: `sha256:${name}`, containerdWarnings: structuredClone(warnings), ...extra },
      });
    api.objects.push(
      obj('NodePool', 'clusters', 'workers', { metadata: { name: 'workers', generation: 1, managedFields } as KubeObject['metadata'] }),
      rmc('a'),
      rmc('b'),
    );
    const sources = new ClusterSources({ api, operatorNamespace: 'ops', hypershift: true, logger: silentLogger(), onEvent: () => {} });
    sources.start();
    try {
      expect(await sources.waitForSync(1000)).to.equal(true);
      expect(sources.get('NodePool', 'clusters', 'workers')?.metadata).to.not.have.property('managedFields');
      const a = sources.status('clusters', 'a') as KubeObject;
      const b = sources.status('clusters', 'b') as KubeObject;
      expect(a.metadata).to.not.have.property('managedFields');
      const list = (o: KubeObject): unknown => (o.status as { containerdWarnings: unknown }).containerdWarnings;
      expect(list(a)).to.deep.equal(warnings);
      expect(list(a)).to.equal(list(b));
      // Per target fields stay apart; a watch event and a write of ours are compacted the same way.
      expect((a.status as { contentHash: string }).contentHash).to.equal('sha256:a');
      api.change('MODIFIED', rmc('b', { sources: 1 }));
      expect(list(sources.status('clusters', 'b') as KubeObject)).to.equal(list(a));
      const written = structuredClone(rmc('a', { sources: 2 }));
      written.metadata.resourceVersion = '9001';
      sources.recordWrite('RenderedMirrorConfig', 'clusters', 'a', a, written);
      const seen = sources.status('clusters', 'a') as KubeObject;
      expect(seen.metadata.resourceVersion).to.equal('9001');
      expect(seen.metadata).to.not.have.property('managedFields');
      expect(list(seen)).to.equal(list(a));
    } finally {
      await sources.stop();
    }
  });
});

describe('collectionPath', () => {
  it('builds core and group paths', () => {
    const cm: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
    const np: Resource = { group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools', kind: 'NodePool', namespaced: true };
    expect(collectionPath(cm, 'x')).to.equal('/api/v1/namespaces/x/configmaps');
    expect(collectionPath(np)).to.equal('/apis/hypershift.openshift.io/v1beta1/nodepools');
  });
});
