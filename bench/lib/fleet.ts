// A HyperShift-shaped fleet on a real API server: HostedClusters with
// NodePools spread over a few namespaces, and one cluster-wide
// ImageDigestMirrorSet that applies to every NodePool. Used by
// bench/fleet.ts, bench/latency.ts and the e2e smoke test.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Kube } from '../../e2e/lib/kube.js';
import { deleteNamespace, isNotFound } from '../../e2e/lib/kube.js';
import { ensureNamespace, inPool } from './cluster.js';
import { numberArg } from './stats.js';
import { OUTPUT_LABEL } from '../../src/contract.js';
import { GROUP, HYPERSHIFT_GROUP, HYPERSHIFT_VERSION, OUR_VERSION } from '../../src/model/kinds.js';

export const HS_GROUP = HYPERSHIFT_GROUP;
export const HS_VERSION = HYPERSHIFT_VERSION;
export const OUR_GROUP = GROUP;
export { OUR_VERSION };
export const OUTPUT_SELECTOR = OUTPUT_LABEL;

export interface FleetShape {
  /** Names every namespace and cluster-scoped object of the fleet: `<prefix>-0`, `<prefix>-global`, ... */
  prefix: string;
  hostedClusters: number;
  nodePoolsPerCluster: number;
  namespaces: number;
  /** Entries of the cluster-wide IDMS (registries.conf grows with them). */
  entries: number;
}

/** The fleet of `--hosted-clusters 500 --nodepools-per-cluster 2 --namespaces 5 --entries 20` (the defaults). */
export function shapeFromArgs(argv: readonly string[]): FleetShape {
  return {
    prefix: 'fleet',
    hostedClusters: numberArg(argv, 'hosted-clusters', 500),
    nodePoolsPerCluster: numberArg(argv, 'nodepools-per-cluster', 2),
    namespaces: numberArg(argv, 'namespaces', 5),
    entries: numberArg(argv, 'entries', 20),
  };
}

export interface FleetMember {
  namespace: string;
  hostedCluster: string;
  nodePool: string;
}

export function fleetMembers(shape: FleetShape): FleetMember[] {
  const out: FleetMember[] = [];
  for (let i = 0; i < shape.hostedClusters; i++) {
    for (let j = 0; j < shape.nodePoolsPerCluster; j++) {
      out.push({ namespace: `${shape.prefix}-${i % shape.namespaces}`, hostedCluster: `hc-${i}`, nodePool: `hc-${i}-pool-${j}` });
    }
  }
  return out;
}

/** `namespace/name` of a member's output ConfigMap (SPEC §6). */
export function outputKey(m: FleetMember): string {
  return `${m.namespace}/${m.nodePool}-image-mirrors`;
}

/** The mirror host of a version of the cluster-wide IDMS: `mirror-<version>.bench.example`. */
export function mirrorHost(version: string): string {
  return `mirror-${version}.bench.example`;
}

/** Name of the fleet's cluster-wide IDMS. */
export function globalIdmsName(shape: Pick<FleetShape, 'prefix'>): string {
  return `${shape.prefix}-global`;
}

/** The cluster-wide IDMS at `version`: every entry mirrored to mirrorHost(version). */
export function globalIdms(name: string, entries: number, version: string, resourceVersion?: string): object {
  return {
    apiVersion: `${OUR_GROUP}/${OUR_VERSION}`,
    kind: 'ImageDigestMirrorSet',
    metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      imageDigestMirrors: Array.from({ length: entries }, (_, e) => ({
        source: `registry${e}.bench.example/team${e}`,
        mirrors: [`${mirrorHost(version)}/team${e}`],
      })),
    },
  };
}

