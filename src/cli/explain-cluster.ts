// `explain` against a cluster. Two ways, chosen with --from:
// - inputs (default): gather the same objects the controller reads (our
//   cluster-scoped IDMS/ITMS/RegistryAccess, the NodePool, its HostedCluster
//   and every ConfigMap/Secret they reference) with one-shot reads, render
//   them with the controller's code, and explain from those files. This is
//   the only way to say which object asked for each endpoint, and it works
//   before the operator has published anything. It is compared with the
//   published output's content hash, so a user learns when nodes still run
//   something else (the operator has not caught up, or it kept the last good
//   output because the inputs are invalid).
// - published: read the output ConfigMap (and Secret) the nodes install:
//   what the nodes have, even while the inputs are invalid. No attribution.
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { identifyAs } from '../common/client-identity.js';
import type { Explanation, ImageRef, NodeFileView } from '../explain/index.js';
import { explain } from '../explain/index.js';
import { OUR_API_VERSION, HYPERSHIFT_API_VERSION } from '../model/kinds.js';
import type { KubeObject, NamespacedKind, ObjectSource, Target } from '../model/source.js';
import { formatProblem, type RenderWarning } from '../model/types.js';
import { CONTENT_HASH_ANNOTATION, CONTENT_HASH_KEY, FILES_MANIFEST_KEY, outputContentHash, outputName, targetNamespace } from '../contract.js';
import { served } from '../model/kinds.js';
import { contentHash, type RenderedData, renderTarget } from '../pipeline.js';
import type { ExplainFlags } from './explain.js';
import { nodePoolNotes, runtimesFor, targetLabel } from './explain.js';
import { DEFAULT_AGENT_FILES } from '../render/agent-files.js';
import type { PipelineOptions } from '../pipeline.js';

export type ClusterResult = { ok: true; explanation: Explanation } | { ok: false; errors: string[] };

interface Clients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

const CLUSTER_PLURALS: Array<[string, string]> = [
  ['imagedigestmirrorsets', 'ImageDigestMirrorSet'],
  ['imagetagmirrorsets', 'ImageTagMirrorSet'],
  ['registryaccesses', 'RegistryAccess'],
];

export async function explainFromCluster(ref: ImageRef, flags: ExplainFlags): Promise<ClusterResult> {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
    if (flags.context) kc.setCurrentContext(flags.context);
  } catch (e) {
    return { ok: false, errors: [`cannot load the kubeconfig: ${(e as Error).message}`] };
  }
  if (!kc.getCurrentCluster()) return { ok: false, errors: ['no current cluster in the kubeconfig: pass --kubeconfig or PATHs to explain offline'] };
  identifyAs(kc, 'cli');
  const clients: Clients = { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
  const target = flags.target ?? { kind: 'Cluster' as const };
  try {
    return flags.from === 'published' ? await fromPublished(clients, ref, target, flags) : await fromInputs(clients, ref, target, flags);
  } catch (e) {
    return { ok: false, errors: [describe(e)] };
  }
}

/** Where the output of a target lives. */
function outputLocation(target: Target, operatorNamespace: string): { namespace: string; name: string } {
  return { namespace: targetNamespace(target, operatorNamespace), name: outputName(target) };
}

async function fromInputs(c: Clients, ref: ImageRef, target: Target, flags: ExplainFlags): Promise<ClusterResult> {
  const cluster = (await Promise.all(CLUSTER_PLURALS.map(([plural, kind]) => listOurs(c, plural, kind)))).flat();
  const src = new PrefetchedSource(cluster);
  const options: PipelineOptions = { nodePoolAgentFiles: flags.nodepoolAgentFiles ?? DEFAULT_AGENT_FILES };
  let rendered = renderTarget(src, target, undefined, options);
  // Each pass may reference more objects (NodePool -> HostedCluster -> ConfigMaps -> Secrets): read them, render again.
  for (let round = 0; round < 8; round++) {
    const wanted = rendered.gathered.references.filter((r) => !src.knows(r.kind, r.namespace, r.name));
    if (wanted.length === 0) break;
    await Promise.all(wanted.map((r) => src.fetch(c, r.kind, r.namespace, r.name)));
    rendered = renderTarget(src, target, undefined, options);
  }
  const unreadable = src.unreadable();
  if (unreadable.length > 0) {
    return { ok: false, errors: [...unreadable, 'to explain without these reads, use --from published (what the nodes install)'] };
  }
  if (!rendered.outcome.ok) return { ok: false, errors: rendered.outcome.errors.map(formatProblem) };
  const { output } = rendered.outcome;
  const fresh = await freshness(c, target, flags.namespace, rendered.outcome);
  const hash = fresh.hash;
  const notes = [...nodePoolNotes(target, output.files), ...fresh.notes];
  return {
    ok: true,
    explanation: explain({
      ref,
      files: output.files.map((f) => ({ path: f.path, content: f.content })),
      inputs: rendered.gathered.inputs,
      warnings: [...output.warnings, ...(rendered.outcome.containerdWarnings ?? [])],
      target: targetLabel(target),
      from: 'cluster-inputs',
      contentHash: `sha256:${hash}`,
      runtimes: runtimesFor(target, output.files, flags.runtime),
      notes,
    }),
  };
}

