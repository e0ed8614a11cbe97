// A HyperShift-shaped fleet on a real API server: HostedClusters with
// NodePools spread over a few namespaces, and one cluster-wide
// ImageDigestMirrorSet that applies to every NodePool. Used by
// bench/fleet.ts, bench/latency.ts and the e2e smoke test.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Kube } from '../../e2e/lib/kube.js';
import { isNotFound } from '../../e2e/lib/kube.js';
import { ensureNamespace, inPool } from './cluster.js';

export const HS_GROUP = 'hypershift.openshift.io';
export const HS_VERSION = 'v1beta1';
export const OUR_GROUP = 'imagemirror.io';
export const OUR_VERSION = 'v1alpha1';
export const OUTPUT_SELECTOR = 'imagemirror.io/output';
export const GLOBAL_IDMS = 'bench-global';

export interface FleetShape {
  hostedClusters: number;
  nodePoolsPerCluster: number;
  namespaces: number;
  /** Entries of the cluster-wide IDMS (registries.conf grows with them). */
  entries: number;
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
      out.push({ namespace: `fleet-${i % shape.namespaces}`, hostedCluster: `hc-${i}`, nodePool: `hc-${i}-pool-${j}` });
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

/** The cluster-wide IDMS at `version`: every entry mirrored to mirrorHost(version). */
export function globalIdms(entries: number, version: string, resourceVersion?: string): object {
  return {
    apiVersion: `${OUR_GROUP}/${OUR_VERSION}`,
    kind: 'ImageDigestMirrorSet',
    metadata: { name: GLOBAL_IDMS, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      imageDigestMirrors: Array.from({ length: entries }, (_, e) => ({
        source: `registry${e}.bench.example/team${e}`,
        mirrors: [`${mirrorHost(version)}/team${e}`],
      })),
    },
  };
}

/** Creates or replaces the cluster-wide IDMS at `version`. */
export async function putGlobalIdms(k: Kube, entries: number, version: string): Promise<void> {
  const base = { group: OUR_GROUP, version: OUR_VERSION, plural: 'imagedigestmirrorsets' };
  try {
    const cur = (await k.custom.getClusterCustomObject({ ...base, name: GLOBAL_IDMS })) as { metadata: { resourceVersion: string } };
    await k.custom.replaceClusterCustomObject({ ...base, name: GLOBAL_IDMS, body: globalIdms(entries, version, cur.metadata.resourceVersion) });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await k.custom.createClusterCustomObject({ ...base, body: globalIdms(entries, version) });
  }
}

/** Namespaces, HostedClusters, then NodePools, `concurrency` requests at a time. */
export async function createFleet(k: Kube, shape: FleetShape, concurrency: number, extraNodePoolSpec: (m: FleetMember) => object = () => ({})): Promise<FleetMember[]> {
  const members = fleetMembers(shape);
  for (let n = 0; n < shape.namespaces; n++) await ensureNamespace(k, `fleet-${n}`);
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
  return conf !== undefined && conf.includes(mirrorHost(version)) && others.every((o) => !conf.includes(mirrorHost(o)));
}

/** A copy of an output's data, for the floor client to write the same bytes. */
export function dataOf(cm: V1ConfigMap | undefined): Record<string, string> {
  if (!cm?.data) throw new Error('no output to copy');
  return { ...cm.data };
}
