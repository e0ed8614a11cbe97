import { expect } from 'chai';
import { fieldPath, mirrorEntriesOf, scopesOf, validateObject } from '../../../src/model/validate.js';
import { originOf, type KubeObject } from '../../../src/model/source.js';
import type { Problem, Reason } from '../../../src/model/types.js';

type Shape = { kind: 'ImageDigestMirrorSet' | 'ImageTagMirrorSet'; apiVersion: string; list: string };

const SHAPES: Shape[] = [
  { kind: 'ImageDigestMirrorSet', apiVersion: 'config.openshift.io/v1', list: 'imageDigestMirrors' },
  { kind: 'ImageDigestMirrorSet', apiVersion: 'imagemirror.io/v1alpha1', list: 'imageDigestMirrors' },
  { kind: 'ImageTagMirrorSet', apiVersion: 'config.openshift.io/v1', list: 'imageTagMirrors' },
  { kind: 'ImageTagMirrorSet', apiVersion: 'imagemirror.io/v1alpha1', list: 'imageTagMirrors' },
];

function obj(apiVersion: string, kind: string, spec: unknown, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x' }, spec, ...extra } as KubeObject;
}

function check(o: KubeObject): Problem[] {
  return validateObject(o, originOf(o, 'f.yaml:1'));
}

/** Problems as `[reason, field, message]` for compact comparison. */
function brief(problems: Problem[]): Array<[Reason, string | undefined, string]> {
  return problems.map((p) => [p.reason, p.field, p.message]);
}

// Each row: entries, then the expected problems as [reason, field below the list, message substring].
type Row = {
  why: string;
  entries: unknown[];
  want: Array<[Reason, string, string]>;
};

const rows: Row[] = [
  { why: 'a plain entry is valid', entries: [{ source: 'quay.io/ns', mirrors: ['m.io/ns'] }], want: [] },
  { why: 'an entry without mirrors is valid (the merge drops it)', entries: [{ source: 'quay.io' }], want: [] },
  {
    why: 'both policies are accepted',
    entries: [
      { source: 'a.io', mirrors: ['m.io/a'], mirrorSourcePolicy: 'NeverContactSource' },
      { source: 'b.io', mirrors: ['m.io/b'], mirrorSourcePolicy: 'AllowContactingSource' },
    ],
    want: [],
  },
  { why: 'a wildcard source is valid', entries: [{ source: '*.redhat.io', mirrors: ['m.io/rh'] }], want: [] },
  {
    why: 'a source listed mid-list with AllowContactingSource is fine (it is tried at that point)',
    entries: [{ source: 'q.io/a', mirrors: ['m.io/a', 'q.io/a'], mirrorSourcePolicy: 'AllowContactingSource' }],
    want: [],
  },
  {
    why: 'invalid source names the field, quotes the value and says why',
    entries: [{ source: 'https://quay.io', mirrors: ['m.io'] }],
    want: [['InvalidSource', '[0].source', 'invalid source "https://quay.io": must not contain a URI scheme ("https://")']],
  },
  {
    why: 'invalid mirror in an upper-case path',
    entries: [{ source: 'quay.io', mirrors: ['m.io/ok', 'quay.io/NS'] }],
    want: [['InvalidMirror', '[0].mirrors[1]', 'invalid mirror "quay.io/NS": path components must be lower case']],
  },
  {
    why: 'a wildcard is not a mirror',
    entries: [{ source: '*.a.io', mirrors: ['*.b.io'] }],
    want: [['InvalidMirror', '[0].mirrors[0]', 'wildcards ("*") are allowed only in sources']],
  },
  {
    why: 'a mirror that would break out of a TOML string',
    entries: [{ source: 'a.io', mirrors: ['m.io"\n[x]'] }],
    want: [['InvalidMirror', '[0].mirrors[0]', 'invalid mirror "m.io\\"\\n[x]": must not contain whitespace']],
  },
  {
    why: 'a mirror that would leave its directory',
    entries: [{ source: 'a.io', mirrors: ['m.io/../../etc'] }],
    want: [['InvalidMirror', '[0].mirrors[0]', 'path component ".." is not allowed']],
  },
  {
    why: 'duplicate mirror in one entry names the repeat and the first',
    entries: [{ source: 'a.io', mirrors: ['m.io', 'n.io', 'm.io'] }],
    want: [['DuplicateMirror', '[0].mirrors[2]', 'duplicate mirror "m.io" (also mirrors[0])']],
  },
  {
    why: 'the same mirror in two entries is not a duplicate',
    entries: [
      { source: 'a.io', mirrors: ['m.io'] },
      { source: 'b.io', mirrors: ['m.io'] },
    ],
    want: [],
  },
  {
    why: 'NeverContactSource with the source among its own mirrors',
    entries: [{ source: 'q.io/a', mirrors: ['m.io/a', 'q.io/a'], mirrorSourcePolicy: 'NeverContactSource' }],
    want: [['SourceIsOwnMirror', '[0].mirrors[1]', 'source "q.io/a" is listed as its own mirror while mirrorSourcePolicy is NeverContactSource']],
  },
  {
    why: 'an unknown policy lists the allowed ones',
    entries: [{ source: 'a.io', mirrors: ['m.io'], mirrorSourcePolicy: 'Never' }],
    want: [['InvalidDocument', '[0].mirrorSourcePolicy', 'invalid value "Never" (allowed: NeverContactSource, AllowContactingSource)']],
  },
  {
    why: 'a misspelt field is an error, not silently ignored',
    entries: [{ source: 'a.io', mirror: ['m.io'] }],
    want: [['InvalidDocument', '[0].mirror', 'unknown field (allowed: source, mirrors, mirrorSourcePolicy)']],
  },
  {
    why: 'source is required',
    entries: [{ mirrors: ['m.io'] }],
    want: [['InvalidDocument', '[0].source', 'is required']],
  },
  {
    why: 'mirrors must be a list',
    entries: [{ source: 'a.io', mirrors: 'm.io' }],
    want: [['InvalidDocument', '[0].mirrors', 'must be a list, got a string "m.io"']],
  },
  {
    why: 'a mirror must be a string',
    entries: [{ source: 'a.io', mirrors: [5000] }],
    want: [['InvalidDocument', '[0].mirrors[0]', 'must be a string, got a number 5000']],
  },
  {
    why: 'every problem of an entry is reported in one pass',
    entries: [
      { source: 'a.io/A', mirrors: ['', 'm.io', 'm.io'] },
      { source: 'b.io', mirrors: ['b.io'], mirrorSourcePolicy: 'NeverContactSource' },
    ],
    want: [
      ['InvalidSource', '[0].source', 'path components must be lower case'],
      ['InvalidMirror', '[0].mirrors[0]', 'must not be empty'],
      ['DuplicateMirror', '[0].mirrors[2]', 'duplicate mirror "m.io"'],
      ['SourceIsOwnMirror', '[1].mirrors[0]', 'source "b.io"'],
    ],
  },
];

