// Inputs that say nothing (docs/api.md "Empty inputs"): a HostedCluster
// mirror ConfigMap key that holds no mirror set makes the target Degraded
// (EmptyInput, the last good output stays); a NodePool spec.config
// ConfigMap whose `config` holds no document is a warning.
import { expect } from 'chai';
import { FileObjectSource } from '../../../src/model/files.js';
import { holdsNoDocuments } from '../../../src/model/parse.js';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { formatProblem } from '../../../src/model/types.js';
import { RenderMemo, renderTarget } from '../../../src/pipeline.js';

const HS = 'hypershift.openshift.io/v1beta1';
const NP: Target = { kind: 'NodePool', namespace: 'clusters', name: 'workers' };

const IDMS =
  'apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: d}\nspec:\n  imageDigestMirrors:\n  - source: quay.io\n    mirrors: [m.io/quay]\n';
const ITMS =
  'apiVersion: config.openshift.io/v1\nkind: ImageTagMirrorSet\nmetadata: {name: t}\nspec:\n  imageTagMirrors:\n  - source: quay.io\n    mirrors: [m.io/quay]\n';
const MACHINE_CONFIG = 'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: x}\nspec: {}\n';

function cm(name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'clusters' }, data };
}

function world(mirrorData: Record<string, string> | undefined, configs: Record<string, string> = {}, npName = 'workers'): KubeObject[] {
  const hcSpec: Record<string, unknown> = mirrorData ? { imageMirrorConfigRef: { name: 'mirrors' } } : {};
  const objects: KubeObject[] = [
    { apiVersion: HS, kind: 'HostedCluster', metadata: { name: 'hc', namespace: 'clusters' }, spec: hcSpec },
    {
      apiVersion: HS,
      kind: 'NodePool',
      metadata: { name: npName, namespace: 'clusters' },
      spec: { clusterName: 'hc', config: Object.keys(configs).map((name) => ({ name })) },
    },
    ...Object.entries(configs).map(([name, config]) => cm(name, { config })),
  ];
  if (mirrorData) objects.push(cm('mirrors', mirrorData));
  return objects;
}

function problems(objects: KubeObject[]): string[] {
  const r = renderTarget(new FileObjectSource(objects), NP);
  return r.outcome.ok ? [] : r.outcome.errors.map(formatProblem);
}

describe('empty inputs', () => {
  const EMPTY: [string, string][] = [
    ['', 'an empty key'],
    ['---\n', 'only a document marker'],
    ['# mirrors moved elsewhere\n---\n...\n', 'comments and markers'],
    ['apiVersion: v1\nkind: List\nitems: []\n', 'an empty List'],
  ];
  for (const [text, why] of EMPTY) {
    it(`idms.yaml holding no mirror set (${why}) is EmptyInput, even next to a valid itms.yaml`, () => {
      expect(problems(world({ 'idms.yaml': text, 'itms.yaml': ITMS }))).to.deep.equal([
        'ConfigMap clusters/mirrors: data["idms.yaml"]: key idms.yaml holds no ImageDigestMirrorSet or ImageTagMirrorSet (it is empty or only "---"); ' +
          'restore its documents, or remove the key to drop its mirrors [EmptyInput]',
      ]);
    });
  }

  it('itms.yaml emptied is reported the same way', () => {
    expect(problems(world({ 'idms.yaml': IDMS, 'itms.yaml': '---' }))[0]).to.match(/data\["itms.yaml"\]: key itms.yaml holds no .* \[EmptyInput\]$/);
  });

  it('a removed key is a deliberate change: no problem while the other key holds mirror sets', () => {
    expect(problems(world({ 'itms.yaml': ITMS }))).to.deep.equal([]);
  });

  it('a referenced ConfigMap with neither key is InvalidReference', () => {
    expect(problems(world({ other: IDMS }))).to.deep.equal([
      'HostedCluster clusters/hc: spec.imageMirrorConfigRef.name: ConfigMap clusters/mirrors has neither key idms.yaml nor itms.yaml [InvalidReference]',
    ]);
  });

  it('a spec.config ConfigMap whose config holds no document renders, with an EmptyInput warning', () => {
    const r = renderTarget(new FileObjectSource(world(undefined, { empty: '---\n', machines: MACHINE_CONFIG, mirrors: IDMS })), NP);
    expect(r.outcome.ok, JSON.stringify(r.outcome)).to.equal(true);
    const warnings = r.outcome.ok ? r.outcome.output.warnings.filter((w) => w.code === 'EmptyInput') : [];
    // Only the empty one: a ConfigMap of MachineConfigs is what spec.config is for.
    expect(warnings).to.deep.equal([
      {
        code: 'EmptyInput',
        renderer: 'inputs',
        source: 'ConfigMap clusters/empty key config',
        message: 'holds no documents, so NodePool clusters/workers spec.config[0] configures nothing',
      },
    ]);
  });

  it('the warning belongs to its target: targets that share a render through the memo do not share it', () => {
    const memo = new RenderMemo();
    const objects = [...world(undefined, { empty: '' }), ...world(undefined, {}, 'other').slice(1)];
    const withEmpty = renderTarget(new FileObjectSource(objects), NP, memo);
    const without = renderTarget(new FileObjectSource(objects), { kind: 'NodePool', namespace: 'clusters', name: 'other' }, memo);
    expect(memo.hits).to.equal(1);
    const codes = (r: typeof without): string[] => (r.outcome.ok ? r.outcome.output.warnings.map((w) => w.code) : ['failed']);
    expect(codes(withEmpty)).to.include('EmptyInput');
    expect(codes(without)).to.not.include('EmptyInput');
  });

  it('holdsNoDocuments: blank text, comments and markers only', () => {
    for (const t of ['', '\n', '---', '--- # c\n', '...\n', '  # indented comment\r\n---\n']) expect(holdsNoDocuments(t), JSON.stringify(t)).to.equal(true);
    for (const t of ['a: 1', '--- a', 'null', '- x', '---\nkind: List\n']) expect(holdsNoDocuments(t), JSON.stringify(t)).to.equal(false);
  });
});
