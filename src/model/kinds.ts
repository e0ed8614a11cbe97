// Every kind this project reads or writes, in one table: API group, version,
// kind and plural, scope, the schema that validates it, what gather reads
// from it, and how the controller watches it. Everything else (the CLI's
// file loader, gather, validation, the controller's informers and its API
// paths) looks kinds up here; a new input kind is a new row (CONTRIBUTING.md).
import type { KubeObject } from './source.js';

/** API group of our own kinds (shared contract). */
export const GROUP = 'imagemirror.io';
export const OUR_VERSION = 'v1alpha1';
export const OUR_API_VERSION = `${GROUP}/${OUR_VERSION}`;
export const HYPERSHIFT_GROUP = 'hypershift.openshift.io';
export const HYPERSHIFT_VERSION = 'v1beta1';
export const HYPERSHIFT_API_VERSION = `${HYPERSHIFT_GROUP}/${HYPERSHIFT_VERSION}`;
export const CONFIG_API_VERSION = 'config.openshift.io/v1';
export const ICSP_API_VERSION = 'operator.openshift.io/v1alpha1';

/** Short internal names for the kinds we read as inputs. */
export type KnownKind = 'IDMS' | 'ITMS' | 'ICSP' | 'Image' | 'RegistryAccess' | 'HostedCluster' | 'NodePool' | 'ConfigMap' | 'Secret';

/** Kinds whose documents hold mirror entries. */
export type MirrorKind = 'IDMS' | 'ITMS' | 'ICSP';

/** Schema names (schemas.ts): the known kind, and for IDMS/ITMS of our group a variant that allows nodePoolSelector. */
export type SchemaKey = KnownKind | 'IDMS/ours' | 'ITMS/ours';

/**
 * How the controller caches a kind (docs/adr/0001-referenced-object-caches.md):
 * - `cluster`: a cluster-wide informer from the start; changes re-render targets and set the object's status;
 * - `hypershift`: a cluster-wide informer while HyperShift's CRDs are served;
 * - `referenced`: only the objects (or namespaces) targets reference;
 * - `never`: read from files only (the `render` CLI).
 */
export type Watch = 'cluster' | 'hypershift' | 'referenced' | 'never';

/**
 * How gather reads a kind: `listed` from ObjectSource.clusterScoped (applies
 * to targets by selector), `named` through ObjectSource.get (looked up by
 * namespace and name from a target's references).
 */
export type Gathering = 'listed' | 'named';

/** A resource as the API serves it. */
export interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** One row of the table: one apiVersion/kind. */
export interface KindInfo extends Resource {
  known: KnownKind;
  schema: SchemaKey;
  gathered: Gathering;
  watch: Watch;
  /** Holds mirror entries (`spec.imageDigestMirrors` and the like). */
  mirror: boolean;
}

function row(
  known: KnownKind,
  apiVersion: string,
  kind: string,
  plural: string,
  rest: Omit<KindInfo, 'known' | 'group' | 'version' | 'kind' | 'plural'>,
): KindInfo {
  const slash = apiVersion.lastIndexOf('/');
  return { known, group: slash < 0 ? '' : apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind, plural, ...rest };
}

const cluster = { namespaced: false, gathered: 'listed' } as const;
const named = { namespaced: true, gathered: 'named', mirror: false } as const;

