import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { ApplyReport } from '../../../src/agent/apply.js';
import { inconsistency } from '../../../src/agent/index.js';
import { conditionFor, eventsFor, type Outcome } from '../../../src/agent/report.js';
import { resolveTarget } from '../../../src/agent/target.js';

const target = { namespace: 'image-mirror-system', name: 'cluster-image-mirrors', why: 'test' };

function report(over: Partial<ApplyReport> = {}): ApplyReport {
  return { written: [], modeFixed: [], unchanged: [], removed: [], removedDirs: [], foreign: [], errors: [], ...over };
}

function applied(r: ApplyReport, extra: Partial<Outcome> = {}): Outcome {
  const changed = r.written.length + r.removed.length + r.modeFixed.length > 0;
  return { target, sync: { ok: true, plan: { writes: [], removals: [], ignoredOwned: [] }, report: r, changed }, contentHash: 'sha256:1', ...extra };
}

describe('agent target', () => {
  const flags = { namespace: 'image-mirror-system' };
  it('a NodePool node installs its NodePool output', () => {
    const t = resolveTarget({ 'hypershift.openshift.io/nodePool': 'workers' }, { ...flags, nodePoolNamespace: 'clusters' });
    expect([t.namespace, t.name]).to.deep.equal(['clusters', 'workers-image-mirrors']);
  });
  it('NodePool outputs default to --namespace', () => {
    const t = resolveTarget({ 'hypershift.openshift.io/nodePool': 'workers' }, flags);
    expect([t.namespace, t.name]).to.deep.equal(['image-mirror-system', 'workers-image-mirrors']);
  });
  it('any other node installs the cluster-wide output', () => {
    const t = resolveTarget({ 'kubernetes.io/hostname': 'n1' }, flags);
    expect([t.namespace, t.name]).to.deep.equal(['image-mirror-system', 'cluster-image-mirrors']);
    expect(resolveTarget(undefined, flags).name).to.equal('cluster-image-mirrors');
  });
  it('--configmap wins over labels', () => {
    const t = resolveTarget({ 'hypershift.openshift.io/nodePool': 'workers' }, { ...flags, configMap: 'mine' });
    expect([t.namespace, t.name]).to.deep.equal(['image-mirror-system', 'mine']);
  });
});

describe('agent report', () => {
  it('applied and containerd reads the directory: True, and an event only when files changed', () => {
    const ok = applied(report({ written: ['/etc/containerd/certs.d/q/hosts.toml'] }), {
      containerd: { status: 'True', reason: 'ConfigPathSet', message: 'ok' },
    });
    expect(conditionFor(ok)).to.include({ status: 'True', reason: 'Applied' });
    expect(eventsFor(ok).map((e) => [e.type, e.reason])).to.deep.equal([['Normal', 'MirrorConfigApplied']]);
    expect(eventsFor(ok)[0]?.message).to.include('wrote /etc/containerd/certs.d/q/hosts.toml').and.include('sha256:1');
    expect(eventsFor(applied(report({ unchanged: ['/a'] })))).to.deep.equal([]);
  });

  it('an invalid publication: False InvalidConfig, a warning, and the previous files kept', () => {
    const o: Outcome = { target, sync: { ok: false, errors: [{ reason: 'KeyMissing', message: 'ConfigMap a/b: files.json lists key "k"' }] } };
    expect(conditionFor(o)).to.deep.equal({
      status: 'False',
      reason: 'InvalidConfig',
      message: 'not applied, previous files kept: ConfigMap a/b: files.json lists key "k"',
    });
    expect(eventsFor(o).map((e) => e.reason)).to.deep.equal(['MirrorConfigInvalid']);
  });

  it('problems rank: apply errors, then foreign files, then containerd', () => {
    const ctrd = { status: 'False' as const, reason: 'ConfigPathNotSet' as const, message: 'containerd ignores it' };
    const foreign = [{ path: '/etc/containers/auth.json', why: 'exists without the image-mirror marker' }];
    expect(conditionFor(applied(report({ errors: [{ path: '/x', message: 'EACCES' }], foreign }), { containerd: ctrd })).reason).to.equal('ApplyFailed');
    expect(conditionFor(applied(report({ foreign }), { containerd: ctrd })).reason).to.equal('ForeignFiles');
    expect(conditionFor(applied(report(), { containerd: ctrd }))).to.include({ status: 'False', reason: 'ContainerdConfigPathNotSet' });
    expect(eventsFor(applied(report({ foreign }), { containerd: ctrd })).map((e) => e.reason)).to.deep.equal([
      'ForeignFileSkipped',
      'ContainerdNotReadingMirrors',
    ]);
    const unknown = { status: 'Unknown' as const, reason: 'ConfigNotFound' as const, message: 'not found' };
    expect(conditionFor(applied(report(), { containerd: unknown }))).to.include({ status: 'Unknown', reason: 'ContainerdConfigNotFound' });
  });
});

describe('agent publication consistency', () => {
  const cm = (hash: string, from: string): V1ConfigMap => ({
    metadata: { annotations: { 'imagemirror.io/content-hash': hash } },
    data: { 'files.json': JSON.stringify({ k: { path: '/etc/containers/auth.json', mode: '0600', from } }) },
  });
  const secret = (hash: string): V1Secret => ({ metadata: { annotations: { 'imagemirror.io/content-hash': hash } } });
  it('waits while the Secret it reads from carries another content hash', () => {
    expect(inconsistency(cm('a', 'Secret'), secret('b'))).to.match(/waiting for the Secret/);
  });
  it('proceeds when the hashes agree, when either is unannotated, or when no key comes from the Secret', () => {
    expect(inconsistency(cm('a', 'Secret'), secret('a'))).to.equal(undefined);
    expect(inconsistency(cm('a', 'Secret'), { metadata: {} })).to.equal(undefined);
    expect(inconsistency(cm('a', 'ConfigMap'), secret('b'))).to.equal(undefined);
    expect(inconsistency(undefined, secret('b'))).to.equal(undefined);
  });
});
