// The CEL validation rules of our CRDs (x-kubernetes-validations), read from
// the files and evaluated with a CEL implementation: every reference field
// answers common mistakes in the operator's own words, never refuses what
// the operator accepts, and says what the operator would say. The upstream
// `pattern` stays beside the rules as the backstop (crds.test.ts). The real
// API server runs the same rules in e2e/crd-validation.test.ts; the
// bounds below keep their cost within what it accepts.
import { evaluate } from '@marcbachmann/cel-js';
import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_REFERENCE_LENGTH, referenceError, type ReferenceForm } from '../../../src/model/patterns.js';
import { arr, crdSchema, documents, isObject, schemaAt, schemaNodes, str, type JsonObject } from './manifests.js';

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
}

function crd(file: string): JsonObject {
  return crdSchema(documents(`crds/${file}`)[0]!);
}

const IDMS = crd('imagemirror.io_imagedigestmirrorsets.yaml');
const ITMS = crd('imagemirror.io_imagetagmirrorsets.yaml');
const RA = crd('imagemirror.io_registryaccesses.yaml');

function rulesAt(schema: JsonObject, path: string): Rule[] {
  return arr(schemaAt(schema, path), 'x-kubernetes-validations').map((r) => r as unknown as Rule);
}

/** The message the API server would give for `self`, or undefined when every rule holds. */
function celMessage(rules: readonly Rule[], self: unknown): string | undefined {
  for (const r of rules) {
    if (evaluate(r.rule, { self }) === true) continue;
    return r.messageExpression ? String(evaluate(r.messageExpression, { self })) : r.message;
  }
  return undefined;
}

// Every reference field of our CRDs and the form the operator checks it as.
const FIELDS: [string, JsonObject, string, ReferenceForm][] = [
  ['IDMS source', IDMS, 'spec.imageDigestMirrors[].source', 'source'],
  ['IDMS mirrors[]', IDMS, 'spec.imageDigestMirrors[].mirrors[]', 'mirror'],
  ['ITMS source', ITMS, 'spec.imageTagMirrors[].source', 'source'],
  ['ITMS mirrors[]', ITMS, 'spec.imageTagMirrors[].mirrors[]', 'mirror'],
  ['RegistryAccess host', RA, 'spec.hosts[].host', 'host'],
  ['RegistryAccess insecureRegistries[]', RA, 'spec.insecureRegistries[]', 'scope'],
  ['RegistryAccess blockedRegistries[]', RA, 'spec.blockedRegistries[]', 'scope'],
  ['RegistryAccess defaultMirror.mirror', RA, 'spec.defaultMirror.mirror', 'mirror'],
  ['RegistryAccess defaultMirror.registries[]', RA, 'spec.defaultMirror.registries[]', 'host'],
];

// value, forms it is checked in, the words both the API server and the operator use (undefined: valid).
const ROWS: [string, ReferenceForm[], string | undefined][] = [
  ['quay.io', ['source', 'mirror', 'scope', 'host'], undefined],
  ['mirror.corp.example:5000/ocp/release', ['source', 'mirror', 'scope'], undefined],
  ['*.redhat.io', ['source', 'scope'], undefined],
  ['https://quay.io/ns', ['source', 'mirror', 'scope'], 'must not contain a URI scheme'],
  ['https://quay.io', ['host'], 'must not contain a URI scheme'],
  ['quay.io/ns@sha256:0123', ['source', 'mirror', 'scope'], 'must not contain a digest'],
  ['quay.io/ns/app:latest', ['source', 'mirror', 'scope'], 'must not contain a tag (":tag")'],
  ['quay.io/Ns/app', ['source', 'mirror', 'scope'], 'path components must be lower case'],
  ['Quay.io/NS', ['source', 'mirror', 'scope'], 'path components must be lower case'],
  ['Quay.io/foo', ['source', 'mirror', 'scope'], 'host names must be lower case'],
  ['MIRROR.corp:5000', ['source', 'mirror', 'scope', 'host'], 'host names must be lower case'],
  ['quay.io/ns/', ['source', 'mirror', 'scope'], 'path has an empty component ("//" or a trailing "/")'],
  ['quay.io//ns', ['source', 'mirror', 'scope'], 'path has an empty component ("//" or a trailing "/")'],
  ['*.quay.io', ['mirror'], 'wildcards ("*") are allowed only in sources and scopes'],
];

