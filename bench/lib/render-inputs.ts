// The input shape of the render-scale benchmark (SPEC §7's shape, plus
// nesting): N sources, 3 digest mirrors each, half with 2 tag mirrors, and
// 10% of them nested one level under another source (`host/ns/sub` under
// `host/ns`). The same mirrors are also built as cluster-scoped IDMS/ITMS
// objects and as a NodePool config ConfigMap, for timing `gather`.
import { dump } from 'js-yaml';
import type { KubeObject, ObjectSource } from '../../src/model/source.js';
import type { MergeInputs, MirrorEntry, Origin, Pool } from '../../src/model/types.js';

const API_VERSION = 'imagemirror.io/v1alpha1';
const KINDS: Record<Pool, string> = { digest: 'ImageDigestMirrorSet', tag: 'ImageTagMirrorSet' };
const FIELDS: Record<Pool, 'imageDigestMirrors' | 'imageTagMirrors'> = { digest: 'imageDigestMirrors', tag: 'imageTagMirrors' };
/** Entries per IDMS/ITMS object: a few large objects, as mirror tools generate them. */
export const ENTRIES_PER_OBJECT = 100;
const HOSTS = 50;

/** One source of the benchmark and the mirrors it must end up with. */
export interface SourceSpec {
  source: string;
  digest: string[];
  tag: string[];
  /** The enclosing source this one is nested under, if any. */
  parent?: string;
}

/** Every 10th source (i % 10 === 9) is nested under the one before it. */
export function sourceSpecs(n: number): SourceSpec[] {
  const specs: SourceSpec[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9) {
      const parent = specs[i - 1]!.source;
      const path = `special/team${i - 1}/sub`;
      specs.push({ source: `${parent}/sub`, digest: [1, 2, 3].map((k) => `mirror${k}.corp/${path}`), tag: [], parent });
    } else {
      const path = `team${i}`;
      specs.push({
        source: `registry${i % HOSTS}.example.com/${path}`,
        digest: [1, 2, 3].map((k) => `mirror${k}.corp/${path}`),
        tag: i % 2 === 0 ? [1, 2].map((k) => `tag${k}.corp/${path}`) : [],
      });
    }
  }
  return specs;
}

/**
 * The mirrors each source must get after the merge (SPEC §2.5): its own
 * per pool, or else those of the enclosing source with the rest of the path
 * appended. Computed independently of src/merge, for the smoke test.
 */
export function expectedMirrors(specs: readonly SourceSpec[]): Map<string, { digest: string[]; tag: string[] }> {
  const bySource = new Map(specs.map((s) => [s.source, s]));
  const out = new Map<string, { digest: string[]; tag: string[] }>();
  for (const s of specs) {
    const parent = s.parent === undefined ? undefined : bySource.get(s.parent);
    const rest = parent ? s.source.slice(parent.source.length) : '';
    const inherit = (own: string[], theirs: string[] | undefined): string[] => (own.length > 0 ? own : (theirs ?? []).map((m) => m + rest));
    out.set(s.source, { digest: inherit(s.digest, parent?.digest), tag: inherit(s.tag, parent?.tag) });
  }
  return out;
}

/** Entries grouped into objects of ENTRIES_PER_OBJECT, per pool. */
function groups(specs: readonly SourceSpec[], pool: Pool): { name: string; entries: { source: string; mirrors: string[] }[] }[] {
  const withMirrors = specs.filter((s) => (pool === 'digest' ? s.digest : s.tag).length > 0);
  const out: { name: string; entries: { source: string; mirrors: string[] }[] }[] = [];
  for (let i = 0; i < withMirrors.length; i += ENTRIES_PER_OBJECT) {
    out.push({
      name: `bench-${pool}-${String(out.length).padStart(4, '0')}`,
      entries: withMirrors.slice(i, i + ENTRIES_PER_OBJECT).map((s) => ({ source: s.source, mirrors: pool === 'digest' ? s.digest : s.tag })),
    });
  }
  return out;
}

/** MergeInputs as `gather` would produce them from `mirrorSetObjects(n)`. */
export function renderScaleInputs(n: number): MergeInputs {
  const specs = sourceSpecs(n);
  const entries: MirrorEntry[] = [];
  const contributors: Origin[] = [];
  for (const pool of ['digest', 'tag'] as const) {
    for (const g of groups(specs, pool)) {
      const origin: Origin = { apiVersion: API_VERSION, kind: KINDS[pool], name: g.name };
      contributors.push(origin);
      g.entries.forEach((e, i) => entries.push({ pool, source: e.source, mirrors: e.mirrors, origin, field: `spec.${FIELDS[pool]}[${i}]` }));
    }
  }
  return { entries, insecure: [], blocked: [], access: [], contributors };
}

/** The same mirrors as cluster-scoped IDMS/ITMS objects (as the informer cache holds them). */
export function mirrorSetObjects(n: number): KubeObject[] {
  const specs = sourceSpecs(n);
  return (['digest', 'tag'] as const).flatMap((pool) =>
    groups(specs, pool).map((g, i) => ({
      apiVersion: API_VERSION,
      kind: KINDS[pool],
      metadata: { name: g.name, uid: `uid-${pool}-${i}`, generation: 1, resourceVersion: String(1000 + i) },
      spec: { [FIELDS[pool]]: g.entries },
    })),
  );
}

/** An ObjectSource holding only cluster-scoped objects (the cluster target). */
export function clusterObjectSource(objects: readonly KubeObject[]): ObjectSource {
  return { clusterScoped: () => objects, get: () => undefined };
}

/**
 * A NodePool whose `spec.config` ConfigMap holds the same mirrors as
 * config.openshift.io IDMS/ITMS documents (multi-document YAML), with its
 * HostedCluster: the per-NodePool path of `gather`, including YAML parsing.
 */
export function nodePoolObjectSource(n: number): ObjectSource {
  const ns = 'clusters';
  const docs = mirrorSetObjects(n).map((o) => ({
    apiVersion: 'config.openshift.io/v1',
    kind: o.kind,
    metadata: { name: o.metadata.name },
    spec: o.spec,
  }));
  const objects: Record<string, KubeObject> = {
    'HostedCluster/bench': {
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'HostedCluster',
      metadata: { name: 'bench', namespace: ns, generation: 1 },
      spec: {},
    },
    'NodePool/bench-pool': {
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'NodePool',
      metadata: { name: 'bench-pool', namespace: ns, generation: 1 },
      spec: { clusterName: 'bench', config: [{ name: 'bench-mirrors' }] },
    },
    'ConfigMap/bench-mirrors': {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bench-mirrors', namespace: ns },
      data: { config: docs.map((d) => dump(d)).join('---\n') },
    },
  };
  return {
    clusterScoped: () => [],
    get: (kind, namespace, name) => (namespace === ns ? objects[`${kind}/${name}`] : undefined),
  };
}
