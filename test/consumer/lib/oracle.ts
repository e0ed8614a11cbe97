// explain as the oracle of the renderers: for every pull a scenario makes
// through `consumers()`, the requests the registries received, in arrival
// order, must be the ones `explain` predicts for that runtime from the
// rendered files (host, method, path and query, containerd's ?ns= included),
// up to the first that served the manifest, or all of them when none did.
// A renderer change that sends a runtime elsewhere fails the scenario here.
//
// What the registries cannot show is excused, never guessed: a registry that
// was stopped, or one that got TCP connections but no request (a rejected
// TLS handshake), is left out of the prediction.
import { AssertionError } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { explain, parseImageRef, type PredictedRequest, type Runtime } from '../../../src/explain/index.js';
import type { RunResult } from './proc.js';
import { requestSeq, type Registry } from './registry.js';
import type { Rendered } from './render.js';

export interface PullWindow {
  seq: number;
  connections: Map<Registry, number>;
}

/** Call before a pull: where the registries' logs stand. */
export function openWindow(registries: readonly Registry[]): PullWindow {
  return { seq: requestSeq(), connections: new Map(registries.map((r) => [r, r.connections()])) };
}

/** The runtime a consumer of the suite is: containerd's resolver, or containers/image. */
export function runtimeOf(consumer: string): Runtime {
  return consumer.startsWith('containerd') || consumer.startsWith('ctr') ? 'containerd' : 'containers-image';
}

interface Seen {
  key: string;
  status: number;
  authorized: boolean;
}

/** Throws an AssertionError when the registries saw something other than the prediction. */
export async function expectAsPredicted(o: {
  runtime: Runtime;
  rendered: Rendered;
  ref: string;
  registries: readonly Registry[];
  window: PullWindow;
  result: RunResult;
}): Promise<void> {
  const predicted = await predict(o.rendered, o.ref, o.runtime);
  const actual = observed(o.registries, o.window, o.runtime);
  const excused = new Set(
    o.registries
      .filter((r) => r.stopped || ((o.window.connections.get(r) ?? 0) < r.connections() && !actual.some((a) => a.key.startsWith(`${r.host} `))))
      .map((r) => r.host),
  );
  const known = new Set(o.registries.map((r) => r.host));
  const expected = predicted.filter((q) => known.has(q.host) && !excused.has(q.host)).map(keyOf);
  const served = actual.findIndex((a) => a.status >= 200 && a.status < 300);
  const want = served >= 0 ? expected.slice(0, served + 1) : expected;
  const got = actual.map((a) => a.key);
  if (JSON.stringify(got) === JSON.stringify(want)) return;
  throw new AssertionError(
    `${o.runtime}: the registries saw other requests than explain predicts for ${o.ref}\n` +
      `  predicted (until the first that serves it): ${JSON.stringify(want, null, 2)}\n` +
      `  observed: ${JSON.stringify(
        actual.map((a) => `${a.key} ${a.status}`),
        null,
        2,
      )}\n` +
      `  excused (stopped, or TLS rejected): ${JSON.stringify([...excused])}\n$ ${o.result.command}\nexit ${o.result.code}\n` +
      o.result.stderr.split('\n').slice(-40).join('\n'),
  );
}

async function predict(rendered: Rendered, image: string, runtime: Runtime): Promise<PredictedRequest[]> {
  const ref = parseImageRef(image);
  if (!ref.ok) throw new Error(`oracle: ${ref.error}`);
  const files: Array<{ path: string; content: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push({ path: `/${relative(rendered.out, p)}`, content: await readFile(p, 'utf8') });
    }
  };
  await walk(rendered.out);
  const e = explain({ ref: ref.ref, files, warnings: [], target: 'consumer test', from: 'files', runtimes: [runtime] });
  return e.runtimes[0]?.requests ?? [];
}

/** The resolve phase in arrival order: containerd's HEADs on manifests and blobs, containers/image's manifest GETs. */
function observed(registries: readonly Registry[], w: PullWindow, runtime: Runtime): Seen[] {
  const all = registries
    .flatMap((r) => r.requests().map((q) => ({ ...q, host: r.host })))
    .filter((q) => q.seq >= w.seq)
    .filter((q) =>
      runtime === 'containerd' ? q.method === 'HEAD' && /\/(manifests|blobs)\//.test(q.path) : q.method === 'GET' && q.path.includes('/manifests/'),
    )
    .sort((a, b) => a.seq - b.seq);
  const out: Seen[] = [];
  for (const q of all) {
    const key = `${q.host} ${q.method} ${q.path}${q.query}`;
    const last = out[out.length - 1];
    // A request answered 401 and sent again with credentials is one attempt (the same request without
    // credentials twice is two: containerd's host table and `server` can be one URL).
    if (last && last.key === key && last.status === 401 && !last.authorized && q.authorized) out.pop();
    out.push({ key, status: q.status, authorized: q.authorized });
  }
  return out;
}

function keyOf(q: PredictedRequest): string {
  return `${q.host} ${q.method} ${q.path}${q.query}`;
}