/** The input kinds. Order matters only for messages (allowed kinds are listed in this order). */
export const KINDS: readonly KindInfo[] = [
  row('IDMS', OUR_API_VERSION, 'ImageDigestMirrorSet', 'imagedigestmirrorsets', { ...cluster, schema: 'IDMS/ours', watch: 'cluster', mirror: true }),
  row('ITMS', OUR_API_VERSION, 'ImageTagMirrorSet', 'imagetagmirrorsets', { ...cluster, schema: 'ITMS/ours', watch: 'cluster', mirror: true }),
  row('RegistryAccess', OUR_API_VERSION, 'RegistryAccess', 'registryaccesses', { ...cluster, schema: 'RegistryAccess', watch: 'cluster', mirror: false }),
  row('IDMS', CONFIG_API_VERSION, 'ImageDigestMirrorSet', 'imagedigestmirrorsets', { ...cluster, schema: 'IDMS', watch: 'never', mirror: true }),
  row('ITMS', CONFIG_API_VERSION, 'ImageTagMirrorSet', 'imagetagmirrorsets', { ...cluster, schema: 'ITMS', watch: 'never', mirror: true }),
  row('Image', CONFIG_API_VERSION, 'Image', 'images', { ...cluster, schema: 'Image', watch: 'never', mirror: false }),
  row('ICSP', ICSP_API_VERSION, 'ImageContentSourcePolicy', 'imagecontentsourcepolicies', { ...cluster, schema: 'ICSP', watch: 'never', mirror: true }),
  row('HostedCluster', HYPERSHIFT_API_VERSION, 'HostedCluster', 'hostedclusters', { ...named, schema: 'HostedCluster', watch: 'hypershift' }),
  row('NodePool', HYPERSHIFT_API_VERSION, 'NodePool', 'nodepools', { ...named, schema: 'NodePool', watch: 'hypershift' }),
  row('ConfigMap', 'v1', 'ConfigMap', 'configmaps', { ...named, schema: 'ConfigMap', watch: 'referenced' }),
  row('Secret', 'v1', 'Secret', 'secrets', { ...named, schema: 'Secret', watch: 'referenced' }),
];

/** Our status kind: written by the controller, never an input. */
export const RENDERED_MIRROR_CONFIG: Resource = {
  group: GROUP,
  version: OUR_VERSION,
  plural: 'renderedmirrorconfigs',
  kind: 'RenderedMirrorConfig',
  namespaced: true,
};

const BY_API = new Map(KINDS.map((k) => [`${apiVersionOf(k)}/${k.kind}`, k]));

/** The kinds the controller watches cluster-wide from the start: our IDMS, ITMS and RegistryAccess. */
export type ClusterObjectKind = 'IDMS' | 'ITMS' | 'RegistryAccess';
export const CLUSTER_OBJECT_KINDS: readonly ClusterObjectKind[] = ['IDMS', 'ITMS', 'RegistryAccess'];

/** The table row of a known kind as the controller reads it (our group for IDMS/ITMS). */
export function served(known: KnownKind): KindInfo {
  const info = KINDS.find((k) => k.known === known && k.watch !== 'never');
  if (!info) throw new Error(`internal error: the controller does not read ${known}`);
  return info;
}

export function apiVersionOf(r: Pick<Resource, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The table row of an apiVersion/kind pair, or undefined. */
export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  return BY_API.get(`${apiVersion}/${kind}`);
}

/** Which known kind an apiVersion/kind pair is, or undefined. */
export function knownKind(apiVersion: string, kind: string): KnownKind | undefined {
  return kindInfo(apiVersion, kind)?.known;
}

export function kindOf(obj: KubeObject): KnownKind | undefined {
  return knownKind(obj.apiVersion, obj.kind);
}

/** The Kubernetes kind of each known kind, for messages. */
export const KIND_NAMES = Object.fromEntries(KINDS.map((k) => [k.known, k.kind])) as Record<KnownKind, string>;

/** Namespaced kinds; read from files without a namespace they get `default`, as with kubectl. */
export function isNamespaced(known: KnownKind): boolean {
  return KINDS.some((k) => k.known === known && k.namespaced);
}

export function isMirrorKind(k: KnownKind | undefined): k is MirrorKind {
  return KINDS.some((info) => info.known === k && info.mirror);
}

/** Kinds gather lists from ObjectSource.clusterScoped. */
export function isListed(k: KnownKind | undefined): boolean {
  return KINDS.some((info) => info.known === k && info.gathered === 'listed');
}

/** The apiVersions that carry `kind`, for "did you mean" hints. */
export function apiVersionsOf(kind: string): string[] {
  return KINDS.filter((k) => k.kind === kind)
    .map(apiVersionOf)
    .sort();
}

/** True for objects from our own group (only they may carry a nodePoolSelector). */
export function isOurs(obj: KubeObject): boolean {
  return obj.apiVersion === OUR_API_VERSION;
}

/** The schema that validates an object of a known kind. */
export function schemaOf(obj: KubeObject): SchemaKey | undefined {
  return kindInfo(obj.apiVersion, obj.kind)?.schema;
}
