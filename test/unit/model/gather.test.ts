import { expect } from 'chai';
import { FileObjectSource } from '../../../src/model/files.js';
import { gather } from '../../../src/model/gather.js';
import type { Gathered, KubeObject, Target } from '../../../src/model/source.js';
import { formatProblem } from '../../../src/model/types.js';

const OURS = 'imagemirror.io/v1alpha1';
const CONFIG = 'config.openshift.io/v1';
const HS = 'hypershift.openshift.io/v1beta1';
import { TEST_CA_PEM as CA } from '../../lib/pki.js';

type SetKind = 'ImageDigestMirrorSet' | 'ImageTagMirrorSet';
const LIST: Record<SetKind, string> = { ImageDigestMirrorSet: 'imageDigestMirrors', ImageTagMirrorSet: 'imageTagMirrors' };

function set(apiVersion: string, kind: SetKind, name: string, source: string, mirrors: string[], selector?: unknown): KubeObject {
  const spec: Record<string, unknown> = { [LIST[kind]]: [{ source, mirrors }] };
  if (selector !== undefined) spec.nodePoolSelector = selector;
  return { apiVersion, kind, metadata: { name }, spec };
}

const yamlSet = (kind: SetKind, name: string, source: string, mirror: string): string =>
  `apiVersion: ${CONFIG}\nkind: ${kind}\nmetadata: {name: ${name}}\nspec:\n  ${LIST[kind]}:\n  - source: ${source}\n    mirrors: [${mirror}]\n`;

function cm(name: string, data: Record<string, string>, labels?: Record<string, string>, ns = 'clusters'): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
  if (labels) o.metadata.labels = labels;
  return o;
}

function hostedCluster(spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: HS, kind: 'HostedCluster', metadata: { name: 'hc', namespace: 'clusters' }, spec };
}

function nodePool(name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: HS, kind: 'NodePool', metadata: { name, namespace: 'clusters', labels }, spec: { clusterName: 'hc', ...spec } };
}

function registryAccess(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: OURS, kind: 'RegistryAccess', metadata: { name }, spec };
}

const NP: Target = { kind: 'NodePool', namespace: 'clusters', name: 'gpu' };

function run(objects: KubeObject[], target: Target): Gathered {
  return gather(new FileObjectSource(objects), target);
}

/** `pool source -> mirrors (kind name)` lines, for compact comparisons. */
function entryLines(g: Gathered): string[] {
  return g.inputs.entries.map((e) => `${e.pool} ${e.source} -> ${e.mirrors.join(',')} (${e.origin.kind} ${e.origin.name})`);
}

function problemLines(g: Gathered): string[] {
  return g.problems.map(formatProblem);
}

