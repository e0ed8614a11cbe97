// Inputs the upstream grammar accepts but no consumer can use (better than
// upstream; docs/api.md "Valid but cannot work"): each is a precise error,
// or a warning where only some pulls break. What the consumers really do
// with them is shown in test/consumer/cannot-work.test.ts.
import { expect } from 'chai';
import { FileObjectSource } from '../../../src/model/files.js';
import { isUsableReference, isValidReference, referenceError, type ReferenceForm } from '../../../src/model/patterns.js';
import type { KubeObject } from '../../../src/model/source.js';
import { formatProblem, type RenderWarning } from '../../../src/model/types.js';
import { validateObject } from '../../../src/model/validate.js';
import { originOf } from '../../../src/model/source.js';
import { renderTarget } from '../../../src/pipeline.js';

const label = (n: number, c = 'a'): string => c.repeat(n);

type Row = [value: string, forms: ReferenceForm[], error: string | undefined, why: string];
const ALL: ReferenceForm[] = ['source', 'mirror', 'scope'];
const rows: Row[] = [
  ['Quay.io/foo', ALL, 'host names must be lower case (write "quay.io/foo")', 'upper case in a host with a path'],
  ['MIRROR.corp:5000', [...ALL, 'host'], 'host names must be lower case (write "mirror.corp:5000")', 'upper case in a host with a port'],
  ['*.Example.com', ['source', 'scope'], 'host names must be lower case (write "*.example.com")', 'upper case in a wildcard'],
  [`quay.io/ns/${'a'.repeat(245)}`, ALL, 'is 256 characters long; an image reference is at most 255', 'longer than any image reference'],
  [`quay.io/ns/${'a'.repeat(244)}`, ALL, undefined, 'exactly 255 characters'],
  [`${label(63)}.io`, [...ALL, 'host'], undefined, 'a 63-character label'],
  [`${label(64)}.io`, [...ALL, 'host'], 'host label "aaaaaaaaaaaaaaaaaaaa..." is 64 characters long; a DNS label has at most 63', 'a 64-character label'],
  [[label(63), label(63), label(63), label(61)].join('.'), [...ALL, 'host'], undefined, 'a 253-character host'],
  [
    [label(63), label(63), label(63), label(62)].join('.'),
    [...ALL, 'host'],
    'host name is 254 characters long; a DNS name has at most 253',
    'a 254-character host',
  ],
  ['m.io:65535/x', ALL, undefined, 'the highest port'],
  ['m.io:65536/x', ALL, 'port 65536 is out of range', 'a port over 16 bits'],
  ['m.io:0', [...ALL, 'host'], 'port 0 is out of range', 'port zero'],
];

describe('cannot work: references the grammar accepts and no consumer can use', () => {
  for (const [value, forms, error, why] of rows) {
    for (const form of forms) {
      it(`${form} ${value.length > 40 ? `${value.slice(0, 40)}...` : value}: ${why}`, () => {
        expect(isValidReference(value, form), 'the upstream grammar accepts it').to.equal(true);
        expect(isUsableReference(value, form)).to.equal(error === undefined);
        if (error === undefined) expect(referenceError(value, form)).to.equal(undefined);
        else expect(referenceError(value, form)).to.include(error);
      });
    }
  }

  it('a 300-character source host is InvalidSource at validation, naming the field', () => {
    const host = `${[label(63), label(63), label(63), label(63)].join('.')}.${label(40)}`;
    const obj: KubeObject = {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'long' },
      spec: { imageDigestMirrors: [{ source: host, mirrors: ['m.io/x'] }] },
    };
    const problems = validateObject(obj, originOf(obj));
    expect(problems.map((p) => [p.reason, p.field])).to.deep.equal([['InvalidSource', 'spec.imageDigestMirrors[0].source']]);
    expect(problems[0]!.message).to.include(`is ${host.length} characters long`);
  });
});

