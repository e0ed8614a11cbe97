// What explain says about one image reference, per runtime. Plain data: the
// JSON and YAML outputs are these values; the human output formats them.
import type { Origin, RenderWarning } from '../model/types.js';

export type Runtime = 'containers-image' | 'containerd';
export const RUNTIMES: readonly Runtime[] = ['containers-image', 'containerd'];

/** One HTTP request as the registry receives it. */
export interface PredictedRequest {
  method: 'GET' | 'HEAD';
  /** Full URL: scheme, the host:port connected to, path and query. */
  url: string;
  /** `host[:port]` the request goes to. */
  host: string;
  path: string;
  /** `?ns=...` or ''. */
  query: string;
}

export interface TlsView {
  scheme: 'https' | 'http';
  /** The server certificate is verified. */
  verify: boolean;
  /** After a failed HTTPS attempt the runtime retries over plain HTTP. */
  httpFallback: boolean;
  /** CA files the runtime loads for this endpoint (node paths). */
  caFiles: string[];
  /** Client certificate and key (node paths); the key's content is never shown. */
  clientCertificates: Array<{ cert: string; key?: string }>;
}

export interface CredentialsView {
  /** Where the credentials come from (node path), never what they are. */
  file: string;
  /** auth.json entry or header name. */
  entry: string;
  /** What the runtime must be told to use them, if anything. */
  note?: string;
}

/** An object that asked for an endpoint, or for a setting of it. */
export interface Contributor {
  kind: string;
  name: string;
  namespace?: string;
  /** File or ConfigMap key the document was read from. */
  location?: string;
  /** `spec.imageDigestMirrors[0]` and the like. */
  field: string;
  /** What it contributed, e.g. `digest mirror of quay.io/ns` or `CA`. */
  what: string;
}

export interface EndpointBase {
  /** Tried for this reference (kind, capabilities). */
  applies: boolean;
  /** Why it is not tried for this reference. */
  skipped?: string;
  tls: TlsView;
  credentials?: CredentialsView;
  /** Requests for the manifest, in the order the runtime sends them. */
  requests: PredictedRequest[];
  /** This endpoint is the source registry itself. */
  isSource: boolean;
  contributors: Contributor[];
}

export interface ContainersImageEndpoint extends EndpointBase {
  role: 'mirror' | 'source';
  /** registries.conf location (mirror) or the registry location. */
  location: string;
  /** The reference after the prefix is replaced by the location. */
  reference: string;
  /** Mirrors only: `all` (neither restriction), `digest-only` or `tag-only`. */
  pullFromMirror?: 'all' | 'digest-only' | 'tag-only';
  /** The prefix whose `blocked = true` refuses this endpoint before any request. */
  blockedBy?: string;
}

export interface ContainerdEndpoint extends EndpointBase {
  /** `host` for a `[host."..."]` table, `server` for the root, `default` when nothing configures the host. */
  role: 'host' | 'server' | 'default';
  /** The table key or `server` value as written in hosts.toml. */
  written?: string;
  capabilities: Array<'pull' | 'resolve' | 'push'>;
  /** The resolved API root: scheme://host + path (`/v2`, or the path itself with override_path). */
  apiRoot: string;
  overridePath: boolean;
  /** The endpoint is tried for this repository only because containerd configures whole hosts: the sources it mirrors. */
  widenedFrom?: string[];
}

/** `fails`: no endpoint can serve this reference; `unknown`: a file it depends on could not be read. */
export type Pullability = { status: 'ok' } | { status: 'fails'; why: string } | { status: 'unknown'; why: string };

interface RuntimeBase {
  /** The rendered files the prediction was read from. */
  files: string[];
  /** Manifest requests of every endpoint, in order: what the registries see, until one answers. */
  requests: PredictedRequest[];
  /** `first`: nothing is configured (or no mirror applies); `after-mirrors`; `never`. */
  sourceContacted: 'first' | 'after-mirrors' | 'never';
  pull: Pullability;
  warnings: RenderWarning[];
  notes: string[];
}

export interface ContainersImageExplanation extends RuntimeBase {
  runtime: 'containers-image';
  consumers: string;
  /** The `[[registry]]` that matched, or absent when none did. */
  match?: {
    prefix: string;
    location?: string;
    blocked: boolean;
    insecure: boolean;
    mirrorByDigestOnly: boolean;
    contributors: Contributor[];
  };
  endpoints: ContainersImageEndpoint[];
}

export interface ContainerdExplanation extends RuntimeBase {
  runtime: 'containerd';
  consumers: string;
  /** Host directories looked for, in containerd's order. */
  lookedFor: string[];
  /** The directory used, absent when none exists (containerd's defaults apply). */
  dir?: string;
  endpoints: ContainerdEndpoint[];
}

export type RuntimeExplanation = ContainersImageExplanation | ContainerdExplanation;

export interface Explanation {
  reference: {
    input: string;
    pulled: string;
    kind: 'tag' | 'digest';
    registry: string;
    repository: string;
    tag?: string;
    digest?: string;
    notes: string[];
  };
  target: string;
  /** `files` (offline), `cluster-inputs` or `cluster-published`. */
  from: 'files' | 'cluster-inputs' | 'cluster-published';
  /** `sha256:<hex>` of the ConfigMap data, as in the output's annotation and the RenderedMirrorConfig status. */
  contentHash?: string;
  runtimes: RuntimeExplanation[];
  notes: string[];
}

/** Origins trimmed to what people need (no uid or resourceVersion). */
export function contributor(o: Origin, field: string, what: string): Contributor {
  const c: Contributor = { kind: o.kind, name: o.name, field, what };
  if (o.namespace) c.namespace = o.namespace;
  if (o.location) c.location = o.location;
  return c;
}
