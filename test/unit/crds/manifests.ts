// Helpers for the manifest tests: read YAML files of the repository and walk
// CRD schemas. Test-only; nothing here is used at run time.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';

/** Repository root: this file runs from dist/test/unit/crds/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field access that fails the test with the path when the shape is wrong. */
export function at(v: Json | undefined, ...path: (string | number)[]): Json {
  let cur: Json | undefined = v;
  for (const [i, p] of path.entries()) {
    if (typeof p === 'number' ? !Array.isArray(cur) : !isObject(cur)) {
      throw new Error(`no ${path.slice(0, i + 1).join('.')}`);
    }
    cur = typeof p === 'number' ? (cur as Json[])[p] : (cur as JsonObject)[p];
  }
  if (cur === undefined) throw new Error(`no ${path.join('.')}`);
  return cur;
}

export function obj(v: Json | undefined, ...path: (string | number)[]): JsonObject {
  const found = at(v, ...path);
  if (!isObject(found)) throw new Error(`${path.join('.')} is not an object`);
  return found;
}

export function str(v: Json | undefined, ...path: (string | number)[]): string {
  const found = at(v, ...path);
  if (typeof found !== 'string') throw new Error(`${path.join('.')} is not a string`);
  return found;
}

export function arr(v: Json | undefined, ...path: (string | number)[]): Json[] {
  const found = at(v, ...path);
  if (!Array.isArray(found)) throw new Error(`${path.join('.')} is not a list`);
  return found;
}

/** YAML files under `dir` (relative to the root), recursively, in byte order. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(relative(ROOT, p));
    }
  };
  walk(join(ROOT, dir));
  return out;
}

/** Every non-empty document of a file; throws with the file name on a YAML error. */
export function documents(file: string): JsonObject[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  let docs: unknown[];
  try {
    docs = loadAll(text) as unknown[];
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return docs
    .filter((d) => d !== null && d !== undefined)
    .map((d, i) => {
      if (!isObject(d)) throw new Error(`${file}: document ${i + 1} is not a mapping`);
      return d;
    });
}

/** A schema node and where it sits, e.g. `spec.hosts[].ca`. */
export interface SchemaNode {
  path: string;
  node: JsonObject;
  /** How the node was reached: a property, array items, or a map's values. */
  via: 'root' | 'property' | 'items' | 'additionalProperties';
}

/** Every node of an OpenAPI v3 schema, depth first. */
export function schemaNodes(root: JsonObject): SchemaNode[] {
  const out: SchemaNode[] = [];
  const walk = (node: JsonObject, path: string, via: SchemaNode['via']): void => {
    out.push({ path, node, via });
    if (isObject(node.properties)) {
      for (const [k, v] of Object.entries(node.properties)) {
        if (isObject(v)) walk(v, path ? `${path}.${k}` : k, 'property');
      }
    }
    if (isObject(node.items)) walk(node.items, `${path}[]`, 'items');
    if (isObject(node.additionalProperties)) walk(node.additionalProperties, `${path}{}`, 'additionalProperties');
  };
  walk(root, '', 'root');
  return out;
}

/** The schema node at a dotted path (`[]` steps into items), e.g. `spec.hosts[].host`. */
export function schemaAt(root: JsonObject, path: string): JsonObject {
  let cur = root;
  for (const step of path.split('.')) {
    const list = step.endsWith('[]');
    const name = list ? step.slice(0, -2) : step;
    cur = obj(cur, 'properties', name);
    if (list) cur = obj(cur, 'items');
  }
  return cur;
}

/** The openAPIV3Schema of a CRD's only version. */
export function crdSchema(crd: JsonObject): JsonObject {
  const versions = arr(crd, 'spec', 'versions');
  if (versions.length !== 1) throw new Error(`${str(crd, 'metadata', 'name')}: expected one version`);
  return obj(versions[0], 'schema', 'openAPIV3Schema');
}

/** A copy of a schema without the Kubernetes extensions and texts that JSON Schema validators do not know. */
export function plainJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(plainJsonSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'description') continue;
    // `properties` maps field names to schemas: its keys are not keywords.
    out[k] = k === 'properties' && isObject(v) ? Object.fromEntries(Object.entries(v).map(([f, s]) => [f, plainJsonSchema(s)])) : plainJsonSchema(v);
  }
  return out;
}
