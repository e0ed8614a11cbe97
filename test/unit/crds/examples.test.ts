// The examples under examples/: every object is valid against the CRD it
// belongs to, each folder applies on its own (namespaces declared, every
// reference resolvable inside the folder), and credentials are obviously
// fake and live only in Secrets.
import { expect } from 'chai';
import { Ajv, type ValidateFunction } from 'ajv';
import { dirname } from 'node:path';
import { loadAll } from 'js-yaml';
import { MIRROR_RE, SOURCE_RE } from '../../../src/model/patterns.js';
import { arr, crdSchema, documents, isObject, obj, plainJsonSchema, str, yamlFiles, type Json, type JsonObject } from './manifests.js';

interface Placed {
  file: string;
  object: JsonObject;
}

const FILES = yamlFiles('examples');
const OBJECTS: Placed[] = FILES.flatMap((file) => documents(file).map((object) => ({ file, object })));
const FOLDERS = [...new Set(FILES.map((f) => dirname(f)))];

// Kinds with a CRD in this repository: apiVersion/kind -> schema validator.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const VALIDATORS = new Map<string, { validate: ValidateFunction; namespaced: boolean }>();
for (const file of yamlFiles('crds').filter((f) => !f.endsWith('kustomization.yaml'))) {
  const crd = documents(file)[0]!;
  const version = str(arr(crd, 'spec', 'versions')[0], 'name');
  const key = `${str(crd, 'spec', 'group')}/${version}/${str(crd, 'spec', 'names', 'kind')}`;
  const schema = plainJsonSchema(crdSchema(crd)) as JsonObject;
  VALIDATORS.set(key, { validate: ajv.compile(schema), namespaced: str(crd, 'spec', 'scope') === 'Namespaced' });
}

const BUILTIN_NAMESPACED = new Set(['v1/ConfigMap', 'v1/Secret']);

function id(p: Placed): string {
  const m = obj(p.object, 'metadata');
  return `${p.file}: ${String(p.object.kind)} ${m.namespace ? `${String(m.namespace)}/` : ''}${String(m.name)}`;
}

function inFolder(folder: string): Placed[] {
  return OBJECTS.filter((p) => dirname(p.file) === folder);
}

function find(folder: string, kind: string, namespace: string, name: string): JsonObject | undefined {
  return inFolder(folder).find((p) => p.object.kind === kind && obj(p.object, 'metadata').namespace === namespace && obj(p.object, 'metadata').name === name)
    ?.object;
}

/** `data` or `stringData` keys of a ConfigMap/Secret. */
function keys(o: JsonObject): string[] {
  return [...Object.keys(isObject(o.data) ? o.data : {}), ...Object.keys(isObject(o.stringData) ? o.stringData : {})];
}