describe('CRD validation rules (CEL)', () => {
  for (const [label, schema, path, form] of FIELDS) {
    describe(label, () => {
      const node = schemaAt(schema, path);
      const rules = rulesAt(schema, path);

      it(`is at most ${MAX_REFERENCE_LENGTH} characters (an image reference) and has a rule with a message expression`, () => {
        expect(node.maxLength).to.equal(MAX_REFERENCE_LENGTH);
        expect(rules).to.have.length(1);
        expect(rules[0]!.messageExpression).to.be.a('string');
      });

      for (const [value, forms, words] of ROWS.filter(([, f]) => f.includes(form))) {
        it(`${JSON.stringify(value)}: ${words ?? 'accepted'}`, () => {
          const cel = celMessage(rules, value);
          if (words === undefined) {
            expect(cel).to.equal(undefined);
            expect(referenceError(value, form)).to.equal(undefined);
            return;
          }
          expect(forms).to.include(form);
          expect(cel).to.be.a('string').and.include(`"${value}": `).and.include(words);
          expect(referenceError(value, form), 'the operator says the same').to.include(words);
        });
      }

      it('never refuses what the operator accepts (generated references)', () => {
        const token = fc.constantFrom('a', 'b1', 'Z', '0', '.', '-', '_', '__', '/', ':', ':50', '*', '*.', 'io', '@', '//', 'https://');
        fc.assert(
          fc.property(
            fc.array(token, { maxLength: 8 }).map((t) => t.join('')),
            (value) => {
              if (celMessage(rules, value) !== undefined) expect(referenceError(value, form), value).to.be.a('string');
            },
          ),
          { numRuns: 500 },
        );
      });
    });
  }

  for (const [label, schema, list] of [
    ['IDMS', IDMS, 'imageDigestMirrors'],
    ['ITMS', ITMS, 'imageTagMirrors'],
  ] as const) {
    it(`${label}: an entry whose source has a path refuses a bare-host mirror, as the operator does`, () => {
      const rules = rulesAt(schema, `spec.${list}[]`);
      expect(celMessage(rules, { source: 'example.com/ns/app', mirrors: ['m0.mirror/ns/app', 'm1.mirror'] })).to.include('needs a path too');
      expect(celMessage(rules, { source: 'example.com/ns/app', mirrors: ['m0.mirror/ns/app'] })).to.equal(undefined);
      expect(celMessage(rules, { source: 'example.com', mirrors: ['m1.mirror'] })).to.equal(undefined);
      expect(celMessage(rules, { source: '*.example.com', mirrors: ['m1.mirror'] })).to.equal(undefined);
      expect(celMessage(rules, { source: 'example.com/ns' })).to.equal(undefined);
    });
  }

  it("every list above a rule is bounded, so the API server can bound the rules' cost", () => {
    for (const schema of [IDMS, ITMS, RA]) {
      const unbounded: string[] = [];
      const walk = (node: JsonObject, path: string, lists: string[]): void => {
        const here = node.type === 'array' && node.maxItems === undefined ? [...lists, path] : lists;
        if (Array.isArray(node['x-kubernetes-validations']) && here.length > 0) unbounded.push(`${path} (under ${here.join(', ')})`);
        if (isObject(node.properties)) for (const [k, v] of Object.entries(node.properties)) if (isObject(v)) walk(v, `${path}.${k}`, here);
        if (isObject(node.items)) walk(node.items, `${path}[]`, here);
      };
      walk(schema, '', []);
      expect(unbounded).to.deep.equal([]);
    }
    expect(schemaAt(IDMS, 'spec.imageDigestMirrors').maxItems).to.equal(1000);
    expect(schemaAt(IDMS, 'spec.imageDigestMirrors[].mirrors').maxItems).to.equal(16);
    expect(
      schemaNodes(RA)
        .filter(({ node }) => node['x-kubernetes-validations'] !== undefined)
        .map(({ path }) => path),
    ).to.include.members(['spec.hosts[].ca', 'spec.hosts[].host']);
    expect(str(rulesAt(RA, 'spec.hosts[].ca')[0] as unknown as JsonObject, 'rule')).to.equal('has(self.configMapKeyRef) != has(self.secretKeyRef)');
  });
});
