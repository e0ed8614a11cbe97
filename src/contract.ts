// What the operator writes and the node agent reads: names of the objects,
// labels, annotations and keys (docs/output-formats.md, docs/agent.md). Both
// sides take these from here only; test/unit/contract.test.ts pins the
// agent's reading of what the controller publishes.
import { fitted, labelValueProblem, MAX_LABEL_VALUE_LENGTH, MAX_NAME_LENGTH } from './common/names.js';
import { publicationHash } from './common/content-hash.js';
import { GROUP } from './model/kinds.js';
import type { Target } from './model/source.js';

/** Label on every object the operator writes; such objects are never read as inputs. */
export const OUTPUT_LABEL = `${GROUP}/output`;
/**
 * Label naming the target an output belongs to: `<namespace>.<name>` or
 * `cluster`; a short form when `<namespace>.<name>` is no label value
 * (targetLabelValue).
 */
export const TARGET_LABEL = `${GROUP}/target`;
/**
 * Annotation on the output ConfigMap and Secret: the content hash (`sha256:<hex>`) of everything a node installs,
 * ConfigMap and Secret data (outputContentHash).
 */
export const CONTENT_HASH_ANNOTATION = `${GROUP}/content-hash`;
/** ConfigMap key that maps every other key to its node path, mode and holder (ConfigMap or Secret). */
export const FILES_MANIFEST_KEY = 'files.json';
/**
 * Key of the output Secret holding the random key of the content hash's HMAC over the Secret data. Not a node
 * file: files.json never lists it.
 */
export const CONTENT_HASH_KEY = 'content-hash-key';
/** Annotation the agent sets on its Node: the content hash it installed. */
export const APPLIED_HASH_ANNOTATION = `${GROUP}/applied-hash`;
/** Annotation the agent sets on its Node: its mirror probe results as versioned JSON (docs/adr/0002-node-probe-report.md). */
export const MIRROR_PROBES_ANNOTATION = `${GROUP}/mirror-probes`;
/** Node condition the agent keeps. */
export const NODE_CONDITION_TYPE = 'ImageMirrorConfigured';
/** Node label HyperShift sets on the nodes of a NodePool: its name. */
export const NODEPOOL_LABEL = 'hypershift.openshift.io/nodePool';
/** The operator namespace when none is given (deploy/). */
export const DEFAULT_OPERATOR_NAMESPACE = 'image-mirror-system';

const OUTPUT_SUFFIX = '-image-mirrors';
export const CLUSTER_OUTPUT_NAME = 'cluster-image-mirrors';
/** Name of the cluster target's RenderedMirrorConfig and its TARGET_LABEL value. */
const CLUSTER = 'cluster';

/**
 * Name of the output ConfigMap and Secret of the NodePool `pool` (nodes know
 * their pool by NODEPOOL_LABEL): `<pool>-image-mirrors`; for a pool name of
 * more than 239 characters, where that would pass the 253 of a name, the
 * start of the pool name, a hash of all of it, and `-image-mirrors`.
 */
export function nodePoolOutputName(pool: string): string {
  return fitted(pool, OUTPUT_SUFFIX, MAX_NAME_LENGTH, pool);
}

/** Name of the output ConfigMap and Secret of a target. */
export function outputName(t: Target): string {
  return t.kind === 'Cluster' ? CLUSTER_OUTPUT_NAME : nodePoolOutputName(t.name);
}

/** Namespace of a target's outputs and RenderedMirrorConfig: the NodePool's, or the operator's for the cluster target. */
export function targetNamespace(t: Target, operatorNamespace: string): string {
  return t.kind === 'Cluster' ? operatorNamespace : t.namespace;
}

/** Name of a target's RenderedMirrorConfig. */
export function statusName(t: Target): string {
  return t.kind === 'Cluster' ? CLUSTER : t.name;
}

/**
 * Value of TARGET_LABEL for a target: `<namespace>.<name>` (label values
 * cannot hold `/`; namespaces hold no dots). When that is no label value
 * (over 63 characters), a short form: `<namespace>_<name>` cut to fit,
 * `-` and a hash of `<namespace>/<name>`. A short form holds `_` or no `.`,
 * which no `<namespace>.<name>` does, so targetOfLabel never misreads one;
 * the controller finds its target by comparing values.
 */
export function targetLabelValue(t: Target): string {
  if (t.kind === 'Cluster') return CLUSTER;
  const plain = `${t.namespace}.${t.name}`;
  if (labelValueProblem(plain) === undefined) return plain;
  return fitted(`${t.namespace}_${t.name}`, '', MAX_LABEL_VALUE_LENGTH, `${t.namespace}/${t.name}`);
}

/** The target a TARGET_LABEL value names, or undefined when it names none (or is a short form). */
export function targetOfLabel(value: string | undefined): Target | undefined {
  if (!value) return undefined;
  if (value === CLUSTER) return { kind: 'Cluster' };
  if (value.includes('_')) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0 || dot === value.length - 1) return undefined;
  return { kind: 'NodePool', namespace: value.slice(0, dot), name: value.slice(dot + 1) };
}

/** The annotation and status form of a content hash. */
export function formatHash(hex: string): string {
  return `sha256:${hex}`;
}

/**
 * The content hash (`sha256:<hex>`) of an output as stored: its ConfigMap data and its decoded Secret data
 * (undefined when the output has no Secret). The operator writes it; the agent installs only what matches it.
 */
export function outputContentHash(configMapData: Readonly<Record<string, string>>, secretData: Readonly<Record<string, string>> | undefined): string {
  if (!secretData) return formatHash(publicationHash(configMapData, {}, undefined));
  const { [CONTENT_HASH_KEY]: key, ...files } = secretData;
  return formatHash(publicationHash(configMapData, files, key));
}
