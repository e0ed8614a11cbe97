// The CRDs under crds/: well-formed, structural, documented (`kubectl explain`
// shows a description for every field), named as the shared contract says,
// and validating sources and mirrors with exactly the patterns of
// src/model/patterns.ts. The real API server accepting them is proven by the
// e2e suite, which installs them.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_PATTERN, HOST_RE, MIRROR_PATTERN, MIRROR_RE, SCOPE_PATTERN, SOURCE_PATTERN, SOURCE_RE } from '../../../src/model/patterns.js';
import { ROOT, arr, crdSchema, documents, isObject, obj, schemaAt, schemaNodes, str, yamlFiles, type Json, type JsonObject } from './manifests.js';

const CRD_FILES = yamlFiles('crds').filter((f) => !f.endsWith('kustomization.yaml'));

function loadCrd(file: string): JsonObject {
  const docs = documents(file);
  expect(docs, `${file}: one document`).to.have.length(1);
  return docs[0]!;
}

const CRDS = new Map(CRD_FILES.map((f) => [f, loadCrd(f)]));

function crd(name: string): JsonObject {
  for (const c of CRDS.values()) if (str(c, 'metadata', 'name') === name) return c;
  throw new Error(`no CRD ${name}`);
}

// What the shared contract fixes for each of our kinds.
const OURS = [
  { name: 'imagedigestmirrorsets.imagemirror.io', kind: 'ImageDigestMirrorSet', short: 'imidms', scope: 'Cluster' },
  { name: 'imagetagmirrorsets.imagemirror.io', kind: 'ImageTagMirrorSet', short: 'imitms', scope: 'Cluster' },
  { name: 'registryaccesses.imagemirror.io', kind: 'RegistryAccess', short: 'regaccess', scope: 'Cluster' },
  { name: 'renderedmirrorconfigs.imagemirror.io', kind: 'RenderedMirrorConfig', short: 'rmc', scope: 'Namespaced' },
] as const;

