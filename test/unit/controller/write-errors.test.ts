// Writes the API server refuses for good (422, 400, 413) and output Secrets of
// another type are problems of the target: its status says Degraded with the
// object, field and value, an Event is recorded, the pass ends (no retry
// loop), the last good output stays, and nothing of the user's is replaced or
// deleted. Derived names, labels and keys are checked before writing.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node';
import { expect } from 'chai';
import { OUTPUT_LABEL, TARGET_LABEL, targetLabelValue } from '../../../src/contract.js';
import type { Condition } from '../../../src/controller/conditions.js';
import { toEvent } from '../../../src/controller/events.js';
import { silentLogger } from '../../../src/controller/log.js';
import { type ReconcileDeps, reconcileTarget } from '../../../src/controller/reconcile.js';
import { derivedNamesProblem, refusedWrite, secretTypeProblem } from '../../../src/controller/write-errors.js';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { FakeCluster } from './fake-cluster.js';

const NS = 'clusters';
const OPERATOR_NS = 'image-mirror-system';
const NP: Target = { kind: 'NodePool', namespace: NS, name: 'workers' };
const OUT = 'workers-image-mirrors';

/** What the API server answers to an invalid object (metav1.Status), as client-node throws it. */
function invalid(kind: string, name: string, field: string, message: string): ApiException<string> {
  const status = {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message: `${kind} "${name}" is invalid: ${field}: ${message}`,
    reason: 'Invalid',
    details: { name, kind: kind.toLowerCase(), causes: [{ reason: 'FieldValueInvalid', message, field }] },
    code: 422,
  };
  return new ApiException(422, 'Unprocessable Entity', JSON.stringify(status), {});
}

function seed(c: FakeCluster, withCredentials = false): void {
  c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'demo', namespace: NS }, spec: {} });
  c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: 'workers', namespace: NS }, spec: { clusterName: 'demo' } });
  c.put({
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'ImageDigestMirrorSet',
    metadata: { name: 'corp' },
    spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: ['mirror.example.net/hub'] }] },
  });
  if (!withCredentials) return;
  c.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds', namespace: OPERATOR_NS },
    type: 'kubernetes.io/basic-auth',
    data: { username: Buffer.from('robot').toString('base64'), password: Buffer.from('pw-77a1').toString('base64') },
  });
  c.put({
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'RegistryAccess',
    metadata: { name: 'creds' },
    spec: { hosts: [{ host: 'mirror.example.net', credentialsSecretRef: { namespace: OPERATOR_NS, name: 'creds' } }] },
  });
}

function deps(c: FakeCluster): ReconcileDeps {
  return {
    sources: c,
    writer: c,
    operatorNamespace: OPERATOR_NS,
    logger: silentLogger(),
    now: () => new Date('2030-01-01T00:00:00Z'),
    emit: async (e) => void (await c.createEvent(toEvent(e, 'test', new Date('2030-01-01T00:00:00Z')))),
  };
}

function rmcStatus(c: FakeCluster): { contentHash?: string; problems?: unknown[] } {
  return (c.find('RenderedMirrorConfig', NS, 'workers')?.status ?? {}) as { contentHash?: string; problems?: unknown[] };
}

function cond(c: FakeCluster, type: string): Condition | undefined {
  return (c.find('RenderedMirrorConfig', NS, 'workers')?.status as { conditions: Condition[] } | undefined)?.conditions.find((x) => x.type === type);
}

