import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectSource, MAX_FILE_BYTES, loadPaths } from '../../../src/model/files.js';
import { locationOf } from '../../../src/model/parse.js';
import type { KubeObject } from '../../../src/model/source.js';

const idms = (name: string, apiVersion = 'config.openshift.io/v1'): string =>
  `apiVersion: ${apiVersion}\nkind: ImageDigestMirrorSet\nmetadata: {name: ${name}}\nspec: {}\n`;
const configMap = (name: string, ns?: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}\n`;

describe('files: loadPaths and FileObjectSource', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'model-files-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (rel: string, text: string): string => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  it('walks directories recursively in byte order, taking .yaml, .yml and .json and skipping dot names', () => {
    write('b.yaml', idms('b'));
    write('a.yml', idms('a'));
    write('sub/c.json', JSON.stringify({ apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', metadata: { name: 'c' }, spec: {} }));
    write('sub/Z.yaml', idms('z'));
    write('notes.txt', 'not yaml: [');
    write('.hidden.yaml', idms('hidden'));
    write('.git/config.yaml', idms('git'));
    const r = loadPaths([dir]);
    expect(r.problems).to.deep.equal([]);
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['a', 'b', 'z', 'c']);
    expect(locationOf(r.objects[3]!)).to.equal(`${join(dir, 'sub/c.json')}:1`);
  });

  it('reads a file given explicitly whatever its name, in the order given', () => {
    const txt = write('mirrors.txt', idms('t'));
    const y = write('x.yaml', idms('x'));
    expect(loadPaths([y, txt]).objects.map((o) => o.metadata.name)).to.deep.equal(['x', 't']);
  });

  it('reports unreadable paths and parse errors with their file names, and keeps going', () => {
    const bad = write('bad.yaml', 'a: b\n  c: d\n');
    write('good/ok.yaml', idms('ok'));
    const r = loadPaths([join(dir, 'missing.yaml'), bad, join(dir, 'good')]);
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['ok']);
    expect(r.problems.map((p) => [p.reason, p.message])).to.deep.equal([
      ['InvalidDocument', `${join(dir, 'missing.yaml')}: cannot read: no such file or directory`],
      ['InvalidYAML', `${bad}:2:4: invalid YAML: bad indentation of a mapping entry`],
    ]);
  });

  it('reports unsupported kinds in files', () => {
    const p = write('mc.yaml', 'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: m}\n');
    expect(loadPaths([p]).problems.map((x) => x.reason)).to.deep.equal(['UnsupportedKind']);
  });

  it('reports an object defined twice, naming both places, and keeps the first', () => {
    const a = write('a.yaml', `${idms('dup')}---\n${configMap('c', 'ns')}`);
    const b = write('b.yaml', `${configMap('other')}---\n${idms('dup')}---\n${idms('dup', 'imagemirror.io/v1alpha1')}---\n${configMap('c', 'ns')}`);
    const r = loadPaths([a, b]);
    expect(r.problems.map((p) => [p.reason, p.message])).to.deep.equal([
      ['InvalidDocument', `ImageDigestMirrorSet dup is defined twice: at ${a}:1, document 1 and at ${b}:5, document 2`],
      ['InvalidDocument', `ConfigMap ns/c is defined twice: at ${a}:6, document 2 and at ${b}:15, document 4`],
    ]);
    expect(r.objects.map((o) => `${o.apiVersion} ${o.metadata.name} ${locationOf(o)}`)).to.deep.equal([
      `config.openshift.io/v1 dup ${a}:1, document 1`,
      `v1 c ${a}:6, document 2`,
      `v1 other ${b}:1, document 1`,
      `imagemirror.io/v1alpha1 dup ${b}:10, document 3`,
    ]);
  });

  it('refuses a file over the size limit without reading it', () => {
    const p = join(dir, 'huge.yaml');
    writeFileSync(p, '');
    truncateSync(p, MAX_FILE_BYTES + 1); // sparse: costs no disk
    const r = loadPaths([p]);
    expect(r.problems.map((x) => [x.reason, x.message])).to.deep.equal([['DocumentTooLarge', `${p}: file is larger than 64 MiB`]]);
  });

  it('survives a symbolic link loop', () => {
    write('d/x.yaml', idms('x'));
    symlinkSync(dir, join(dir, 'd', 'loop'));
    const r = loadPaths([dir]);
    expect(r.problems).to.deep.equal([]);
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['x']);
  });

  it('FileObjectSource indexes namespaced kinds by namespace/name and lists cluster-scoped inputs', () => {
    const objects: KubeObject[] = loadPaths([
      write(
        'all.yaml',
        [
          idms('i'),
          idms('o', 'imagemirror.io/v1alpha1'),
          'apiVersion: imagemirror.io/v1alpha1\nkind: ImageTagMirrorSet\nmetadata: {name: t}\nspec: {}\n',
          'apiVersion: imagemirror.io/v1alpha1\nkind: RegistryAccess\nmetadata: {name: r}\nspec: {}\n',
          'apiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata: {name: p}\nspec: {}\n',
          'apiVersion: config.openshift.io/v1\nkind: Image\nmetadata: {name: cluster}\nspec: {}\n',
          configMap('c'),
          'apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\n',
          'apiVersion: hypershift.openshift.io/v1beta1\nkind: NodePool\nmetadata: {name: np2, namespace: b}\nspec: {clusterName: hc}\n',
          'apiVersion: hypershift.openshift.io/v1beta1\nkind: NodePool\nmetadata: {name: np1, namespace: b}\nspec: {clusterName: hc}\n',
          'apiVersion: hypershift.openshift.io/v1beta1\nkind: HostedCluster\nmetadata: {name: hc, namespace: b}\nspec: {}\n',
        ].join('---\n'),
      ),
    ]).objects;
    const src = new FileObjectSource(objects);
    expect(src.clusterScoped().map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal([
      'ImageDigestMirrorSet/i',
      'ImageDigestMirrorSet/o',
      'ImageTagMirrorSet/t',
      'RegistryAccess/r',
      'ImageContentSourcePolicy/p',
      'Image/cluster',
    ]);
    expect(src.get('ConfigMap', 'default', 'c')?.metadata.name).to.equal('c');
    expect(src.get('Secret', 'ns', 's')?.metadata.name).to.equal('s');
    expect(src.get('Secret', 'default', 's')).to.equal(undefined);
    expect(src.get('ConfigMap', 'ns', 's')).to.equal(undefined);
    expect(src.get('HostedCluster', 'b', 'hc')?.kind).to.equal('HostedCluster');
    expect(src.nodePools().map((o) => o.metadata.name)).to.deep.equal(['np1', 'np2']);
  });
});