describe('validate: IDMS and ITMS entries (SPEC §1)', () => {
  for (const shape of SHAPES) {
    describe(`${shape.apiVersion} ${shape.kind}`, () => {
      for (const row of rows) {
        it(row.why, () => {
          const problems = check(obj(shape.apiVersion, shape.kind, { [shape.list]: row.entries }));
          expect(problems.map((p) => [p.reason, p.field])).to.deep.equal(row.want.map(([reason, field]) => [reason, `spec.${shape.list}${field}`]));
          problems.forEach((p, i) => {
            expect(p.message).to.include(row.want[i]![2]);
            expect(p.origin).to.deep.include({ kind: shape.kind, name: 'x', location: 'f.yaml:1' });
          });
        });
      }

      it('reads entries into the right pool with origin and field', () => {
        const o = obj(shape.apiVersion, shape.kind, {
          [shape.list]: [
            { source: 'a.io', mirrors: ['m.io/a'] },
            { source: 'b.io', mirrors: ['m.io/b', 'n.io/b'], mirrorSourcePolicy: 'NeverContactSource' },
          ],
        });
        const origin = originOf(o);
        const entries = mirrorEntriesOf(o, origin);
        const pool = shape.kind === 'ImageDigestMirrorSet' ? 'digest' : 'tag';
        expect(entries).to.deep.equal([
          { pool, source: 'a.io', mirrors: ['m.io/a'], origin, field: `spec.${shape.list}[0]` },
          { pool, source: 'b.io', mirrors: ['m.io/b', 'n.io/b'], policy: 'NeverContactSource', origin, field: `spec.${shape.list}[1]` },
        ]);
      });
    });
  }

  it('spec is required on mirror sets', () => {
    expect(brief(check({ apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', metadata: { name: 'x' } }))).to.deep.equal([
      ['InvalidDocument', 'spec', 'is required'],
    ]);
  });

  it('only our group may carry a nodePoolSelector', () => {
    const spec = { nodePoolSelector: { matchLabels: { a: 'b' } }, imageDigestMirrors: [] };
    expect(check(obj('imagemirror.io/v1alpha1', 'ImageDigestMirrorSet', spec))).to.deep.equal([]);
    expect(brief(check(obj('config.openshift.io/v1', 'ImageDigestMirrorSet', spec)))).to.deep.equal([
      ['InvalidDocument', 'spec.nodePoolSelector', 'unknown field (allowed: imageDigestMirrors)'],
    ]);
  });

  const selectorRows: Array<[unknown, Array<[string, string]>, string]> = [
    [{ matchLabels: { tier: 'gpu' } }, [], 'matchLabels'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] }, [], 'In with values'],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, [], 'Exists without values'],
    [
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      [['spec.nodePoolSelector.matchExpressions[0].values', 'operator In needs at least one value']],
      'In without values',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      [['spec.nodePoolSelector.matchExpressions[0].values', 'operator NotIn needs at least one value']],
      'NotIn with an empty list',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] },
      [['spec.nodePoolSelector.matchExpressions[0].values', 'operator DoesNotExist takes no values']],
      'DoesNotExist with values',
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
      [['spec.nodePoolSelector.matchExpressions[0].operator', 'invalid value "Gt" (allowed: In, NotIn, Exists, DoesNotExist)']],
      'unknown operator',
    ],
    [{ matchLabels: { a: 1 } }, [['spec.nodePoolSelector.matchLabels.a', 'must be a string, got a number 1']], 'label value of the wrong type'],
    [{ labels: {} }, [['spec.nodePoolSelector.labels', 'unknown field (allowed: matchLabels, matchExpressions)']], 'misspelt selector field'],
  ];
  for (const [selector, want, why] of selectorRows) {
    it(`nodePoolSelector: ${why}`, () => {
      const problems = check(obj('imagemirror.io/v1alpha1', 'ImageTagMirrorSet', { nodePoolSelector: selector }));
      expect(problems.map((p) => [p.field, p.message])).to.deep.equal(want);
      for (const p of problems) expect(p.reason).to.equal('InvalidDocument');
    });
  }
});