/** Creates or replaces the cluster-wide IDMS at `version`. */
export async function putGlobalIdms(k: Kube, shape: Pick<FleetShape, 'prefix' | 'entries'>, version: string): Promise<void> {
  const base = { group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets' };
  const name = globalIdmsName(shape);
  try {
    const cur = (await k.custom.getClusterCustomObject({ ...base, name })) as { metadata: { resourceVersion: string } };
    await k.custom.replaceClusterCustomObject({ ...base, name, body: globalIdms(name, shape.entries, version, cur.metadata.resourceVersion) });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await k.custom.createClusterCustomObject({ ...base, body: globalIdms(name, shape.entries, version) });
  }
}

/** Namespaces, HostedClusters, then NodePools, `concurrency` requests at a time. */
export async function createFleet(
  k: Kube,
  shape: FleetShape,
  concurrency: number,
  extraNodePoolSpec: (m: FleetMember) => object = () => ({}),
): Promise<FleetMember[]> {
  const members = fleetMembers(shape);
  for (let n = 0; n < shape.namespaces; n++) await ensureNamespace(k, `${shape.prefix}-${n}`);
  const clusters = members.filter((m) => m.nodePool.endsWith('-pool-0'));
  await inPool(clusters, concurrency, async (m) => {
    await k.custom.createNamespacedCustomObject({
      group: HS_GROUP,
      version: HS_VERSION,
      plural: 'hostedclusters',
      namespace: m.namespace,
      body: { apiVersion: `${HS_GROUP}/${HS_VERSION}`, kind: 'HostedCluster', metadata: { name: m.hostedCluster, namespace: m.namespace }, spec: {} },
    });
  });
  await inPool(members, concurrency, async (m) => {
    await k.custom.createNamespacedCustomObject({
      group: HS_GROUP,
      version: HS_VERSION,
      plural: 'nodepools',
      namespace: m.namespace,
      body: {
        apiVersion: `${HS_GROUP}/${HS_VERSION}`,
        kind: 'NodePool',
        metadata: { name: m.nodePool, namespace: m.namespace, labels: { 'bench.imagemirror.io/fleet': 'true' } },
        spec: { clusterName: m.hostedCluster, ...extraNodePoolSpec(m) },
      },
    });
  });
  return members;
}

/** True when an output's registries.conf uses the mirrors of `version` (and no other version's). */
export function carries(data: Record<string, string>, version: string, others: readonly string[] = []): boolean {
  const conf = data['registries.conf'];
  if (conf === undefined) return false;
  return conf.includes(mirrorHost(version)) && others.every((o) => !conf.includes(mirrorHost(o)));
}

/** A copy of an output's data, for the floor client to write the same bytes. */
export function dataOf(cm: V1ConfigMap | undefined): Record<string, string> {
  if (!cm?.data) throw new Error('no output to copy');
  return { ...cm.data };
}

/**
 * Removes what a fleet run created, so that operators started later on the
 * same API server do not pick it up: the cluster-wide IDMS, NodePools,
 * HostedClusters, ConfigMaps and RenderedMirrorConfigs in the fleet's
 * namespaces, then the namespaces (finalized by hand: no controller-manager).
 */
export async function deleteFleet(k: Kube, shape: FleetShape, extraNamespaces: readonly string[] = []): Promise<void> {
  const gone = (p: Promise<unknown>): Promise<void> =>
    p.then(
      () => undefined,
      (err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)),
    );
  await gone(k.custom.deleteClusterCustomObject({ group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets', name: globalIdmsName(shape) }));
  const namespaces = [...Array.from({ length: shape.namespaces }, (_, n) => `${shape.prefix}-${n}`), ...extraNamespaces];
  for (const namespace of namespaces) {
    for (const [group, version, plural] of [
      [HS_GROUP, HS_VERSION, 'nodepools'],
      [HS_GROUP, HS_VERSION, 'hostedclusters'],
      [OUR_GROUP, OUR_VERSION, 'renderedmirrorconfigs'],
    ] as const) {
      const list = (await k.custom.listNamespacedCustomObject({ group, version, plural, namespace })) as { items: { metadata: { name: string } }[] };
      for (const item of list.items) await gone(k.custom.deleteNamespacedCustomObject({ group, version, plural, namespace, name: item.metadata.name }));
    }
    await k.core.deleteCollectionNamespacedConfigMap({ namespace });
    await deleteNamespace(k, namespace, { finalize: true });
  }
}