describe('refused writes and outputs in the way', () => {
  it('a 422 on the output ConfigMap: Degraded OutputRejected naming object, field, value and why; an Event; the pass ends', async () => {
    const c = new FakeCluster();
    seed(c);
    const d = deps(c);
    await reconcileTarget(d, NP);
    const good = c.find('ConfigMap', NS, OUT);
    const goodHash = rmcStatus(c).contentHash;
    let attempts = 0;
    const replace = c.replaceConfigMap;
    c.replaceConfigMap = async (cm: V1ConfigMap): Promise<V1ConfigMap> => {
      attempts++;
      throw invalid('ConfigMap', cm.metadata?.name ?? '', 'data[registries.conf]', 'Invalid value: "registries.conf": denied by policy corp-review');
    };
    c.edit('ImageDigestMirrorSet', undefined, 'corp', (o) => {
      (o.spec as { imageDigestMirrors: unknown[] }).imageDigestMirrors = [{ source: 'docker.io', mirrors: ['mirror.example.net/hub-v2'] }];
    });
    const summary = await reconcileTarget(d, NP);
    c.replaceConfigMap = replace;
    expect(summary).to.include({ ok: false, ready: false, degraded: true, result: 'degraded' });
    expect(attempts).to.equal(1);
    const degraded = cond(c, 'Degraded') as Condition;
    expect(degraded).to.include({ status: 'True', reason: 'OutputRejected' });
    expect(degraded.message).to.equal(
      `ConfigMap ${NS}/${OUT}: data[registries.conf]: the API server refused to update it (HTTP 422 Invalid): ` +
        `ConfigMap "${OUT}" is invalid: data[registries.conf]: Invalid value: "registries.conf": denied by policy corp-review; ` +
        'the last good output is kept, and the write is tried again when the inputs change (or at the next resync) [OutputRejected]',
    );
    expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'OutputRejected' });
    expect(c.find('ConfigMap', NS, OUT)).to.deep.equal(good);
    expect(rmcStatus(c).contentHash).to.equal(goodHash);
    const problems = rmcStatus(c).problems;
    expect(problems).to.deep.equal([
      {
        reason: 'OutputRejected',
        message: degraded.message
          .split(': ')
          .slice(2)
          .join(': ')
          .replace(/ \[OutputRejected\]$/, ''),
        field: 'data[registries.conf]',
        object: { apiVersion: 'v1', kind: 'ConfigMap', name: OUT, namespace: NS },
      },
    ]);
    // On the NodePool and on its RenderedMirrorConfig (the NodePool does not list the output: NotReferenced as well).
    expect(c.events.filter((e) => e.reason === 'OutputRejected').map((e) => [e.type, e.reason, e.involvedObject.kind])).to.deep.equal([
      ['Warning', 'OutputRejected', 'NodePool'],
      ['Warning', 'OutputRejected', 'RenderedMirrorConfig'],
    ]);

    // Once the API server takes the write again, the next pass publishes and recovers.
    await reconcileTarget(d, NP);
    expect(cond(c, 'Degraded')).to.include({ status: 'False' });
    expect(((c.find('ConfigMap', NS, OUT)?.data ?? {}) as Record<string, string>)['registries.conf']).to.contain('hub-v2');
  });

  it('other errors (a 500, a timeout) still fail the pass, to be retried with backoff', async () => {
    const c = new FakeCluster();
    seed(c);
    c.createConfigMap = async (): Promise<V1ConfigMap> => {
      throw new ApiException(500, 'Internal Server Error', '{"message":"etcdserver: request timed out"}', {});
    };
    let thrown: unknown;
    await reconcileTarget(deps(c), NP).catch((err: unknown) => (thrown = err));
    expect((thrown as { code?: number } | undefined)?.code).to.equal(500);
  });

  it('an output Secret of another type (cached, labelled): OutputTypeConflict; it is neither replaced nor deleted, and no ConfigMap is written', async () => {
    const c = new FakeCluster();
    seed(c, true);
    const tls: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: OUT, namespace: NS, labels: { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: targetLabelValue(NP) } },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' },
    } as KubeObject;
    c.put(tls);
    const stored = c.find('Secret', NS, OUT);
    const before = c.writes.length;
    const summary = await reconcileTarget(deps(c), NP);
    expect(summary).to.include({ ok: false, degraded: true });
    expect(c.writesSince(before).map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['create RenderedMirrorConfig', 'update RenderedMirrorConfig/status']);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(stored);
    expect(c.find('ConfigMap', NS, OUT)).to.equal(undefined);
    const degraded = cond(c, 'Degraded') as Condition;
    expect(degraded.reason).to.equal('OutputTypeConflict');
    expect(degraded.message).to.match(new RegExp(`^Secret ${NS}/${OUT}: type: it exists with type "kubernetes\\.io/tls", but the output Secret`));
    expect(degraded.message).to.not.contain('pw-77a1');
    expect(cond(c, 'Ready')).to.include({ status: 'False', reason: 'OutputRejected' });

    // When the target needs no Secret any more, that Secret is still not ours to delete.
    c.remove('RegistryAccess', undefined, 'creds');
    await reconcileTarget(deps(c), NP);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(stored);
    expect(cond(c, 'Degraded')).to.include({ status: 'False' });
  });

  it('an output Secret of ours, of another type, that the cache does not show yet (found on create): OutputTypeConflict, nothing replaced', async () => {
    const c = new FakeCluster();
    seed(c, true);
    const labels = { [OUTPUT_LABEL]: 'true', [TARGET_LABEL]: targetLabelValue(NP) };
    c.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: OUT, namespace: NS, labels },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': 'e30=' },
    } as KubeObject);
    const stored = c.find('Secret', NS, OUT);
    c.cacheLag = true;
    await reconcileTarget(deps(c), NP);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(stored);
    expect(cond(c, 'Degraded')).to.include({ status: 'True', reason: 'OutputTypeConflict' });
    // The create that found it (409), and nothing after: no update, no delete, no ConfigMap.
    expect(c.writes.filter((w) => w.kind === 'Secret' || w.kind === 'ConfigMap').map((w) => `${w.verb} ${w.kind}`)).to.deep.equal(['create Secret']);
  });

  it('one that is not ours at all is a name conflict first (never written, whatever its type)', async () => {
    const c = new FakeCluster();
    seed(c, true);
    c.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: OUT, namespace: NS },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': 'e30=' },
    } as KubeObject);
    const stored = c.find('Secret', NS, OUT);
    await reconcileTarget(deps(c), NP);
    expect(c.find('Secret', NS, OUT)).to.deep.equal(stored);
    expect(cond(c, 'Degraded')).to.include({ status: 'True', reason: 'OutputNameConflict' });
  });

  it('refusedWrite: only answers that never change are terminal; the API server message and field are kept, clipped', () => {
    const obj = { kind: 'Secret' as const, namespace: NS, name: OUT };
    for (const code of [401, 403, 404, 409, 429, 500, 503])
      expect(refusedWrite(new ApiException(code, 'x', '{}', {}), obj, 'create'), String(code)).to.equal(undefined);
    expect(refusedWrite(new Error('socket hang up'), obj, 'create')).to.equal(undefined);
    const big = refusedWrite(new ApiException(413, 'Request Entity Too Large', 'etcdserver: request is too large', {}), obj, 'create');
    expect(big?.message).to.match(/^the API server refused to create it \(HTTP 413\): etcdserver: request is too large;/);
    expect(big?.origin).to.deep.equal({ apiVersion: 'v1', kind: 'Secret', name: OUT, namespace: NS });
    const long = refusedWrite(invalid('Secret', OUT, 'type', `Invalid value: "${'x'.repeat(2000)}": field is immutable`), obj, 'update');
    expect(long?.field).to.equal('type');
    expect(long?.message.length).to.be.below(900);
  });

  it('secretTypeProblem names the Secret, its type and what to do', () => {
    const p = secretTypeProblem({ namespace: NS, name: OUT }, 'kubernetes.io/tls');
    expect(p).to.include({ reason: 'OutputTypeConflict', field: 'type' });
    expect(p.message).to.match(/deleted or renamed$/);
  });

  it('derivedNamesProblem: a name, label value or key Kubernetes would refuse is reported before writing', () => {
    const data = { configMapData: { 'registries.conf': '' }, secretData: {} };
    const ok = { namespace: NS, name: OUT, labels: { [TARGET_LABEL]: 'clusters.workers' } };
    expect(derivedNamesProblem(ok, data)).to.equal(undefined);
    const label = derivedNamesProblem({ ...ok, labels: { [TARGET_LABEL]: `clusters.${'w'.repeat(60)}` } }, data);
    expect(label).to.include({ reason: 'OutputRejected', field: `metadata.labels[${TARGET_LABEL}]` });
    expect(label?.message).to.contain('is 69 characters long; a label value has at most 63');
    const key = derivedNamesProblem(ok, { configMapData: { [`containerd.${'h'.repeat(260)}.hosts.toml`]: '' }, secretData: { 'a:b': '' } });
    expect(key?.message).to.match(/ConfigMap data key "containerd\.h+\.\.\." is 282 characters long; a key has at most 253 \(and 1 more\)/);
    expect(derivedNamesProblem({ ...ok, name: `${'p'.repeat(250)}-image-mirrors` }, data)?.field).to.equal('metadata.name');
  });
});
