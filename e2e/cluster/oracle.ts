// explain as the oracle of the cluster tier's pulls (as test/consumer/lib/oracle.ts is for the consumer
// tests): from the files the agent installed on a node, explain predicts the requests the node's containerd
// makes for an image reference; the registries' access logs must show exactly those, in that order per
// registry, up to the first that served the manifest. A renderer or agent change that sends the node's
// runtime elsewhere fails the scenario here.
import { AssertionError } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { explain, parseImageRef, type PredictedRequest } from '../../src/explain/index.js';
import type { AccessRecord, Cluster, ClusterRegistry } from './harness.js';

/** What the node's containerd will request for `image`, predicted from the node's own /etc/containerd. */
export async function predictOnNode(cluster: Cluster, node: string, image: string): Promise<PredictedRequest[]> {
  const ref = parseImageRef(image);
  if (!ref.ok) throw new Error(`oracle: ${ref.error}`);
  const root = cluster.nodeDir(node);
  const files: Array<{ path: string; content: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push({ path: `/${relative(root, p)}`, content: await readFile(p, 'utf8') });
    }
  };
  await walk(join(root, 'etc/containerd'));
  const e = explain({ ref: ref.ref, files, warnings: [], target: `node ${node}`, from: 'files', runtimes: ['containerd'] });
  return e.runtimes[0]?.requests ?? [];
}

const keyOf = (host: string, q: Pick<AccessRecord, 'method' | 'path' | 'query'>): string => `${host} ${q.method} ${q.path}${q.query}`;

/**
 * Asserts that the registries saw, from the nodes' containerd, the requests
 * predicted for the pull (containerd's resolve phase: HEAD on the manifest,
 * then on blobs), per registry in the predicted order, up to the first
 * that answered 2xx. `marks` are each registry's log position before the pull.
 */
export async function expectPulledAsPredicted(
  cluster: Cluster,
  node: string,
  image: string,
  seen: ReadonlyArray<{ registry: ClusterRegistry; mark: number }>,
): Promise<PredictedRequest[]> {
  const predicted = await predictOnNode(cluster, node, image);
  const observed = new Map<string, AccessRecord[]>();
  for (const { registry, mark } of seen) {
    observed.set(
      registry.host,
      (await registry.pulls(mark)).filter((r) => r.method === 'HEAD' && /\/(manifests|blobs)\//.test(r.path)),
    );
  }
  // The prediction up to the first request a registry served.
  const want: string[] = [];
  for (const p of predicted) {
    if (!observed.has(p.host)) continue;
    // An HTTPS attempt followed by plain HTTP (containerd on a localhost registry) reaches the log once.
    if (want[want.length - 1] === keyOf(p.host, p)) continue;
    want.push(keyOf(p.host, p));
    if ((observed.get(p.host) ?? []).some((r) => keyOf(p.host, r) === keyOf(p.host, p) && r.status >= 200 && r.status < 300)) break;
  }
  const problems: string[] = [];
  for (const [host, records] of observed) {
    const got = dedupeAuthRetries(records).map((r) => keyOf(host, r));
    const expected = want.filter((k) => k.startsWith(`${host} `));
    if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`${host}: predicted ${JSON.stringify(expected)}, observed ${JSON.stringify(got)}`);
  }
  if (problems.length > 0) {
    throw new AssertionError(
      `node ${node}: the registries saw other requests than explain predicts for ${image}\n  ${problems.join('\n  ')}\n` +
        `  full prediction: ${JSON.stringify(predicted.map((p) => `${p.method} ${p.url}`))}`,
    );
  }
  return predicted;
}

/** A request answered 401 and sent again (with the credentials) is one attempt. */
function dedupeAuthRetries(records: readonly AccessRecord[]): AccessRecord[] {
  const out: AccessRecord[] = [];
  for (const r of records) {
    const last = out[out.length - 1];
    if (last && last.status === 401 && last.method === r.method && last.path === r.path && last.query === r.query) out.pop();
    out.push(r);
  }
  return out;
}