describe('examples', () => {
  it('has the HyperShift demo, the cluster-scoped objects and three seed translations', () => {
    expect(FOLDERS).to.have.members([
      'examples/cluster',
      'examples/hypershift',
      'examples/seeds/caren',
      'examples/seeds/eks-anywhere',
      'examples/seeds/platform9',
    ]);
  });

  it('every object of a kind with a CRD here is valid against that CRD schema', () => {
    const failures: string[] = [];
    let checked = 0;
    for (const p of OBJECTS) {
      const v = VALIDATORS.get(`${String(p.object.apiVersion)}/${String(p.object.kind)}`);
      if (!v) continue;
      checked++;
      if (!v.validate(p.object)) failures.push(`${id(p)}: ${ajv.errorsText(v.validate.errors)}`);
    }
    expect(failures).to.deep.equal([]);
    expect(checked).to.be.greaterThan(10);
  });

  it('the schema check would catch a broken example (a scheme in a source)', () => {
    const v = VALIDATORS.get('imagemirror.io/v1alpha1/ImageDigestMirrorSet')!;
    const bad = {
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'x' },
      spec: { imageDigestMirrors: [{ source: 'https://quay.io/x', mirrors: ['m.example/x'] }] },
    };
    expect(v.validate(bad)).to.equal(false);
  });

  it('namespaced objects carry their namespace, cluster-scoped ones none', () => {
    for (const p of OBJECTS) {
      const key = `${String(p.object.apiVersion)}/${String(p.object.kind)}`;
      const namespaced = VALIDATORS.get(key)?.namespaced ?? BUILTIN_NAMESPACED.has(key);
      expect(obj(p.object, 'metadata').namespace !== undefined, id(p)).to.equal(namespaced);
    }
  });

  it('each folder declares the namespaces it uses, in a file that sorts first', () => {
    for (const folder of FOLDERS) {
      const objects = inFolder(folder);
      const declared = objects.filter((p) => p.object.kind === 'Namespace');
      for (const d of declared) expect(d.file, id(d)).to.match(/\/00-[^/]*\.yaml$/);
      const names = declared.map((d) => str(d.object, 'metadata', 'name'));
      for (const p of objects) {
        const ns = obj(p.object, 'metadata').namespace;
        if (typeof ns === 'string') expect(names, `${id(p)}: namespace declared in ${folder}`).to.include(ns);
      }
    }
  });

  it('no object appears twice in a folder', () => {
    for (const folder of FOLDERS) {
      const ids = inFolder(folder).map((p) => id(p).replace(/^[^:]*: /, ''));
      expect(ids.length, folder).to.equal(new Set(ids).size);
    }
  });

  it('every RegistryAccess reference resolves to an object and key in the same folder', () => {
    for (const p of OBJECTS.filter((o) => o.object.kind === 'RegistryAccess')) {
      const folder = dirname(p.file);
      for (const h of arr(p.object, 'spec', 'hosts')) {
        const ca = isObject(h) && isObject(h.ca) ? h.ca : {};
        for (const [field, kind] of [
          ['configMapKeyRef', 'ConfigMap'],
          ['secretKeyRef', 'Secret'],
        ] as const) {
          const ref = ca[field];
          if (!isObject(ref)) continue;
          const target = find(folder, kind, str(ref, 'namespace'), str(ref, 'name'));
          expect(target, `${id(p)}: ${field}`).to.not.equal(undefined);
          expect(keys(target!), `${id(p)}: ${field} key`).to.include(str(ref, 'key'));
        }
        for (const [field, type] of [
          ['credentialsSecretRef', 'kubernetes.io/basic-auth'],
          ['clientCertificateSecretRef', 'kubernetes.io/tls'],
        ] as const) {
          const ref = isObject(h) ? h[field] : undefined;
          if (!isObject(ref)) continue;
          const secret = find(folder, 'Secret', str(ref, 'namespace'), str(ref, 'name'));
          expect(secret?.type, `${id(p)}: ${field}`).to.equal(type);
        }
      }
    }
  });

  it('the HyperShift demo links resolve: HostedCluster mirror ConfigMap, NodePool cluster and config', () => {
    const folder = 'examples/hypershift';
    const hcs = inFolder(folder).filter((p) => p.object.kind === 'HostedCluster');
    const pools = inFolder(folder).filter((p) => p.object.kind === 'NodePool');
    expect(hcs).to.have.length(1);
    expect(pools.map((p) => str(p.object, 'metadata', 'name'))).to.have.members(['demo-workers', 'demo-gpu']);
    const hc = hcs[0]!.object;
    const ns = str(hc, 'metadata', 'namespace');
    const mirrors = find(folder, 'ConfigMap', ns, str(hc, 'spec', 'imageMirrorConfigRef', 'name'));
    expect(keys(mirrors!)).to.have.members(['idms.yaml', 'itms.yaml']);
    for (const p of pools) {
      expect(str(p.object, 'spec', 'clusterName')).to.equal(str(hc, 'metadata', 'name'));
      for (const c of isObject(p.object.spec) && Array.isArray(p.object.spec.config) ? p.object.spec.config : []) {
        expect(keys(find(folder, 'ConfigMap', ns, str(c, 'name'))!), id(p)).to.include('config');
      }
    }
    const gpu = pools.find((p) => str(p.object, 'metadata', 'name') === 'demo-gpu')!.object;
    const selector = obj(
      OBJECTS.find((p) => p.object.kind === 'ImageTagMirrorSet' && obj(p.object, 'spec').nodePoolSelector)!.object,
      'spec',
      'nodePoolSelector',
      'matchLabels',
    );
    for (const [k, v] of Object.entries(selector)) expect(obj(gpu, 'metadata', 'labels')[k], k).to.equal(v);
  });

  it('documents embedded in ConfigMaps are valid mirror sets (non-mirror kinds are allowed and ignored)', () => {
    const kinds: string[] = [];
    for (const p of OBJECTS.filter((o) => o.object.kind === 'ConfigMap')) {
      for (const [key, text] of Object.entries(isObject(p.object.data) ? p.object.data : {})) {
        if (!['idms.yaml', 'itms.yaml', 'config'].includes(key) || typeof text !== 'string') continue;
        for (const doc of loadAll(text) as Json[]) {
          kinds.push(str(doc, 'kind'));
          const list = str(doc, 'kind') === 'ImageDigestMirrorSet' ? 'imageDigestMirrors' : 'imageTagMirrors';
          if (!str(doc, 'kind').endsWith('MirrorSet')) continue;
          for (const e of arr(doc, 'spec', list)) {
            expect(SOURCE_RE.test(str(e, 'source')), `${id(p)} ${key}: ${str(e, 'source')}`).to.equal(true);
            for (const m of arr(e, 'mirrors')) expect(MIRROR_RE.test(String(m)), `${id(p)} ${key}: ${String(m)}`).to.equal(true);
          }
        }
      }
    }
    expect(kinds).to.include.members(['ImageDigestMirrorSet', 'ImageTagMirrorSet', 'MachineConfig']);
  });

  it('credentials are obviously fake and only in Secrets (stringData, example-* values)', () => {
    for (const p of OBJECTS) {
      if (p.object.kind === 'Secret') {
        expect(p.object.data, `${id(p)}: no opaque base64 data`).to.equal(undefined);
        const sd = obj(p.object, 'stringData');
        for (const k of ['username', 'password']) if (k in sd) expect(String(sd[k]), `${id(p)} ${k}`).to.match(/^example-/);
      } else {
        expect(JSON.stringify(p.object), id(p)).to.not.match(/example-password|password"?\s*:/i);
      }
    }
  });
});