describe('gather: cluster target', () => {
  const objects: KubeObject[] = [
    set(CONFIG, 'ImageDigestMirrorSet', 'ocp-idms', 'quay.io/ocp', ['m.io/ocp']),
    set(CONFIG, 'ImageTagMirrorSet', 'ocp-itms', 'quay.io/ocp', ['t.io/ocp']),
    set(OURS, 'ImageDigestMirrorSet', 'all', 'a.io', ['m.io/a'], {}),
    set(OURS, 'ImageTagMirrorSet', 'gpu-only', 'g.io', ['m.io/g'], { matchLabels: { tier: 'gpu' } }),
    {
      apiVersion: 'operator.openshift.io/v1alpha1',
      kind: 'ImageContentSourcePolicy',
      metadata: { name: 'icsp' },
      spec: { repositoryDigestMirrors: [{ source: 'gcr.io', mirrors: ['m.io/gcr'] }] },
    },
    {
      apiVersion: CONFIG,
      kind: 'Image',
      metadata: { name: 'cluster' },
      spec: { registrySources: { insecureRegistries: ['m.io'], blockedRegistries: ['bad.io'] } },
    },
    { apiVersion: CONFIG, kind: 'Image', metadata: { name: 'other' }, spec: { registrySources: { blockedRegistries: ['ignored.io'] } } },
    registryAccess('ra', {
      hosts: [{ host: 'm.io', ca: { configMapKeyRef: { namespace: 'ops', name: 'ca', key: 'ca.crt' } } }],
      insecureRegistries: ['*.lab'],
    }),
    cm('ca', { 'ca.crt': CA }, undefined, 'ops'),
    hostedCluster({ imageContentSources: [{ source: 'hc.io', mirrors: ['m.io/hc'] }] }),
  ];

  it('takes every cluster-scoped input whose selector is empty, and nothing of HostedClusters', () => {
    const g = run(objects, { kind: 'Cluster' });
    expect(problemLines(g)).to.deep.equal([]);
    expect(entryLines(g)).to.have.members([
      'digest quay.io/ocp -> m.io/ocp (ImageDigestMirrorSet ocp-idms)',
      'tag quay.io/ocp -> t.io/ocp (ImageTagMirrorSet ocp-itms)',
      'digest a.io -> m.io/a (ImageDigestMirrorSet all)',
      'digest gcr.io -> m.io/gcr (ImageContentSourcePolicy icsp)',
    ]);
    expect(entryLines(g)).to.have.length(4);
    expect(g.inputs.insecure.map((s) => `${s.scope} ${s.origin.kind} ${s.field}`)).to.deep.equal([
      'm.io Image spec.registrySources.insecureRegistries[0]',
      '*.lab RegistryAccess spec.insecureRegistries[0]',
    ]);
    expect(g.inputs.blocked.map((s) => s.scope)).to.deep.equal(['bad.io']);
    expect(g.inputs.access.map((a) => [a.host, a.caPEM])).to.deep.equal([['m.io', CA]]);
    expect(g.references).to.deep.equal([{ kind: 'ConfigMap', namespace: 'ops', name: 'ca' }]);
    expect(g.inputs.contributors.map((o) => `${o.kind} ${o.name}`)).to.deep.equal([
      'ConfigMap ca',
      'Image cluster',
      'ImageContentSourcePolicy icsp',
      'ImageDigestMirrorSet ocp-idms',
      'ImageDigestMirrorSet all',
      'ImageTagMirrorSet ocp-itms',
      'RegistryAccess ra',
    ]);
  });

  it('does not depend on the order of objects', () => {
    const want = JSON.stringify(run(objects, { kind: 'Cluster' }));
    for (let shift = 1; shift < objects.length; shift++) {
      const rotated = [...objects.slice(shift), ...objects.slice(0, shift)];
      expect(JSON.stringify(run(rotated, { kind: 'Cluster' }))).to.equal(want);
      expect(JSON.stringify(run([...rotated].reverse(), { kind: 'Cluster' }))).to.equal(want);
    }
  });

  it('reports an invalid object and takes none of its entries', () => {
    const bad = set(CONFIG, 'ImageDigestMirrorSet', 'bad', 'quay.io', ['m.io', 'M.io/X']);
    const g = run([bad, set(CONFIG, 'ImageDigestMirrorSet', 'good', 'a.io', ['m.io'])], { kind: 'Cluster' });
    expect(problemLines(g)).to.deep.equal([
      'ImageDigestMirrorSet bad: spec.imageDigestMirrors[0].mirrors[1]: invalid mirror "M.io/X": path components must be lower case [InvalidMirror]',
    ]);
    expect(entryLines(g)).to.deep.equal(['digest a.io -> m.io (ImageDigestMirrorSet good)']);
  });

  it('a malformed selector does not hide its object: the problem is reported', () => {
    const g = run([set(OURS, 'ImageDigestMirrorSet', 'x', 'a.io', ['m.io'], { matchLabels: 'gpu' })], { kind: 'Cluster' });
    expect(problemLines(g)).to.deep.equal([
      'ImageDigestMirrorSet x: spec.nodePoolSelector.matchLabels: must be a mapping, got a string "gpu" [InvalidDocument]',
    ]);
  });
});