describe('CRDs', () => {
  it('finds the four imagemirror.io CRDs and the two HyperShift stand-ins', () => {
    const names = [...CRDS.values()].map((c) => str(c, 'metadata', 'name')).sort();
    expect(names).to.deep.equal([
      'hostedclusters.hypershift.openshift.io',
      'imagedigestmirrorsets.imagemirror.io',
      'imagetagmirrorsets.imagemirror.io',
      'nodepools.hypershift.openshift.io',
      'registryaccesses.imagemirror.io',
      'renderedmirrorconfigs.imagemirror.io',
    ]);
  });

  for (const [file, c] of CRDS) {
    describe(file, () => {
      it('is an apiextensions.k8s.io/v1 CRD named <plural>.<group>', () => {
        expect(c.apiVersion).to.equal('apiextensions.k8s.io/v1');
        expect(c.kind).to.equal('CustomResourceDefinition');
        expect(str(c, 'metadata', 'name')).to.equal(`${str(c, 'spec', 'names', 'plural')}.${str(c, 'spec', 'group')}`);
      });

      it('has one served storage version with a status subresource', () => {
        const v = obj(arr(c, 'spec', 'versions')[0]);
        expect(v.served, 'served').to.equal(true);
        expect(v.storage, 'storage').to.equal(true);
        expect(obj(v, 'subresources'), 'subresources').to.have.property('status');
      });

      it('is structural: every node typed, no properties beside additionalProperties, required fields exist', () => {
        expect(structuralViolations(crdSchema(c))).to.deep.equal([]);
      });

      it('describes every field, so that kubectl explain says what it is', () => {
        expect(undocumented(crdSchema(c))).to.deep.equal([]);
      });

      it('keeps metadata to `type: object` (the API server rejects anything else there)', () => {
        expect(obj(crdSchema(c), 'properties', 'metadata')).to.deep.equal({ type: 'object' });
      });
    });
  }

  for (const want of OURS) {
    describe(want.kind, () => {
      const c = crd(want.name);
      it(`is ${want.scope}, group imagemirror.io, version v1alpha1, short name ${want.short}, category imagemirror`, () => {
        expect(str(c, 'spec', 'group')).to.equal('imagemirror.io');
        expect(str(c, 'spec', 'scope')).to.equal(want.scope);
        expect(str(c, 'spec', 'names', 'kind')).to.equal(want.kind);
        expect(str(arr(c, 'spec', 'versions')[0], 'name')).to.equal('v1alpha1');
        expect(arr(c, 'spec', 'names', 'shortNames')).to.deep.equal([want.short]);
        expect(arr(c, 'spec', 'names', 'categories')).to.include('imagemirror');
      });

      it('has status.observedGeneration and standard metav1.Condition conditions keyed by type', () => {
        const status = obj(crdSchema(c), 'properties', 'status', 'properties');
        expect(obj(status, 'observedGeneration')).to.include({ type: 'integer', format: 'int64' });
        const conds = obj(status, 'conditions');
        expect(conds['x-kubernetes-list-type']).to.equal('map');
        expect(conds['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
        expect(arr(conds, 'items', 'required')).to.have.members(['type', 'status', 'lastTransitionTime', 'reason', 'message']);
        expect(arr(conds, 'items', 'properties', 'status', 'enum')).to.deep.equal(['True', 'False', 'Unknown']);
      });
    });
  }

  it("never claims OpenShift's short names idms/itms", () => {
    for (const c of CRDS.values()) {
      const shorts = (c.spec as JsonObject | undefined)?.names;
      const list = isObject(shorts) && Array.isArray(shorts.shortNames) ? shorts.shortNames : [];
      expect(list, str(c, 'metadata', 'name')).to.not.include.members(['idms', 'itms']);
    }
  });

  it('shares one condition schema and one label selector schema across our kinds', () => {
    const items = OURS.map((o) => obj(crdSchema(crd(o.name)), 'properties', 'status', 'properties', 'conditions', 'items'));
    for (const i of items.slice(1)) expect(i).to.deep.equal(items[0]);
    const selectors = OURS.filter((o) => o.kind !== 'RenderedMirrorConfig').map((o) => schemaAt(crdSchema(crd(o.name)), 'spec.nodePoolSelector'));
    for (const s of selectors.slice(1)) expect(s).to.deep.equal(selectors[0]);
  });

  it('prints the columns users look for', () => {
    const cols = (name: string): string[] => arr(arr(crd(name), 'spec', 'versions')[0], 'additionalPrinterColumns').map((col) => str(col, 'name'));
    expect(cols('imagedigestmirrorsets.imagemirror.io')).to.include.members(['Accepted', 'Age']);
    expect(cols('imagetagmirrorsets.imagemirror.io')).to.include.members(['Accepted', 'Age']);
    expect(cols('registryaccesses.imagemirror.io')).to.include.members(['Accepted', 'Age']);
    expect(cols('renderedmirrorconfigs.imagemirror.io')).to.deep.equal(['Target', 'Ready', 'Reason', 'Delivered', 'Sources', 'Hash', 'Content Hash', 'Age']);
  });

  it('lists exactly our four CRDs in crds/kustomization.yaml (never the HyperShift stand-ins)', () => {
    const k = documents('crds/kustomization.yaml')[0];
    expect(arr(k, 'resources')).to.deep.equal(CRD_FILES.filter((f) => !f.includes('hypershift-compat')).map((f) => f.slice('crds/'.length)));
  });
});

describe('CRD patterns', () => {
  const idms = crdSchema(crd('imagedigestmirrorsets.imagemirror.io'));
  const itms = crdSchema(crd('imagetagmirrorsets.imagemirror.io'));
  const ra = crdSchema(crd('registryaccesses.imagemirror.io'));

  // Every pattern-carrying reference field of our CRDs, with the export of
  // src/model/patterns.ts it must equal character for character.
  const FIELDS: [string, JsonObject, string, string][] = [
    ['IDMS source', idms, 'spec.imageDigestMirrors[].source', SOURCE_PATTERN],
    ['IDMS mirrors[]', idms, 'spec.imageDigestMirrors[].mirrors[]', MIRROR_PATTERN],
    ['ITMS source', itms, 'spec.imageTagMirrors[].source', SOURCE_PATTERN],
    ['ITMS mirrors[]', itms, 'spec.imageTagMirrors[].mirrors[]', MIRROR_PATTERN],
    ['RegistryAccess host', ra, 'spec.hosts[].host', HOST_PATTERN],
    ['RegistryAccess insecureRegistries[]', ra, 'spec.insecureRegistries[]', SCOPE_PATTERN],
    ['RegistryAccess blockedRegistries[]', ra, 'spec.blockedRegistries[]', SCOPE_PATTERN],
    ['RegistryAccess defaultMirror.mirror', ra, 'spec.defaultMirror.mirror', MIRROR_PATTERN],
    ['RegistryAccess defaultMirror.registries[]', ra, 'spec.defaultMirror.registries[]', HOST_PATTERN],
  ];
  for (const [label, schema, path, expected] of FIELDS) {
    it(`${label} uses the pattern of src/model/patterns.ts`, () => {
      const node = schemaAt(schema, path);
      expect(node.type).to.equal('string');
      expect(node.pattern).to.equal(expected);
    });
  }

  it('IDMS and ITMS keep upstream list semantics: entries atomic, mirrors a set, source required', () => {
    for (const [schema, list] of [
      [idms, 'imageDigestMirrors'],
      [itms, 'imageTagMirrors'],
    ] as const) {
      const entries = schemaAt(schema, `spec.${list}`);
      expect(entries['x-kubernetes-list-type']).to.equal('atomic');
      expect(schemaAt(schema, `spec.${list}[].mirrors`)['x-kubernetes-list-type']).to.equal('set');
      expect(arr(entries, 'items', 'required')).to.deep.equal(['source']);
      expect(schemaAt(schema, `spec.${list}[].mirrorSourcePolicy`).enum).to.deep.equal(['NeverContactSource', 'AllowContactingSource']);
    }
  });

  // Compiled with JavaScript's engine, the upstream patterns backtrack
  // exponentially on long invalid paths (see patterns.ts): rows stay short.
  const SOURCES: [string, boolean, string][] = [
    ['quay.io', true, 'host only'],
    ['mirror.corp.example:5000', true, 'host and port'],
    ['localhost', true, 'single-label host'],
    ['Registry.Example.COM', true, 'host labels may be upper case'],
    ['quay.io/openshift-release-dev/ocp-release', true, 'namespace and repository'],
    ['quay.io/a__b/c.d/e-f/g---h', true, 'every separator form'],
    ['registry.k8s.io:443/pause', true, 'port and path'],
    ['*.redhat.io', true, 'wildcard host'],
    ['*.a.b.c', true, 'deep wildcard host'],
    ['https://quay.io', false, 'scheme'],
    ['quay.io/repo:latest', false, 'tag'],
    ['quay.io/repo@sha256:0123456789abcdef', false, 'digest'],
    ['quay.io/Upper', false, 'upper-case path'],
    ['quay.io//repo', false, 'empty component'],
    ['quay.io/repo/', false, 'trailing slash'],
    ['quay.io/_repo', false, 'leading separator'],
    ['quay.io/a.-b', false, 'mixed separators'],
    ['-quay.io', false, 'label starts with a dash'],
    ['quay..io', false, 'empty label'],
    ['quay.io:port', false, 'non-numeric port'],
    ['*.quay.io/ns', false, 'wildcard with a path'],
    ['*.quay.io:5000', false, 'wildcard with a port'],
    ['quay.*.io', false, 'wildcard inside'],
    ['*', false, 'bare wildcard'],
    ['', false, 'empty'],
    [' quay.io', false, 'whitespace'],
  ];

  it('accepts and rejects sources as the table says, and agrees with SOURCE_RE', () => {
    const re = new RegExp(str(schemaAt(idms, 'spec.imageDigestMirrors[].source'), 'pattern'));
    for (const [value, valid, why] of SOURCES) {
      expect(re.test(value), `source ${JSON.stringify(value)}: ${why}`).to.equal(valid);
      expect(SOURCE_RE.test(value), `SOURCE_RE ${JSON.stringify(value)}: ${why}`).to.equal(valid);
    }
  });

  it('accepts mirrors as sources minus the wildcard form, and agrees with MIRROR_RE', () => {
    const re = new RegExp(str(schemaAt(itms, 'spec.imageTagMirrors[].mirrors[]'), 'pattern'));
    for (const [value, valid, why] of SOURCES) {
      const expected = valid && !value.startsWith('*');
      expect(re.test(value), `mirror ${JSON.stringify(value)}: ${why}`).to.equal(expected);
      expect(MIRROR_RE.test(value), `MIRROR_RE ${JSON.stringify(value)}: ${why}`).to.equal(expected);
    }
  });

  it('accepts RegistryAccess hosts as host[:port] only, and agrees with HOST_RE', () => {
    const re = new RegExp(str(schemaAt(ra, 'spec.hosts[].host'), 'pattern'));
    for (const [value, valid, why] of SOURCES) {
      const expected = valid && !value.startsWith('*') && !value.includes('/');
      expect(re.test(value), `host ${JSON.stringify(value)}: ${why}`).to.equal(expected);
      expect(HOST_RE.test(value), `HOST_RE ${JSON.stringify(value)}: ${why}`).to.equal(expected);
    }
  });
});

describe('CRD validation rules', () => {
  // The rules exist where the docs say and lists carrying them are bounded
  // (the API server refuses unbounded CEL cost). The rules on reference
  // fields are evaluated in cel.test.ts, and on the API server in e2e.
  it('RegistryAccess ca requires exactly one of configMapKeyRef and secretKeyRef', () => {
    const ra = crdSchema(crd('registryaccesses.imagemirror.io'));
    const rules = arr(schemaAt(ra, 'spec.hosts[].ca'), 'x-kubernetes-validations').map((r) => str(r, 'rule'));
    expect(rules).to.deep.equal(['has(self.configMapKeyRef) != has(self.secretKeyRef)']);
    expect(schemaAt(ra, 'spec.hosts').maxItems).to.be.a('number');
    expect(schemaAt(ra, 'spec.hosts')['x-kubernetes-list-map-keys']).to.deep.equal(['host']);
  });

  it('RenderedMirrorConfig target is immutable and complete for its kind', () => {
    const rmc = crdSchema(crd('renderedmirrorconfigs.imagemirror.io'));
    const rules = arr(schemaAt(rmc, 'spec.target'), 'x-kubernetes-validations').map((r) => str(r, 'rule'));
    expect(rules).to.include('self == oldSelf');
    expect(rules.some((r) => r.includes("self.kind == 'Cluster'"))).to.equal(true);
  });
});

describe('HyperShift stand-in CRDs', () => {
  const hc = crd('hostedclusters.hypershift.openshift.io');
  const np = crd('nodepools.hypershift.openshift.io');

  it('are v1beta1, namespaced, short names hc/np, and labelled as stand-ins', () => {
    for (const [c, short] of [
      [hc, 'hc'],
      [np, 'np'],
    ] as const) {
      expect(str(arr(c, 'spec', 'versions')[0], 'name')).to.equal('v1beta1');
      expect(str(c, 'spec', 'scope')).to.equal('Namespaced');
      expect(arr(c, 'spec', 'names', 'shortNames')).to.deep.equal([short]);
      expect(obj(c, 'metadata', 'labels')['imagemirror.io/compat']).to.equal('true');
    }
  });

  it('give a schema to every field image-mirror reads and keep the rest', () => {
    const hcs = crdSchema(hc);
    const nps = crdSchema(np);
    expect(schemaAt(hcs, 'spec.imageContentSources[].source').type).to.equal('string');
    expect(schemaAt(hcs, 'spec.imageContentSources[].mirrors[]').type).to.equal('string');
    expect(schemaAt(hcs, 'spec.imageMirrorConfigRef.name').type).to.equal('string');
    expect(schemaAt(hcs, 'spec.imageMirrorConfig.name').type).to.equal('string');
    expect(schemaAt(hcs, 'spec.configuration.image.registrySources.insecureRegistries[]').type).to.equal('string');
    expect(schemaAt(hcs, 'spec.configuration.image.registrySources.blockedRegistries[]').type).to.equal('string');
    expect(schemaAt(nps, 'spec.clusterName').type).to.equal('string');
    expect(schemaAt(nps, 'spec.config[].name').type).to.equal('string');
    expect(schemaAt(nps, 'spec.replicas').type).to.equal('integer');
    for (const s of [hcs, nps]) {
      expect(schemaAt(s, 'spec')['x-kubernetes-preserve-unknown-fields']).to.equal(true);
      expect(schemaAt(s, 'status')['x-kubernetes-preserve-unknown-fields']).to.equal(true);
    }
  });

  it('come with a README warning against installing them next to HyperShift', () => {
    const readme = readFileSync(join(ROOT, 'crds/hypershift-compat/README.md'), 'utf8');
    expect(readme).to.match(/Never install these on a HyperShift management cluster/);
  });
});

/** Structural-schema rules of apiextensions.k8s.io/v1 that a file can break. */
function structuralViolations(root: JsonObject): string[] {
  const out: string[] = [];
  for (const { path, node } of schemaNodes(root)) {
    const where = path || '<root>';
    const open = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
    if (typeof node.type !== 'string' && !open) out.push(`${where}: no type`);
    if (node.properties !== undefined && node.additionalProperties !== undefined) {
      out.push(`${where}: properties and additionalProperties together`);
    }
    if (node.type === 'array' && !isObject(node.items)) out.push(`${where}: array without items`);
    for (const r of Array.isArray(node.required) ? node.required : []) {
      if (typeof r !== 'string' || !isObject(node.properties) || !(r in node.properties)) {
        out.push(`${where}: required ${String(r)} is not a property`);
      }
    }
    out.push(...listTypeViolations(where, node));
  }
  return out;
}

function listTypeViolations(where: string, node: JsonObject): string[] {
  const type: Json | undefined = node['x-kubernetes-list-type'];
  if (type === undefined) return [];
  if (node.type !== 'array') return [`${where}: list-type on a non-array`];
  if (type !== 'map') return ['atomic', 'set'].includes(String(type)) ? [] : [`${where}: unknown list-type ${String(type)}`];
  const keys = node['x-kubernetes-list-map-keys'];
  const required = isObject(node.items) && Array.isArray(node.items.required) ? node.items.required : [];
  if (!Array.isArray(keys) || keys.length === 0) return [`${where}: map list without keys`];
  return keys.filter((k) => !required.includes(k)).map((k) => `${where}: map key ${String(k)} is not required`);
}

/** Fields (and object items) without a description; root metadata may not have one. */
function undocumented(root: JsonObject): string[] {
  return schemaNodes(root)
    .filter(({ path, node, via }) => {
      if (path === 'metadata') return false;
      const needs = via === 'root' || via === 'property' || (via === 'items' && node.type === 'object');
      return needs && (typeof node.description !== 'string' || node.description.trim() === '');
    })
    .map(({ path }) => path || '<root>');
}
