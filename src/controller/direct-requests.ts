// Output writes (ConfigMap and Secret create and replace) sent with Node's
// own https.request instead of client-node's generated client. A fleet-wide
// change writes every output: client-node's request stack (its object
// serialiser walking the body, its middleware and fetch layers, the
// deserialiser of the answer) cost about 150 us of CPU per write on top of
// the TLS work, measured against a local TLS server (bench/RESULTS.md §8),
// for a body that is already plain JSON-ready data.
//
// Everything else about the request stays client-node's: the KubeConfig
// applies the credentials (token, token file, exec plugin, client
// certificate, basic auth) and TLS options exactly as for its own calls, the
// connection comes from the same shared keep-alive agent (keepalive.ts), and
// a refused write throws client-node's ApiException with the status code,
// the body of the answer and its headers, as the generated client does.
import http from 'node:http';
import https from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { fieldManagerOf } from '../common/client-identity.js';
import { keepAliveAgent } from './keepalive.js';

/** How a write asks for its answer: the stored object, or its metadata only (a PartialObjectMetadata). */
export type Answer = 'object' | 'metadata';

/** The Accept header that asks the API server for PartialObjectMetadata: a write's answer here, the output watch's events (kube.ts). */
export const ACCEPT_METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

const ACCEPT: Record<Answer, string> = {
  object: 'application/json',
  metadata: ACCEPT_METADATA_ONLY,
};

export class DirectRequests {
  constructor(private readonly kc: KubeConfig) {}

  /** POST (create) or PUT (replace) `body` as JSON at `path`; resolves to the parsed answer of a 2xx. */
  async send<T>(method: 'POST' | 'PUT', path: string, body: object, answer: Answer): Promise<T> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    const manager = fieldManagerOf(this.kc);
    if (manager !== undefined && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', manager);
    // applyToFetchOptions: the credentials and TLS options, and the user agent identifyAs adds (client-identity.ts).
    const opts = await this.kc.applyToFetchOptions({});
    const payload = Buffer.from(bodyJson(body), 'utf8');
    const headers: http.OutgoingHttpHeaders = {};
    // node-fetch's Headers: lower-case names, one value each (basic credentials already made an Authorization header).
    (opts.headers as { forEach?: (fn: (value: string, name: string) => void) => void } | undefined)?.forEach?.((value, name) => {
      headers[name] = value;
    });
    headers.accept = ACCEPT[answer];
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
    const given = opts.agent as http.Agent | undefined;
    const agent = given instanceof https.Agent ? keepAliveAgent(given) : given;
    const request = url.protocol === 'http:' ? http.request : https.request;
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = request(url, { method, headers, ...(agent !== undefined ? { agent } : {}) }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('error', reject);
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    if (res.status >= 200 && res.status <= 299) return JSON.parse(res.text) as T;
    // As the generated client: a 401 without a body, any other refusal with the text of the answer (a Status).
    throw new ApiException(
      res.status,
      res.status === 401 ? 'Unauthorized' : 'Unknown API Status Code!',
      res.status === 401 ? undefined : res.text,
      flat(res.headers),
    );
  }
}

/**
 * JSON of output data objects. Targets that share a render (the RenderMemo)
 * share its data object, which the pipeline freezes: serialised once, not
 * once per write (a fleet-wide change writes 10,000 outputs from a handful of
 * renders, 22 KB each).
 */
const dataJson = new WeakMap<object, string>();

/** JSON.stringify(body), with a frozen `data` serialised once (it comes last: key order means nothing to the API server). */
export function bodyJson(body: object): string {
  const { data, ...rest } = body as { data?: unknown };
  if (data === null || typeof data !== 'object' || !Object.isFrozen(data)) return JSON.stringify(body);
  let json = dataJson.get(data);
  if (json === undefined) {
    json = JSON.stringify(data);
    dataJson.set(data, json);
  }
  const head = JSON.stringify(rest);
  return head === '{}' ? `{"data":${json}}` : `${head.slice(0, -1)},"data":${json}}`;
}

function flat(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