describe('gather: NodePool target', () => {
  const pullSecret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pull', namespace: 'clusters' },
    type: 'kubernetes.io/basic-auth',
    stringData: { username: 'u', password: 'pw-not-in-messages' },
  };
  const base = (): KubeObject[] => [
    hostedCluster({
      imageContentSources: [{ source: 'quay.io/ocp', mirrors: ['m.io/ocp'] }],
      imageMirrorConfigRef: { name: 'mirrors' },
      configuration: { image: { registrySources: { insecureRegistries: ['m.io'], blockedRegistries: ['*.bad.io'] } } },
    }),
    nodePool('gpu', { tier: 'gpu' }, { config: [{ name: 'np-config' }] }),
    nodePool('cpu', { tier: 'cpu' }),
    cm('mirrors', {
      'idms.yaml': yamlSet('ImageDigestMirrorSet', 'hc-idms', 'registry.redhat.io', 'm.io/rh'),
      'itms.yaml': `${yamlSet('ImageTagMirrorSet', 'hc-itms', 'docker.io', 'm.io/hub')}---\n${yamlSet('ImageTagMirrorSet', 'hc-itms2', 'ghcr.io', 'm.io/gh')}`,
    }),
    cm('np-config', {
      config: `apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: mc}\n---\n${yamlSet('ImageDigestMirrorSet', 'np-idms', 'gcr.io', 'm.io/gcr')}`,
    }),
    set(OURS, 'ImageDigestMirrorSet', 'for-gpu', 'g.io', ['m.io/g'], { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gpu'] }] }),
    set(OURS, 'ImageDigestMirrorSet', 'for-cpu', 'c.io', ['m.io/c'], { matchLabels: { tier: 'cpu' } }),
    set(OURS, 'ImageTagMirrorSet', 'for-all', 'all.io', ['m.io/all']),
    registryAccess('ra', {
      nodePoolSelector: { matchLabels: { tier: 'gpu' } },
      hosts: [{ host: 'm.io', credentialsSecretRef: { namespace: 'clusters', name: 'pull' } }],
    }),
    pullSecret,
  ];

  it('reads the NodePool, its HostedCluster, their ConfigMaps and the cluster-scoped objects it selects', () => {
    const g = run(base(), NP);
    expect(problemLines(g)).to.deep.equal([]);
    expect(entryLines(g)).to.deep.equal([
      'digest quay.io/ocp -> m.io/ocp (HostedCluster hc)',
      'digest registry.redhat.io -> m.io/rh (ImageDigestMirrorSet hc-idms)',
      'tag docker.io -> m.io/hub (ImageTagMirrorSet hc-itms)',
      'tag ghcr.io -> m.io/gh (ImageTagMirrorSet hc-itms2)',
      'digest gcr.io -> m.io/gcr (ImageDigestMirrorSet np-idms)',
      'digest g.io -> m.io/g (ImageDigestMirrorSet for-gpu)',
      'tag all.io -> m.io/all (ImageTagMirrorSet for-all)',
    ]);
    expect(g.inputs.entries.find((e) => e.origin.name === 'np-idms')!.origin.location).to.equal('ConfigMap clusters/np-config key config:5, document 2');
    expect(g.inputs.entries.find((e) => e.origin.name === 'hc-itms2')!.origin.location).to.equal('ConfigMap clusters/mirrors key itms.yaml:9, document 2');
    expect(g.inputs.insecure.map((s) => `${s.scope} ${s.field}`)).to.deep.equal(['m.io spec.configuration.image.registrySources.insecureRegistries[0]']);
    expect(g.inputs.blocked.map((s) => s.scope)).to.deep.equal(['*.bad.io']);
    expect(g.inputs.access.map((a) => [a.host, a.auth])).to.deep.equal([['m.io', { username: 'u', password: 'pw-not-in-messages' }]]);
    expect(g.references).to.deep.equal([
      { kind: 'ConfigMap', namespace: 'clusters', name: 'mirrors' },
      { kind: 'ConfigMap', namespace: 'clusters', name: 'np-config' },
      { kind: 'HostedCluster', namespace: 'clusters', name: 'hc' },
      { kind: 'NodePool', namespace: 'clusters', name: 'gpu' },
      { kind: 'Secret', namespace: 'clusters', name: 'pull' },
    ]);
    expect(g.nodePool!.metadata.name).to.equal('gpu');
    expect(g.hostedCluster!.metadata.name).to.equal('hc');
    const contributors = g.inputs.contributors.map((o) => `${o.kind} ${o.namespace ?? ''}/${o.name}`);
    expect(contributors).to.include.members([
      'ConfigMap clusters/mirrors',
      'ConfigMap clusters/np-config',
      'HostedCluster clusters/hc',
      'NodePool clusters/gpu',
      'Secret clusters/pull',
      'RegistryAccess /ra',
      'ImageDigestMirrorSet /np-idms',
    ]);
    expect(contributors).to.not.include('ImageDigestMirrorSet /for-cpu');
  });

  it('another NodePool of the same cluster gets its own selection', () => {
    const g = run(base(), { kind: 'NodePool', namespace: 'clusters', name: 'cpu' });
    expect(problemLines(g)).to.deep.equal([]);
    expect(entryLines(g)).to.include('digest c.io -> m.io/c (ImageDigestMirrorSet for-cpu)');
    expect(entryLines(g).some((l) => l.includes('g.io') || l.includes('gcr.io'))).to.equal(false);
    expect(g.inputs.access).to.deep.equal([]);
  });

  it('does not depend on the order of objects', () => {
    const objects = base();
    const want = JSON.stringify(run(objects, NP));
    for (let shift = 1; shift < objects.length; shift++) {
      const rotated = [...objects.slice(shift), ...objects.slice(0, shift)];
      expect(JSON.stringify(run(rotated.reverse(), NP))).to.equal(want);
    }
  });

  for (const kind of ['ImageDigestMirrorSet', 'ImageTagMirrorSet'] as SetKind[]) {
    it(`${kind}: nodePoolSelector picks NodePools by label`, () => {
      const objects = [
        hostedCluster(),
        nodePool('gpu', { tier: 'gpu', zone: 'a' }),
        set(OURS, kind, 'yes', 'y.io', ['m.io/y'], { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }),
        set(OURS, kind, 'no', 'n.io', ['m.io/n'], { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gpu'] }] }),
        set(OURS, kind, 'empty', 'e.io', ['m.io/e'], {}),
      ];
      const g = run(objects, NP);
      expect(g.inputs.entries.map((e) => e.origin.name)).to.deep.equal(['empty', 'yes']);
    });
  }

  it('accepts spec.imageMirrorConfig as well as imageMirrorConfigRef', () => {
    const objects = [
      hostedCluster({ imageMirrorConfig: { name: 'mirrors' } }),
      nodePool('gpu', {}),
      cm('mirrors', { 'idms.yaml': yamlSet('ImageDigestMirrorSet', 'x', 'a.io', 'm.io') }),
    ];
    expect(entryLines(run(objects, NP))).to.deep.equal(['digest a.io -> m.io (ImageDigestMirrorSet x)']);
    expect(run(objects, NP).warnings ?? []).to.deep.equal([]);
  });

  it('with both imageMirrorConfigRef and imageMirrorConfig set: the Ref is used, the other is neither read nor silent (a warning)', () => {
    const table: Array<{ why: string; ignored: string; message: string }> = [
      {
        why: 'two ConfigMaps',
        ignored: 'old-mirrors',
        message:
          'sets both spec.imageMirrorConfigRef and spec.imageMirrorConfig: ConfigMap clusters/mirrors (spec.imageMirrorConfigRef.name) is used, ' +
          'clusters/old-mirrors (spec.imageMirrorConfig.name) is ignored; remove spec.imageMirrorConfig',
      },
      {
        why: 'the same ConfigMap twice',
        ignored: 'mirrors',
        message: 'sets both spec.imageMirrorConfigRef and spec.imageMirrorConfig: both name ConfigMap clusters/mirrors; remove spec.imageMirrorConfig',
      },
    ];
    for (const row of table) {
      const objects = [
        hostedCluster({ imageMirrorConfigRef: { name: 'mirrors' }, imageMirrorConfig: { name: row.ignored } }),
        nodePool('gpu', {}),
        cm('mirrors', { 'idms.yaml': yamlSet('ImageDigestMirrorSet', 'x', 'a.io', 'm.io') }),
        cm('old-mirrors', { 'idms.yaml': yamlSet('ImageDigestMirrorSet', 'y', 'b.io', 'n.io') }),
      ];
      const g = run(objects, NP);
      expect(entryLines(g), row.why).to.deep.equal(['digest a.io -> m.io (ImageDigestMirrorSet x)']);
      expect(
        g.references.map((r) => r.name),
        row.why,
      ).to.not.include('old-mirrors');
      expect(g.warnings, row.why).to.deep.equal([
        { code: 'AmbiguousReference', renderer: 'inputs', source: 'HostedCluster clusters/hc', message: row.message },
      ]);
    }
  });

  it('never reads a ConfigMap labelled as one of our outputs, but records the lookup', () => {
    const objects = [
      hostedCluster(),
      nodePool('gpu', {}, { config: [{ name: 'gpu-image-mirrors' }] }),
      cm('gpu-image-mirrors', { config: yamlSet('ImageDigestMirrorSet', 'loop', 'a.io', 'm.io') }, { 'imagemirror.io/output': 'true' }),
    ];
    const g = run(objects, NP);
    expect(g.problems).to.deep.equal([]);
    expect(g.inputs.entries).to.deep.equal([]);
    expect(g.references).to.deep.include({ kind: 'ConfigMap', namespace: 'clusters', name: 'gpu-image-mirrors' });
    expect(g.inputs.contributors.map((o) => o.name)).to.not.include('gpu-image-mirrors');
  });

  const failures: Array<[string, KubeObject[], string[]]> = [
    ['a missing NodePool', [hostedCluster()], ['NodePool clusters/gpu not found [MissingReference]']],
    ['a missing HostedCluster', [nodePool('gpu', {})], ['NodePool clusters/gpu: spec.clusterName: HostedCluster clusters/hc not found [MissingReference]']],
    [
      'a missing NodePool config ConfigMap',
      [hostedCluster(), nodePool('gpu', {}, { config: [{ name: 'gone' }] })],
      ['NodePool clusters/gpu: spec.config[0].name: ConfigMap clusters/gone not found [MissingReference]'],
    ],
    [
      'a NodePool config ConfigMap without key config',
      [hostedCluster(), nodePool('gpu', {}, { config: [{ name: 'c' }] }), cm('c', { other: '' })],
      ['NodePool clusters/gpu: spec.config[0].name: ConfigMap clusters/c has no key "config" [InvalidReference]'],
    ],
    [
      'a missing mirror ConfigMap',
      [hostedCluster({ imageMirrorConfigRef: { name: 'gone' } }), nodePool('gpu', {})],
      ['HostedCluster clusters/hc: spec.imageMirrorConfigRef.name: ConfigMap clusters/gone not found [MissingReference]'],
    ],
    [
      'a mirror ConfigMap without its keys',
      [hostedCluster({ imageMirrorConfigRef: { name: 'm' } }), nodePool('gpu', {}), cm('m', { 'idms.yml': '' })],
      ['HostedCluster clusters/hc: spec.imageMirrorConfigRef.name: ConfigMap clusters/m has neither key idms.yaml nor itms.yaml [InvalidReference]'],
    ],
    [
      'another kind inside the mirror ConfigMap',
      [
        hostedCluster({ imageMirrorConfigRef: { name: 'm' } }),
        nodePool('gpu', {}),
        cm('m', { 'idms.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n' }),
      ],
      [
        'ConfigMap clusters/m key idms.yaml:1: kind Secret of apiVersion v1 is not supported here (allowed: ImageDigestMirrorSet, ImageTagMirrorSet, ImageContentSourcePolicy) [UnsupportedKind]',
      ],
    ],
    [
      'an invalid mirror inside a NodePool config document',
      [hostedCluster(), nodePool('gpu', {}, { config: [{ name: 'c' }] }), cm('c', { config: yamlSet('ImageTagMirrorSet', 't', 'a.io', '"m.io/../x"') })],
      [
        'ImageTagMirrorSet t (ConfigMap clusters/c key config:1): spec.imageTagMirrors[0].mirrors[0]: invalid mirror "m.io/../x": path component ".." is not allowed [InvalidMirror]',
      ],
    ],
    [
      'broken YAML inside a NodePool config ConfigMap',
      [hostedCluster(), nodePool('gpu', {}, { config: [{ name: 'c' }] }), cm('c', { config: 'a: b\n  c: d\n' })],
      ['ConfigMap clusters/c key config:2:4: invalid YAML: bad indentation of a mapping entry [InvalidYAML]'],
    ],
    [
      'an invalid NodePool',
      [hostedCluster(), { apiVersion: HS, kind: 'NodePool', metadata: { name: 'gpu', namespace: 'clusters' }, spec: {} }],
      ['NodePool clusters/gpu: spec.clusterName: is required [InvalidDocument]'],
    ],
    [
      'the same host in two RegistryAccess objects',
      [
        hostedCluster(),
        nodePool('gpu', {}),
        registryAccess('a', { hosts: [{ host: 'm.io' }] }),
        registryAccess('b', { hosts: [{ host: 'm.io', plainHTTP: true }] }),
      ],
      ['RegistryAccess b: spec.hosts[0]: host "m.io" is also set by RegistryAccess a spec.hosts[0]; a target takes one setting per host [DuplicateAccess]'],
    ],
    [
      'two default mirrors for one target',
      [
        hostedCluster(),
        nodePool('gpu', {}),
        registryAccess('a', { defaultMirror: { mirror: 'c.io' } }),
        registryAccess('b', { defaultMirror: { mirror: 'd.io' } }),
      ],
      [
        'RegistryAccess b: spec.defaultMirror: defaultMirror is also set by RegistryAccess a spec.defaultMirror; a target takes one default mirror [DuplicateAccess]',
      ],
    ],
  ];
  for (const [why, objects, want] of failures) {
    it(`reports ${why}`, () => {
      const g = run(objects, NP);
      expect(problemLines(g)).to.deep.equal(want);
      expect(JSON.stringify(g.problems)).to.not.include('    at ');
    });
  }

  it('never puts secret values into problems', () => {
    const objects = [...base(), registryAccess('dup', { hosts: [{ host: 'm.io', credentialsSecretRef: { namespace: 'clusters', name: 'pull' } }] })];
    const g = run(objects, NP);
    expect(g.problems.map((p) => p.reason)).to.deep.equal(['DuplicateAccess']);
    expect(JSON.stringify(g.problems)).to.not.include('pw-not-in-messages');
  });

  it('fills in apiVersion and kind of looked-up objects that lack them (built-in list items), without touching the source', () => {
    const bare = (o: KubeObject): KubeObject => {
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest as KubeObject;
    };
    const secret = bare(pullSecret);
    const objects = [...base().filter((o) => o.kind !== 'Secret'), secret];
    const source = new FileObjectSource(objects);
    // FileObjectSource indexes by kind, so serve the bare Secret through a wrapper.
    const g = gather({ clusterScoped: () => source.clusterScoped(), get: (k, ns, n) => (k === 'Secret' && n === 'pull' ? secret : source.get(k, ns, n)) }, NP);
    expect(problemLines(g)).to.deep.equal([]);
    expect(g.inputs.access[0]!.auth).to.deep.equal({ username: 'u', password: 'pw-not-in-messages' });
    expect(g.inputs.contributors.map((o) => `${o.apiVersion} ${o.kind} ${o.name}`)).to.include('v1 Secret pull');
    expect(secret).to.not.have.property('kind');
  });
});