describe('cannot work: a bare-host mirror of a repository source', () => {
  const kinds: [string, string, string][] = [
    ['config.openshift.io/v1', 'ImageDigestMirrorSet', 'imageDigestMirrors'],
    ['imagemirror.io/v1alpha1', 'ImageTagMirrorSet', 'imageTagMirrors'],
    ['operator.openshift.io/v1alpha1', 'ImageContentSourcePolicy', 'repositoryDigestMirrors'],
  ];
  for (const [apiVersion, kind, list] of kinds) {
    it(`${kind}: InvalidMirror on the bare mirror only, with the path it should have`, () => {
      const obj: KubeObject = {
        apiVersion,
        kind,
        metadata: { name: 'x' },
        spec: { [list]: [{ source: 'example.com/ns/app', mirrors: ['m0.mirror/ns/app', 'm1.mirror'] }] },
      };
      const problems = validateObject(obj, originOf(obj));
      expect(problems.map((p) => [p.reason, p.field, p.value])).to.deep.equal([['InvalidMirror', `spec.${list}[0].mirrors[1]`, 'm1.mirror']]);
      expect(problems[0]!.message)
        .to.include('mirror "m1.mirror" is a bare host, but source "example.com/ns/app" names a repository path')
        .and.include('for example "m1.mirror/ns/app"');
    });
  }

  it('HostedCluster imageContentSources: the same', () => {
    const obj: KubeObject = {
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: 'clusters' },
      spec: { imageContentSources: [{ source: 'quay.io/openshift-release-dev/ocp-release', mirrors: ['mirror.corp:5000'] }] },
    };
    expect(validateObject(obj, originOf(obj)).map(formatProblem)[0]).to.match(
      /^HostedCluster clusters\/hc: spec\.imageContentSources\[0\]\.mirrors\[0\]: mirror "mirror\.corp:5000" is a bare host/,
    );
  });

  it('a bare-host mirror of a host source is fine: the repository path is appended to it', () => {
    const obj: KubeObject = {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'x' },
      spec: {
        imageDigestMirrors: [
          { source: 'example.com', mirrors: ['m1.mirror'] },
          { source: '*.example.org', mirrors: ['m2.mirror'] },
        ],
      },
    };
    expect(validateObject(obj, originOf(obj))).to.deep.equal([]);
  });
});

describe('cannot work: a wildcard source whose mirror cannot take a port', () => {
  function warnings(mirrors: string[]): RenderWarning[] {
    const obj: KubeObject = {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageTagMirrorSet',
      metadata: { name: 'w' },
      spec: { imageTagMirrors: [{ source: '*.example.com', mirrors }] },
    };
    const r = renderTarget(new FileObjectSource([obj]), { kind: 'Cluster' });
    if (!r.outcome.ok) throw new Error(r.outcome.errors.map(formatProblem).join('\n'));
    return r.outcome.output.warnings.filter((w) => w.code === 'WildcardPort');
  }

  it('a mirror with a path or a port: pulls of hosts with a port fail', () => {
    const w = warnings(['m.io/cache', 'm.io:8443']);
    expect(w.map((x) => [x.renderer, x.source, x.mirror])).to.deep.equal([
      ['registries.conf', '*.example.com', 'm.io/cache'],
      ['registries.conf', '*.example.com', 'm.io:8443'],
    ]);
    expect(w[0]!.message).to.include('a pull of a.example.com:5000/ns/app becomes "m.io/cache:5000/ns/app", which is not a valid reference, and fails');
  });

  it('a bare mirror host: pulls of hosts with a port go to that port of the mirror', () => {
    const [w] = warnings(['m.io']);
    expect(w!.message).to.include('goes to "m.io:5000/ns/app", port 5000 of the mirror instead of its own');
  });
});

describe('the bounds of our CRDs hold for files too', () => {
  const entries = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ source: `r${i}.io`, mirrors: ['m.io'] }));
  const idms = (apiVersion: string, n: number): KubeObject => ({
    apiVersion,
    kind: 'ImageDigestMirrorSet',
    metadata: { name: 'big' },
    spec: { imageDigestMirrors: entries(n) },
  });

  it('imagemirror.io: at most 1000 entries and 16 mirrors per entry', () => {
    expect(
      validateObject(idms('imagemirror.io/v1alpha1', 1000), { apiVersion: 'imagemirror.io/v1alpha1', kind: 'ImageDigestMirrorSet', name: 'big' }),
    ).to.deep.equal([]);
    const over = idms('imagemirror.io/v1alpha1', 1001);
    expect(validateObject(over, originOf(over)).map(formatProblem)).to.deep.equal([
      'ImageDigestMirrorSet big: spec.imageDigestMirrors: has 1001 items, more than the 1000 allowed (as in the CRD); split it into several objects, which are merged [InvalidDocument]',
    ]);
    const many: KubeObject = {
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'ImageTagMirrorSet',
      metadata: { name: 'm' },
      spec: { imageTagMirrors: [{ source: 'q.io', mirrors: Array.from({ length: 17 }, (_, i) => `m${i}.io`) }] },
    };
    expect(validateObject(many, originOf(many)).map((p) => p.field)).to.deep.equal(['spec.imageTagMirrors[0].mirrors']);
  });

  it('config.openshift.io documents keep the upstream shape: no bound', () => {
    const big = idms('config.openshift.io/v1', 1001);
    expect(validateObject(big, originOf(big))).to.deep.equal([]);
  });
});