/**
 * A note saying whether the published output is what the inputs render now,
 * and the content hash (hex) of the rendered output. With a Secret, the hash
 * is keyed by the key the published Secret holds (src/common/content-hash.ts):
 * without read access to it the Secret cannot be compared, only the ConfigMap.
 */
async function freshness(
  c: Clients,
  target: Target,
  operatorNamespace: string,
  data: Pick<RenderedData, 'configMapData' | 'secretData' | 'hash'>,
): Promise<{ hash: string; notes: string[] }> {
  const at = outputLocation(target, operatorNamespace);
  const where = `ConfigMap ${at.namespace}/${at.name}`;
  let cm: V1ConfigMap;
  try {
    cm = await c.core.readNamespacedConfigMap(at);
  } catch (e) {
    return { hash: data.hash, notes: [`${where} cannot be read (${describe(e)}): whether nodes have this output is unknown`] };
  }
  // The annotation (like the status) says `sha256:<hex>`.
  const published = cm.metadata?.annotations?.[CONTENT_HASH_ANNOTATION]?.replace(/^sha256:/, '');
  let hash = data.hash;
  if (Object.keys(data.secretData).length > 0) {
    const secret = await readSecretData(c, at);
    if ('error' in secret) {
      const same = contentHash({ ...(cm.data ?? {}) }) === data.hash;
      return {
        hash,
        notes: [
          `${where} ${same ? 'holds exactly this ConfigMap data' : 'holds other ConfigMap data: nodes still install another output'}; ` +
            `Secret ${at.namespace}/${at.name} cannot be read (${secret.error}), so whether it is current is unknown`,
        ],
      };
    }
    const key = secret.data[CONTENT_HASH_KEY];
    hash = outputContentHash(data.configMapData, { ...data.secretData, ...(key === undefined ? {} : { [CONTENT_HASH_KEY]: key }) }).replace(/^sha256:/, '');
  }
  if (published === hash) return { hash, notes: [`${where} publishes exactly this (content hash ${hash.slice(0, 12)})`] };
  return {
    hash,
    notes: [
      `${where} publishes content hash ${published?.slice(0, 12) ?? '(none)'}, not ${hash.slice(0, 12)}: nodes still install another output ` +
        '(the operator has not caught up, or it kept the last good output: see kubectl get rmc)',
    ],
  };
}

async function fromPublished(c: Clients, ref: ImageRef, target: Target, flags: ExplainFlags): Promise<ClusterResult> {
  const at = outputLocation(target, flags.namespace);
  let cm: V1ConfigMap;
  try {
    cm = await c.core.readNamespacedConfigMap(at);
  } catch (e) {
    return { ok: false, errors: [`cannot read the published output ConfigMap ${at.namespace}/${at.name}: ${describe(e)}`] };
  }
  const manifestText = cm.data?.[FILES_MANIFEST_KEY];
  if (!manifestText) return { ok: false, errors: [`ConfigMap ${at.namespace}/${at.name} has no ${FILES_MANIFEST_KEY}: not an image-mirror output`] };
  let manifest: Record<string, { path: string; from: string }>;
  try {
    manifest = JSON.parse(manifestText) as typeof manifest;
  } catch {
    return { ok: false, errors: [`${FILES_MANIFEST_KEY} of ConfigMap ${at.namespace}/${at.name} is not valid JSON`] };
  }
  const secret = await readSecretData(c, at);
  const files: NodeFileView[] = [];
  for (const [key, entry] of Object.entries(manifest)) {
    if (entry.from === 'Secret') {
      if ('error' in secret) files.push({ path: entry.path, unreadable: `it is in Secret ${at.namespace}/${at.name}, which cannot be read (${secret.error})` });
      else if (secret.data[key] !== undefined) files.push({ path: entry.path, content: secret.data[key] });
    } else if (cm.data?.[key] !== undefined) {
      files.push({ path: entry.path, content: cm.data[key] });
    }
  }
  return {
    ok: true,
    explanation: explain({
      ref,
      files,
      warnings: await publishedWarnings(c, target, flags.namespace),
      target: targetLabel(target),
      from: 'cluster-published',
      contentHash: cm.metadata?.annotations?.[CONTENT_HASH_ANNOTATION],
      runtimes: runtimesFor(target, files, flags.runtime),
      notes: [...nodePoolNotes(target, files), `read from ConfigMap ${at.namespace}/${at.name}: no attribution to input objects (use --from inputs)`],
    }),
  };
}

