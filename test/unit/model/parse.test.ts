import { expect } from 'chai';
import { MAX_DOCUMENT_BYTES, expandedSize, locationOf, parseObjects } from '../../../src/model/parse.js';
import type { Reason } from '../../../src/model/types.js';

const idms = (name: string): string => `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: ${name}\nspec: {}\n`;

function parse(text: string, otherKinds: 'error' | 'ignore' = 'error') {
  return parseObjects(text, { location: 'in.yaml', otherKinds });
}

describe('parse: text to objects', () => {
  it('reads several YAML documents, skipping empty ones, and remembers file, line and document', () => {
    const r = parse(`# leading comment\n---\n${idms('a')}---\n---\n${idms('b')}...\n`);
    expect(r.problems).to.deep.equal([]);
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['a', 'b']);
    expect(r.objects.map(locationOf)).to.deep.equal(['in.yaml:3, document 1', 'in.yaml:10, document 3']);
  });

  it('a single document has no document number in its location', () => {
    expect(locationOf(parse(idms('a')).objects[0]!)).to.equal('in.yaml:1');
  });

  it('reads JSON, including tab indentation that YAML forbids', () => {
    const json = '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "c", "namespace": "ns"}\n}';
    const r = parse(json);
    expect(r.problems).to.deep.equal([]);
    expect(r.objects[0]!.metadata).to.deep.equal({ name: 'c', namespace: 'ns' });
  });

  it('flattens kind: List and *List items, each with its own location', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }))],
    };
    const r = parse(
      `${JSON.stringify(list)}\n---\napiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSetList\nitems:\n- ${JSON.stringify({ apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', metadata: { name: 'x' } })}\n`,
    );
    expect(r.problems).to.deep.equal([]);
    expect(r.objects.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(['Secret/s', 'ImageDigestMirrorSet/x']);
    expect(locationOf(r.objects[0]!)).to.equal('in.yaml:1, document 1, items[0]');
  });

  it('gives namespaced kinds the namespace default and drops namespaces of cluster-scoped kinds (as kubectl)', () => {
    const r = parse(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${idms('x').replace('  name: x', '  name: x\n  namespace: ignored')}`);
    expect(r.objects[0]!.metadata.namespace).to.equal('default');
    expect(r.objects[1]!.metadata).to.not.have.property('namespace');
  });

  it('keeps YAML 1.2 scalars as strings where YAML 1.1 would not (dates, yes/no)', () => {
    const r = parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 2024-01-01, b: yes}\n');
    expect(r.objects[0]!.data).to.deep.equal({ a: '2024-01-01', b: 'yes' });
  });

  it('accepts merge keys, which kubectl accepts', () => {
    const r = parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  <<: {a: "1"}\n');
    expect(r.problems).to.deep.equal([]);
    expect(r.objects[0]!.data).to.deep.equal({ a: '1' });
  });

  it('ignores other kinds when asked (NodePool config ConfigMaps) and filters by kind list', () => {
    const text = `apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: m}\n---\n${idms('a')}---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n`;
    const r = parseObjects(text, { location: 'cm', kinds: ['IDMS', 'ITMS', 'ICSP'], otherKinds: 'ignore' });
    expect(r.problems).to.deep.equal([]);
    expect(r.objects.map((o) => o.kind)).to.deep.equal(['ImageDigestMirrorSet']);
    const strict = parseObjects(text, { location: 'cm', kinds: ['IDMS'], otherKinds: 'error' });
    expect(strict.problems.map((p) => p.reason)).to.deep.equal(['UnsupportedKind', 'UnsupportedKind']);
    expect(strict.problems[1]!.message).to.include('here (allowed: ImageDigestMirrorSet)');
  });

  it('skips v1 Namespace documents even where other kinds are errors (kubectl-apply directories carry them)', () => {
    const r = parse(
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: clusters\n---\n${idms('a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n`,
    );
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['a']);
    expect(r.problems.map((p) => p.reason)).to.deep.equal(['UnsupportedKind']);
  });

  it('an ignored kind needs no metadata.name (it is not ours to check)', () => {
    const r = parse('apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\n', 'ignore');
    expect(r.problems).to.deep.equal([]);
  });

  const errors: Array<[text: string, reason: Reason, message: string, why: string]> = [
    ['a: b\n  c: d\n', 'InvalidYAML', 'in.yaml:2:4: invalid YAML: bad indentation', 'syntax error with line and column'],
    ['a: [1, 2', 'InvalidYAML', 'in.yaml:1:9: invalid YAML: unexpected end of the stream', 'unclosed flow sequence'],
    ['a: 1\na: 2\n', 'InvalidYAML', 'duplicated mapping key', 'duplicate keys are ambiguous'],
    ['a: !!binary aGk=\n', 'InvalidYAML', 'unknown scalar tag', 'no tags beyond the core schema'],
    ['a: !custom x\n', 'InvalidYAML', 'unknown scalar tag !<!custom>', 'no custom tags'],
    [`${'['.repeat(200)}`, 'InvalidYAML', 'maxDepth', 'deep nesting is refused'],
    [`${idms('ok')}---\na: b\n  c: d\n`, 'InvalidYAML', 'in.yaml:8:4', 'line numbers count from the top of the file'],
    ['- a\n- b\n', 'InvalidDocument', 'in.yaml:1: a sequence is not an object', 'a sequence document'],
    ['just text\n', 'InvalidDocument', 'the string "just text" is not an object', 'a scalar document'],
    ['kind: ConfigMap\nmetadata: {name: a}\n', 'InvalidDocument', 'ConfigMap document has no apiVersion', 'missing apiVersion'],
    ['apiVersion: v1\nmetadata: {name: a}\n', 'InvalidDocument', 'document has no kind', 'missing kind'],
    ['apiVersion: 1\nkind: ConfigMap\n', 'InvalidDocument', 'has an invalid apiVersion 1', 'apiVersion of the wrong type'],
    ['apiVersion: v1\nkind: ConfigMap\n', 'InvalidDocument', 'ConfigMap document has no metadata', 'missing metadata'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', 'InvalidDocument', 'has no metadata.name', 'missing name'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ""}\n', 'InvalidDocument', 'has an invalid metadata.name ""', 'empty name'],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 3}\n', 'InvalidDocument', 'invalid metadata.namespace 3', 'namespace of the wrong type'],
    ['apiVersion: v1\nkind: List\n', 'InvalidDocument', 'List has no items list', 'a List without items'],
    ['apiVersion: v1\nkind: List\nitems: [3]\n', 'InvalidDocument', 'items[0]: the number 3 is not an object', 'a List item that is not an object'],
    [
      'apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: m}\n',
      'UnsupportedKind',
      'kind MachineConfig of apiVersion machineconfiguration.openshift.io/v1 is not supported',
      'a kind this project does not read',
    ],
    [
      'apiVersion: config.openshift.io/v1alpha1\nkind: ImageDigestMirrorSet\nmetadata: {name: m}\n',
      'UnsupportedKind',
      'ImageDigestMirrorSet is read from apiVersion config.openshift.io/v1 or imagemirror.io/v1alpha1',
      'a known kind at an unknown version says which versions work',
    ],
  ];
  for (const [text, reason, message, why] of errors) {
    it(`${reason}: ${why}`, () => {
      const r = parse(text);
      expect(r.objects).to.deep.equal([]);
      expect(r.problems, JSON.stringify(r.problems)).to.have.length(1);
      expect(r.problems[0]!.reason).to.equal(reason);
      expect(r.problems[0]!.message).to.include(message);
      expect(r.problems[0]!.message).to.not.include('\n    at ');
    });
  }

  it('a syntax error in one document loses the whole text (the parser cannot resynchronise)', () => {
    const r = parse(`${idms('a')}---\n{ broken\n`);
    expect(r.objects).to.deep.equal([]);
    expect(r.problems.map((p) => p.reason)).to.deep.equal(['InvalidYAML']);
  });

  it('an invalid document does not hide the valid ones next to it', () => {
    const r = parse(`${idms('a')}---\n- x\n---\n${idms('b')}`);
    expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['a', 'b']);
    expect(r.problems.map((p) => p.message)).to.deep.equal([
      'in.yaml:7, document 2: a sequence is not an object (expected a mapping with apiVersion, kind and metadata)',
    ]);
  });

  describe('size limits', () => {
    it('refuses a document over 1 MiB and keeps the others', () => {
      const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: "${'x'.repeat(MAX_DOCUMENT_BYTES)}"\n`;
      const r = parse(`${idms('a')}---\n${big}---\n${idms('b')}`);
      expect(r.objects.map((o) => o.metadata.name)).to.deep.equal(['a', 'b']);
      expect(r.problems).to.have.length(1);
      expect(r.problems[0]!.reason).to.equal('DocumentTooLarge');
      expect(r.problems[0]!.message).to.match(/^in\.yaml:7, document 2: document is 1\.00 MiB, over the 1 MiB limit of a ConfigMap$/);
    });

    it('counts bytes, not characters', () => {
      const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  a: "${'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 10)}"\n`;
      expect(text.length).to.be.lessThan(MAX_DOCUMENT_BYTES);
      expect(parse(text).problems.map((p) => p.reason)).to.deep.equal(['DocumentTooLarge']);
    });

    it('refuses a large JSON document too', () => {
      const json = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x'.repeat(MAX_DOCUMENT_BYTES) } });
      expect(parse(json).problems.map((p) => p.reason)).to.deep.equal(['DocumentTooLarge']);
    });

    it('fails fast on a billion-laughs document', () => {
      const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 10; i++) {
        const prev = String.fromCharCode(96 + i);
        const cur = String.fromCharCode(97 + i);
        levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
      }
      const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
      const start = Date.now();
      const r = parse(text);
      expect(Date.now() - start).to.be.lessThan(1000);
      expect(r.problems).to.have.length(1);
      expect(r.problems[0]!.reason).to.equal('DocumentTooLarge');
      expect(r.problems[0]!.message).to.include('expands to more than 2 MiB through YAML aliases');
    });

    it('caps the number of aliases per document', () => {
      const aliases = Array(1001).fill('*x').join(', ');
      const r = parse(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: &x 1\ny: [${aliases}]\n`);
      expect(r.problems.map((p) => [p.reason, p.message])).to.deep.equal([['DocumentTooLarge', 'in.yaml:1: document uses more than 1000 YAML aliases']]);
    });

    it('allows modest alias use', () => {
      const r = parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx: &x {a: "1"}\ndata: *x\n');
      expect(r.problems).to.deep.equal([]);
      expect(r.objects[0]!.data).to.deep.equal({ a: '1' });
    });

    it('expandedSize stops counting once over budget', () => {
      const shared: unknown[] = ['x'.repeat(100)];
      let v: unknown = shared;
      for (let i = 0; i < 30; i++) v = [v, v];
      expect(expandedSize(v, 1000)).to.be.greaterThan(1000).and.lessThan(2000);
      expect(expandedSize({ ab: 'cd', n: 12 }, 1000)).to.equal(2 + 6 + 4 + 5 + 2);
    });
  });
});
