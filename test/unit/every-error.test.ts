// One pass reports every problem of a target: a problem found while
// gathering does not hide those the merge would find (PolicyConflict), nor
// the problems of objects read after it, and the CLI prints all of them.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileObjectSource } from '../../src/model/files.js';
import type { KubeObject, Target } from '../../src/model/source.js';
import type { Reason } from '../../src/model/types.js';
import { renderTarget } from '../../src/pipeline.js';

const BIN = fileURLToPath(new URL('../../../bin/image-mirror', import.meta.url));
const CONFIG = 'config.openshift.io/v1';
const HS = 'hypershift.openshift.io/v1beta1';

function mirrorSet(kind: 'ImageDigestMirrorSet' | 'ImageTagMirrorSet', name: string, entry: Record<string, unknown>): KubeObject {
  const list = kind === 'ImageDigestMirrorSet' ? 'imageDigestMirrors' : 'imageTagMirrors';
  return { apiVersion: CONFIG, kind, metadata: { name }, spec: { [list]: [entry] } };
}

/** NeverContactSource with the source among its own mirrors, and another object that allows contacting the same source. */
const OWN_MIRROR_AND_CONFLICT = [
  mirrorSet('ImageDigestMirrorSet', 'own', { source: 'quay.io/ns', mirrors: ['m.io/ns', 'quay.io/ns'], mirrorSourcePolicy: 'NeverContactSource' }),
  mirrorSet('ImageTagMirrorSet', 'allow', { source: 'quay.io/ns', mirrors: ['t.io/ns'], mirrorSourcePolicy: 'AllowContactingSource' }),
];

function reasonsOf(objects: KubeObject[], target: Target = { kind: 'Cluster' }): Reason[] {
  const r = renderTarget(new FileObjectSource(objects), target);
  expect(r.outcome.ok).to.equal(false);
  const errors = r.outcome.ok ? [] : r.outcome.errors;
  // Status conditions describe gathered.problems first: they must hold everything too.
  expect(r.gathered.problems.map((p) => p.reason)).to.deep.equal(errors.map((p) => p.reason));
  return errors.map((p) => p.reason);
}

describe('every error is reported', () => {
  it('an object-level SourceIsOwnMirror does not hide the PolicyConflict it takes part in', () => {
    expect(reasonsOf(OWN_MIRROR_AND_CONFLICT)).to.deep.equal(['SourceIsOwnMirror', 'PolicyConflict']);
  });

  it('any problem found while gathering does not hide a PolicyConflict between valid objects', () => {
    const objects = [
      mirrorSet('ImageDigestMirrorSet', 'bad', { source: 'https://gcr.io', mirrors: ['m.io/gcr'] }),
      mirrorSet('ImageDigestMirrorSet', 'never', { source: 'docker.io', mirrors: ['m.io/hub'], mirrorSourcePolicy: 'NeverContactSource' }),
      mirrorSet('ImageTagMirrorSet', 'allow', { source: 'docker.io', mirrors: ['t.io/hub'] }),
    ];
    expect(reasonsOf(objects)).to.deep.equal(['InvalidSource', 'PolicyConflict']);
  });

  it('an invalid HostedCluster still has its mirror ConfigMap read and reported', () => {
    const objects: KubeObject[] = [
      { apiVersion: HS, kind: 'NodePool', metadata: { name: 'np', namespace: 'clusters' }, spec: { clusterName: 'hc' } },
      {
        apiVersion: HS,
        kind: 'HostedCluster',
        metadata: { name: 'hc', namespace: 'clusters' },
        spec: { imageContentSources: [{ source: 'quay.io/Upper', mirrors: ['m.io/q'] }], imageMirrorConfigRef: { name: 'gone' } },
      },
    ];
    expect(reasonsOf(objects, { kind: 'NodePool', namespace: 'clusters', name: 'np' })).to.deep.equal(['InvalidSource', 'MissingReference']);
  });

  it('the CLI prints every error: invalid objects from loading and conflicts across objects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-mirror-every-error-'));
    try {
      const yaml = (o: unknown): string => JSON.stringify(o);
      writeFileSync(join(dir, 'a-invalid.yaml'), yaml(mirrorSet('ImageDigestMirrorSet', 'bad', { source: 'gcr.io', mirrors: ['https://m.io/gcr'] })));
      writeFileSync(join(dir, 'b-own.yaml'), yaml(OWN_MIRROR_AND_CONFLICT[0]));
      writeFileSync(join(dir, 'c-allow.yaml'), yaml(OWN_MIRROR_AND_CONFLICT[1]));
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(BIN, ['validate', dir], (err, _stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }));
      });
      expect(r.code, r.stderr).to.equal(1);
      const reasons = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('error: '))
        .map((l) => /\[([A-Za-z]+)\]$/.exec(l)?.[1]);
      expect(reasons).to.deep.equal(['InvalidMirror', 'SourceIsOwnMirror', 'PolicyConflict']);
      expect(r.stderr).to.include('3 error(s)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