describe('validate: other kinds', () => {
  it('ICSP entries are digest entries without policy; a policy field is unknown there', () => {
    const o = obj('operator.openshift.io/v1alpha1', 'ImageContentSourcePolicy', {
      repositoryDigestMirrors: [
        { source: 'a.io', mirrors: ['m.io', 'm.io'] },
        { source: 'b.io', mirrorSourcePolicy: 'NeverContactSource' },
      ],
    });
    expect(brief(check(o))).to.deep.equal([
      ['DuplicateMirror', 'spec.repositoryDigestMirrors[0].mirrors[1]', 'duplicate mirror "m.io" (also mirrors[0])'],
      ['InvalidDocument', 'spec.repositoryDigestMirrors[1].mirrorSourcePolicy', 'unknown field (allowed: source, mirrors)'],
    ]);
    const ok = obj('operator.openshift.io/v1alpha1', 'ImageContentSourcePolicy', { repositoryDigestMirrors: [{ source: 'a.io', mirrors: ['m.io'] }] });
    expect(mirrorEntriesOf(ok, originOf(ok))).to.deep.equal([
      { pool: 'digest', source: 'a.io', mirrors: ['m.io'], origin: originOf(ok), field: 'spec.repositoryDigestMirrors[0]' },
    ]);
  });

  it('Image registrySources scopes: wildcards allowed, schemes not', () => {
    const o = obj('config.openshift.io/v1', 'Image', {
      registrySources: { insecureRegistries: ['*.corp', 'http://x.io'], blockedRegistries: ['bad.io/ns'], allowedRegistries: ['anything goes'] },
    });
    expect(brief(check(o))).to.deep.equal([
      [
        'InvalidScope',
        'spec.registrySources.insecureRegistries[1]',
        'invalid scope "http://x.io": must not contain a URI scheme ("http://"); write host[:port][/namespace...][/repo] or *.domain',
      ],
    ]);
    const ok = obj('config.openshift.io/v1', 'Image', { registrySources: { insecureRegistries: ['*.corp'], blockedRegistries: ['bad.io/ns'] } });
    const origin = originOf(ok);
    expect(scopesOf(ok, origin)).to.deep.equal({
      insecure: [{ scope: '*.corp', origin, field: 'spec.registrySources.insecureRegistries[0]' }],
      blocked: [{ scope: 'bad.io/ns', origin, field: 'spec.registrySources.blockedRegistries[0]' }],
    });
  });

  it('HostedCluster: imageContentSources, mirror config reference, configuration.image scopes', () => {
    const hc = obj('hypershift.openshift.io/v1beta1', 'HostedCluster', {
      imageContentSources: [{ source: 'quay.io/ocp', mirrors: ['m.io/ocp', 'M.io/X'] }],
      imageMirrorConfigRef: { name: '' },
      configuration: { image: { registrySources: { blockedRegistries: ['ok.io', 'a b'] } } },
      platform: { type: 'None' },
    });
    expect(brief(check(hc))).to.deep.equal([
      ['InvalidMirror', 'spec.imageContentSources[0].mirrors[1]', 'invalid mirror "M.io/X": path components must be lower case'],
      ['InvalidDocument', 'spec.imageMirrorConfigRef.name', 'must not be empty'],
      [
        'InvalidScope',
        'spec.configuration.image.registrySources.blockedRegistries[1]',
        'invalid scope "a b": must not contain whitespace or control characters',
      ],
    ]);
  });

  it('NodePool needs a clusterName and config names', () => {
    const np = obj('hypershift.openshift.io/v1beta1', 'NodePool', { config: [{}] });
    expect(brief(check(np))).to.deep.equal([
      ['InvalidDocument', 'spec.clusterName', 'is required'],
      ['InvalidDocument', 'spec.config[0].name', 'is required'],
    ]);
  });

  it('RegistryAccess: hosts, refs, scopes and defaultMirror', () => {
    const ra = obj('imagemirror.io/v1alpha1', 'RegistryAccess', {
      hosts: [
        { host: 'm.io:5000', ca: { configMapKeyRef: { namespace: 'n', name: 'c', key: 'ca.crt' } }, insecureSkipVerify: 'yes' },
        { host: 'm.io/path', ca: { configMapKeyRef: { namespace: 'n', name: 'c', key: 'k' }, secretKeyRef: { namespace: 'n', name: 's', key: 'k' } } },
        { host: '../../etc', credentialsSecretRef: { name: 's' } },
        { host: 'ok.io', clientCertificateSecretRef: { namespace: 'n', name: 't' }, plainHttp: true },
      ],
      insecureRegistries: ['*.ok.io'],
      blockedRegistries: ['x.io:tag/y'],
      defaultMirror: { mirror: 'https://cache.io', registries: ['docker.io', 'docker.io'] },
    });
    expect(brief(check(ra))).to.deep.equal([
      ['InvalidAccess', 'spec.hosts[0].insecureSkipVerify', 'must be true or false, got a string "yes"'],
      ['InvalidAccess', 'spec.hosts[1].host', 'invalid host "m.io/path": must be host[:port] without a path'],
      ['InvalidAccess', 'spec.hosts[1].ca', 'set exactly one of configMapKeyRef and secretKeyRef'],
      ['InvalidAccess', 'spec.hosts[2].host', 'invalid host "../../etc": host name has an empty label (leading, trailing or double ".")'],
      ['InvalidAccess', 'spec.hosts[2].credentialsSecretRef.namespace', 'is required'],
      [
        'InvalidAccess',
        'spec.hosts[3].plainHttp',
        'unknown field (allowed: host, ca, credentialsSecretRef, clientCertificateSecretRef, insecureSkipVerify, plainHTTP)',
      ],
      ['InvalidScope', 'spec.blockedRegistries[0]', 'invalid scope "x.io:tag/y": port "tag" must be a number'],
      [
        'InvalidMirror',
        'spec.defaultMirror.mirror',
        'invalid mirror "https://cache.io": must not contain a URI scheme ("https://"); write host[:port][/namespace...][/repo]',
      ],
      ['InvalidAccess', 'spec.defaultMirror.registries[1]', 'duplicate item "docker.io" (also registries[0])'],
    ]);
  });

  it('never quotes Secret values, even when they are malformed', () => {
    const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 123456789 }, type: ['hunter2'] } as unknown as KubeObject;
    const problems = check(s);
    expect(brief(problems)).to.deep.equal([
      ['InvalidDocument', 'type', 'must be a string, got a list'],
      ['InvalidDocument', 'data.password', 'must be a string, got a number'],
    ]);
    for (const p of problems) {
      expect(p).to.not.have.property('value');
      expect(JSON.stringify(p)).to.not.include('123456789').and.not.include('hunter2');
    }
  });

  it('objects of kinds it does not know have no problems here (parse decides)', () => {
    expect(check(obj('v1', 'Pod', 'anything'))).to.deep.equal([]);
  });

  it('fieldPath turns JSON pointers into field paths', () => {
    expect(fieldPath('/spec/imageDigestMirrors/1/mirrors/0')).to.equal('spec.imageDigestMirrors[1].mirrors[0]');
    expect(fieldPath('/data/idms.yaml')).to.equal('data["idms.yaml"]');
    expect(fieldPath('/metadata/labels/a~1b')).to.equal('metadata.labels["a/b"]');
    expect(fieldPath('')).to.equal('');
  });
});
