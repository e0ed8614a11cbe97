// Builders for the input documents a user would write: IDMS/ITMS,
// RegistryAccess and the ConfigMaps/Secrets it points at. Plain objects,
// dumped to YAML by render.ts.

export const API = 'imagemirror.io/v1alpha1';
/** OpenShift's own API version for IDMS/ITMS; the CLI reads those documents as they are. */
export const OPENSHIFT_API = 'config.openshift.io/v1';
export const NS = 'mirror-config';

export type Policy = 'AllowContactingSource' | 'NeverContactSource';

export interface Entry {
  source: string;
  mirrors: string[];
  mirrorSourcePolicy?: Policy;
}

/** A Kubernetes-style document; the rest of its fields are free-form. */
export interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

export function idms(name: string, entries: Entry[], apiVersion = API): Doc {
  return { apiVersion, kind: 'ImageDigestMirrorSet', metadata: { name }, spec: { imageDigestMirrors: entries } };
}

export function itms(name: string, entries: Entry[], apiVersion = API): Doc {
  return { apiVersion, kind: 'ImageTagMirrorSet', metadata: { name }, spec: { imageTagMirrors: entries } };
}

export interface HostSpec {
  host: string;
  ca?: { configMapKeyRef: { namespace: string; name: string; key: string } };
  credentialsSecretRef?: { namespace: string; name: string };
  plainHTTP?: boolean;
  insecureSkipVerify?: boolean;
}

export function registryAccess(name: string, hosts: HostSpec[], extra: { insecureRegistries?: string[] } = {}): Doc {
  return { apiVersion: API, kind: 'RegistryAccess', metadata: { name }, spec: { hosts, ...extra } };
}

/** `{host, plainHTTP: true}` for each plain-HTTP test registry. */
export function plainHTTP(...hosts: string[]): HostSpec[] {
  return hosts.map((host) => ({ host, plainHTTP: true }));
}

export function configMap(name: string, data: Record<string, string>): Doc {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: NS, name }, data };
}

/** A `kubernetes.io/basic-auth` Secret, written with `stringData` as a user would. */
export function basicAuthSecret(name: string, username: string, password: string): Doc {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: NS, name },
    type: 'kubernetes.io/basic-auth',
    stringData: { username, password },
  };
}
