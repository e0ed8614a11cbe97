// The boundary between I/O and decisions: an ObjectSource answers lookups
// (from files for the CLI, from informer caches for the controller), and
// `gather` (src/model/gather.ts) turns what one target needs into MergeInputs.
import type { MergeInputs, MirrorEntry, Origin, Problem, RenderWarning } from './types.js';

/** Any Kubernetes object as parsed from YAML/JSON or read from the API. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Kinds that are looked up by namespace and name. */
export type NamespacedKind = 'ConfigMap' | 'Secret' | 'HostedCluster' | 'NodePool';

export interface ObjectSource {
  /**
   * Cluster-wide mirror inputs: our imagemirror.io IDMS/ITMS/RegistryAccess;
   * from files also config.openshift.io IDMS/ITMS/Image and ICSP.
   */
  clusterScoped(): readonly KubeObject[];
  get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined;
}

/** What one output is rendered for (SPEC §6). */
export type Target = { kind: 'Cluster' } | { kind: 'NodePool'; namespace: string; name: string };

/** One lookup a target made, found or not: the controller indexes these to map events to targets. */
export interface Reference {
  kind: NamespacedKind;
  namespace: string;
  name: string;
}

export interface Gathered {
  inputs: MergeInputs;
  /** Non-empty: the target's inputs are invalid; publish nothing new. */
  problems: Problem[];
  /**
   * Entries of objects that have the right shape but failed a check beyond
   * it (SourceIsOwnMirror). They render nothing, but still take part in the
   * checks across objects (PolicyConflict), so one pass reports every problem.
   */
  rejectedEntries?: MirrorEntry[];
  /** What is valid but probably not meant (EmptyInput); reported with the output's warnings, never blocking. */
  warnings?: RenderWarning[];
  references: Reference[];
  /** Present for NodePool targets when found. */
  nodePool?: KubeObject;
  hostedCluster?: KubeObject;
}

export function originOf(obj: KubeObject, location?: string): Origin {
  const o: Origin = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) o.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) o.uid = obj.metadata.uid;
  if (obj.metadata.generation !== undefined) o.generation = obj.metadata.generation;
  if (obj.metadata.resourceVersion) o.resourceVersion = obj.metadata.resourceVersion;
  if (location) o.location = location;
  return o;
}
