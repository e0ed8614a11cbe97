// The object kinds this project reads, identified by apiVersion and kind.
import type { KubeObject } from './source.js';

/** API group of our own kinds (shared contract). */
export const GROUP = 'imagemirror.io';
export const OUR_API_VERSION = `${GROUP}/v1alpha1`;
export const CONFIG_API_VERSION = 'config.openshift.io/v1';
export const ICSP_API_VERSION = 'operator.openshift.io/v1alpha1';
export const HYPERSHIFT_API_VERSION = 'hypershift.openshift.io/v1beta1';

/** Label on our output ConfigMaps/Secrets; such objects are never read as inputs. */
export const OUTPUT_LABEL = `${GROUP}/output`;

/** Short internal names for the kinds we understand. */
export type KnownKind = 'IDMS' | 'ITMS' | 'ICSP' | 'Image' | 'RegistryAccess' | 'HostedCluster' | 'NodePool' | 'ConfigMap' | 'Secret';

/** Kinds whose documents hold mirror entries. */
export type MirrorKind = 'IDMS' | 'ITMS' | 'ICSP';

const TABLE = new Map<string, KnownKind>(
  Object.entries({
    [`${OUR_API_VERSION}/ImageDigestMirrorSet`]: 'IDMS',
    [`${OUR_API_VERSION}/ImageTagMirrorSet`]: 'ITMS',
    [`${OUR_API_VERSION}/RegistryAccess`]: 'RegistryAccess',
    [`${CONFIG_API_VERSION}/ImageDigestMirrorSet`]: 'IDMS',
    [`${CONFIG_API_VERSION}/ImageTagMirrorSet`]: 'ITMS',
    [`${CONFIG_API_VERSION}/Image`]: 'Image',
    [`${ICSP_API_VERSION}/ImageContentSourcePolicy`]: 'ICSP',
    [`${HYPERSHIFT_API_VERSION}/HostedCluster`]: 'HostedCluster',
    [`${HYPERSHIFT_API_VERSION}/NodePool`]: 'NodePool',
    'v1/ConfigMap': 'ConfigMap',
    'v1/Secret': 'Secret',
  }) as [string, KnownKind][],
);

/** The Kubernetes kind of each known kind, for messages. */
export const KIND_NAMES: Record<KnownKind, string> = {
  IDMS: 'ImageDigestMirrorSet',
  ITMS: 'ImageTagMirrorSet',
  ICSP: 'ImageContentSourcePolicy',
  Image: 'Image',
  RegistryAccess: 'RegistryAccess',
  HostedCluster: 'HostedCluster',
  NodePool: 'NodePool',
  ConfigMap: 'ConfigMap',
  Secret: 'Secret',
};

/** Which known kind an apiVersion/kind pair is, or undefined. */
export function knownKind(apiVersion: string, kind: string): KnownKind | undefined {
  return TABLE.get(`${apiVersion}/${kind}`);
}

export function kindOf(obj: KubeObject): KnownKind | undefined {
  return knownKind(obj.apiVersion, obj.kind);
}

/** Namespaced kinds; read from files without a namespace they get `default`, as with kubectl. */
export function isNamespaced(known: KnownKind): boolean {
  return known === 'HostedCluster' || known === 'NodePool' || known === 'ConfigMap' || known === 'Secret';
}

export function isMirrorKind(k: KnownKind | undefined): k is MirrorKind {
  return k === 'IDMS' || k === 'ITMS' || k === 'ICSP';
}

/** The apiVersions that carry `kind`, for "did you mean" hints. */
export function apiVersionsOf(kind: string): string[] {
  return [...TABLE.keys()]
    .filter((key) => key.endsWith(`/${kind}`))
    .map((key) => key.slice(0, key.length - kind.length - 1))
    .sort();
}

/** True for objects from our own group (only they may carry a nodePoolSelector). */
export function isOurs(obj: KubeObject): boolean {
  return obj.apiVersion === OUR_API_VERSION;
}