async function readSecretData(c: Clients, at: { namespace: string; name: string }): Promise<{ data: Record<string, string> } | { error: string }> {
  try {
    const s = await c.core.readNamespacedSecret(at);
    return { data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) };
  } catch (e) {
    return { error: describe(e) };
  }
}

/** The warnings the RenderedMirrorConfig lists (the first 100), best effort. */
async function publishedWarnings(c: Clients, target: Target, operatorNamespace: string): Promise<RenderWarning[]> {
  try {
    const rmc = (await c.custom.getNamespacedCustomObject({
      group: 'imagemirror.io',
      version: 'v1alpha1',
      plural: 'renderedmirrorconfigs',
      namespace: target.kind === 'Cluster' ? operatorNamespace : target.namespace,
      name: target.kind === 'Cluster' ? 'cluster' : target.name,
    })) as { status?: { warnings?: RenderWarning[]; containerdWarnings?: RenderWarning[] } };
    return [...(rmc.status?.warnings ?? []), ...(rmc.status?.containerdWarnings ?? [])];
  } catch {
    return [];
  }
}

async function listOurs(c: Clients, plural: string, kind: string): Promise<KubeObject[]> {
  try {
    const list = (await c.custom.listClusterCustomObject({ group: 'imagemirror.io', version: 'v1alpha1', plural })) as { items?: KubeObject[] };
    return (list.items ?? []).map((i) => ({ ...i, apiVersion: OUR_API_VERSION, kind }));
  } catch (e) {
    throw new Error(`cannot list ${plural}.imagemirror.io: ${describe(e)}`, { cause: e });
  }
}

/** An ObjectSource over objects read up front; lookups it has not read yet are answered "absent" and fetched for the next pass. */
class PrefetchedSource implements ObjectSource {
  private readonly objects = new Map<string, KubeObject | null>();
  private readonly refused = new Map<string, string>();

  constructor(private readonly cluster: readonly KubeObject[]) {}

  clusterScoped(): readonly KubeObject[] {
    return this.cluster;
  }

  get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(key(kind, namespace, name)) ?? undefined;
  }

  knows(kind: NamespacedKind, namespace: string, name: string): boolean {
    return this.objects.has(key(kind, namespace, name));
  }

  async fetch(c: Clients, kind: NamespacedKind, namespace: string, name: string): Promise<void> {
    const k = key(kind, namespace, name);
    try {
      this.objects.set(k, plain(await read(c, kind, namespace, name), kind));
    } catch (e) {
      this.objects.set(k, null);
      const code = (e as { code?: unknown }).code;
      if (code !== 404) this.refused.set(k, `cannot read ${kind} ${namespace}/${name}: ${describe(e)}`);
    }
  }

  unreadable(): string[] {
    return [...this.refused.values()].sort();
  }
}

function read(c: Clients, kind: NamespacedKind, namespace: string, name: string): Promise<unknown> {
  if (kind === 'ConfigMap') return c.core.readNamespacedConfigMap({ namespace, name });
  if (kind === 'Secret') return c.core.readNamespacedSecret({ namespace, name });
  const r = served(kind);
  return c.custom.getNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace, name });
}

/** client-node's typed objects as plain JSON objects, with apiVersion and kind. */
function plain(obj: unknown, kind: NamespacedKind): KubeObject {
  const o = JSON.parse(JSON.stringify(obj)) as KubeObject;
  o.apiVersion ??= kind === 'ConfigMap' || kind === 'Secret' ? 'v1' : HYPERSHIFT_API_VERSION;
  o.kind ??= kind;
  return o;
}

function key(kind: string, namespace: string, name: string): string {
  return `${kind}\u0000${namespace}\u0000${name}`;
}

/** One line for an API or network error, never a stack. */
function describe(e: unknown): string {
  const err = e as { code?: unknown; body?: unknown; message?: string };
  if (typeof err.code === 'number') {
    let message: string | undefined;
    try {
      message = (JSON.parse(typeof err.body === 'string' ? err.body : JSON.stringify(err.body)) as { message?: string }).message;
    } catch {
      // not a Status body
    }
    return message ? `${message} (HTTP ${err.code})` : `HTTP ${err.code}`;
  }
  return err.message ?? String(e);
}
