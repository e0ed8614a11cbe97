// How containerd reads the rendered certs.d tree and picks endpoints for one
// reference, following remotes/docker/config/hosts.go and
// remotes/docker/resolver.go (1.6 through 2.x):
// - the host directory is the first of `host_port_`, `host:port`,
//   `_default` that exists under the config path;
// - hosts.toml: `[host."..."]` tables in file order, then the root `server`
//   (without `server`: https://<host>, registry-1.docker.io for docker.io,
//   with every capability). A file that does not parse, or has no `host`
//   table, is ignored (containerd logs it and falls back to the *.crt /
//   *.cert files of the directory);
// - an URL's path becomes the API root: `/v2` is appended unless the path
//   already ends in /v2 or `override_path = true`;
// - capabilities default to pull, resolve and push; a tag needs a host with
//   pull AND resolve, a digest one with pull ("no resolve hosts" otherwise);
// - Resolve sends HEAD manifests/<ref> to each host in order, and for a
//   digest then HEAD blobs/<digest> to each host in order; requests to a
//   host other than the reference's carry `?ns=<reference host>`.
// Pure: rendered file contents in, explanation out.
import { parse } from 'smol-toml';
import type { MergeInputs } from '../model/types.js';
import { accessContributors, containerdTableContributors, insecureContributors } from './attribution.js';
import type { NodeFiles } from './node-files.js';
import { serverHost, type ImageRef } from './reference.js';
import type { ContainerdEndpoint, ContainerdExplanation, PredictedRequest, TlsView } from './types.js';
import { contributor, type Contributor } from './types.js';
import { hostPort } from '../merge/scope.js';

export const CONTAINERD_CERTS = '/etc/containerd/certs.d';

type Capability = 'pull' | 'resolve' | 'push';
const ALL: Capability[] = ['pull', 'resolve', 'push'];

/** One registry host as containerd's hosts.go builds it. */
export interface HostConfig {
  role: 'host' | 'server' | 'default';
  written?: string;
  scheme: string;
  host: string;
  path: string;
  overridePath: boolean;
  capabilities: Capability[];
  skipVerify?: boolean;
  caFiles: string[];
  clientPairs: Array<{ cert: string; key?: string }>;
  headerNames: string[];
  /**
   * Header values, for the node agent's probes only (they may be
   * credentials): an explanation carries the names, never these.
   */
  headers: Record<string, string>;
}

type HostsRead = { ok: true; hosts: HostConfig[] } | { ok: false; error: string };

/** `host:port` -> `host_port_` (hostDirectory). */
export function hostDirectory(host: string): string {
  const i = host.lastIndexOf(':');
  return i > 0 ? `${host.slice(0, i)}_${host.slice(i + 1)}_` : host;
}

/** hostPaths: the directories containerd looks for, in order. */
export function hostPaths(host: string): string[] {
  const dirs = hostDirectory(host) !== host ? [hostDirectory(host)] : [];
  return [...dirs, host, '_default'];
}

/** parseHostsFile: the host tables in file order, then the root. */
export function readHostsToml(text: string, dir: string): HostsRead {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `not valid TOML: ${(e as Error).message.split('\n')[0]}` };
  }
  const tables = doc.host;
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) return { ok: false, error: 'no [host."..."] table (invalid `host` tree)' };
  const hosts: HostConfig[] = [];
  // smol-toml keeps tables in document order, which is containerd's order (by the line of each table).
  for (const [url, cfg] of Object.entries(tables as Record<string, unknown>)) {
    const h = hostConfig('host', url, cfg as Record<string, unknown>, dir);
    if (typeof h === 'string') return { ok: false, error: h };
    hosts.push(h);
  }
  const server = typeof doc.server === 'string' ? doc.server : '';
  const root = hostConfig('server', server, doc, dir);
  if (typeof root === 'string') return { ok: false, error: root };
  hosts.push(root);
  return { ok: true, hosts };
}

/** parseHostConfig. */
function hostConfig(role: 'host' | 'server', server: string, cfg: Record<string, unknown>, dir: string): HostConfig | string {
  const overridePath = cfg.override_path === true;
  const h: HostConfig = {
    role,
    scheme: '',
    host: '',
    path: '',
    overridePath,
    capabilities: [...ALL],
    caFiles: [],
    clientPairs: [],
    headerNames: [],
    headers: {},
  };
  if (server !== '') {
    h.written = server;
    const url = server.startsWith('http') ? server : `https://${server}`;
    const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/i.exec(url);
    const [scheme, host, rawPath] = [m?.[1], m?.[2], m?.[3]];
    if (scheme === undefined || host === undefined || rawPath === undefined) return `unable to parse server ${JSON.stringify(server)}`;
    h.scheme = scheme.toLowerCase();
    h.host = host;
    let path = rawPath;
    if (path.length > 0) {
      path = cleanPath(path);
      if (!path.endsWith('/v2') && !overridePath) path += '/v2';
    } else if (!overridePath) {
      path = '/v2';
    }
    h.path = path;
  }
  if (typeof cfg.skip_verify === 'boolean') h.skipVerify = cfg.skip_verify;
  if (Array.isArray(cfg.capabilities) && cfg.capabilities.length > 0) {
    const caps = new Set<Capability>();
    for (const c of cfg.capabilities) {
      const lc = String(c).toLowerCase();
      if (lc !== 'pull' && lc !== 'resolve' && lc !== 'push') return `unknown capability ${String(c)}`;
      caps.add(lc);
    }
    h.capabilities = ALL.filter((c) => caps.has(c));
  }
  const abs = (p: string): string => (p.startsWith('/') ? p : `${dir}/${p}`);
  if (typeof cfg.ca === 'string') h.caFiles = [abs(cfg.ca)];
  else if (Array.isArray(cfg.ca)) h.caFiles = cfg.ca.map((p) => abs(String(p)));
  else if (cfg.ca !== undefined) return 'invalid type for "ca"';
  const client = cfg.client;
  if (typeof client === 'string') h.clientPairs = [{ cert: abs(client) }];
  else if (Array.isArray(client)) {
    for (const p of client) {
      if (typeof p === 'string') h.clientPairs.push({ cert: abs(p) });
      else if (Array.isArray(p) && p.length === 2) h.clientPairs.push({ cert: abs(String(p[0])), key: abs(String(p[1])) });
      else return 'invalid pair for "client"';
    }
  } else if (client !== undefined) return 'invalid type for "client"';
  if (typeof cfg.header === 'object' && cfg.header !== null) {
    for (const [k, v] of Object.entries(cfg.header as Record<string, unknown>)) {
      const value = typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
      if (value === undefined) return `invalid type for header ${JSON.stringify(k)}`;
      h.headers[k] = value;
    }
    h.headerNames = Object.keys(h.headers).sort();
  }
  return h;
}

/** Go's path.Clean for the absolute paths used here. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** path.Join("/", ...): one slash between parts, cleaned. */
function joinPath(...parts: string[]): string {
  return cleanPath(parts.join('/'));
}

/** docker.IsLocalhost. */
function isLocalhost(host: string): boolean {
  const name = host.replace(/:[0-9]+$/, '').replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || /^127\.[0-9.]+$/.test(name) || name === '::1';
}

/** A host with nothing configured: ConfigureHosts fills in the registry's defaults. */
function emptyHost(): HostConfig {
  return {
    role: 'default',
    scheme: '',
    host: '',
    path: '',
    overridePath: false,
    capabilities: [...ALL],
    caFiles: [],
    clientPairs: [],
    headerNames: [],
    headers: {},
  };
}

/** The certificate files fallback (loadCertFiles): one default host with the directory's *.crt and *.cert files. */
function certFilesHost(dir: string, files: NodeFiles): HostConfig {
  const names = files.list(dir);
  const h = emptyHost();
  h.caFiles = names.filter((n) => n.endsWith('.crt')).map((n) => `${dir}/${n}`);
  h.clientPairs = names
    .filter((n) => n.endsWith('.cert'))
    .map((n) => {
      const key = `${n.slice(0, -5)}.key`;
      return names.includes(key) ? { cert: `${dir}/${n}`, key: `${dir}/${key}` } : { cert: `${dir}/${n}` };
    });
  return h;
}

/** ConfigureHosts: the last host without a server gets the registry's defaults. */
function withDefaults(hosts: HostConfig[], refHost: string, notes: string[]): void {
  const last = hosts[hosts.length - 1];
  if (last?.host !== '') return;
  if (refHost === 'docker.io') {
    last.scheme = 'https';
    last.host = 'registry-1.docker.io';
  } else {
    last.host = refHost;
    last.scheme = 'https';
    if (isLocalhost(refHost)) {
      last.scheme = 'http';
      notes.push(
        `${refHost} is a local address: without a configured server, containerd uses plain HTTP there (2.x: HTTP on a non-443 port, trying HTTPS without verification first)`,
      );
    }
  }
  last.path = '/v2';
  last.capabilities = [...ALL];
}

export interface ContainerdInput {
  ref: ImageRef;
  files: NodeFiles;
  inputs?: MergeInputs | undefined;
}

export function explainContainerd(input: ContainerdInput): ContainerdExplanation {
  const { ref, files } = input;
  const out: ContainerdExplanation = {
    runtime: 'containerd',
    consumers: 'CRI plugin, ctr, nerdctl; with config_path = /etc/containerd/certs.d',
    files: [],
    lookedFor: hostPaths(ref.domain).map((d) => `${CONTAINERD_CERTS}/${d}`),
    endpoints: [],
    requests: [],
    sourceContacted: 'first',
    pull: { status: 'ok' },
    warnings: [],
    notes: [],
  };
  const dir = out.lookedFor.find((d) => files.hasDir(d));
  let hosts: HostConfig[] | undefined;
  if (dir) {
    out.dir = dir;
    const hostsToml = files.get(`${dir}/hosts.toml`);
    if (hostsToml && 'unreadable' in hostsToml) {
      out.files.push(hostsToml.path);
      out.pull = { status: 'unknown', why: `${hostsToml.path} cannot be read: ${hostsToml.unreadable}` };
      return out;
    }
    if (hostsToml) {
      out.files.push(hostsToml.path);
      const read = readHostsToml(hostsToml.content, dir);
      if (read.ok) hosts = read.hosts;
      else out.notes.push(`containerd ignores ${hostsToml.path} (${read.error}) and uses only the certificate files of ${dir}`);
    }
    hosts ??= [certFilesHost(dir, files)];
  } else {
    out.notes.push(`no host directory for ${ref.domain}: containerd contacts the registry itself`);
    hosts = [emptyHost()];
  }
  withDefaults(hosts, ref.domain, out.notes);
  const need: Capability[] = ref.kind === 'digest' ? ['pull'] : ['pull', 'resolve'];
  out.endpoints = hosts.map((h) => endpointOf(h, need, input, dir));
  const usable = out.endpoints.filter((e) => e.applies);
  out.requests = requestOrder(usable, ref);
  const firstSource = usable.findIndex((e) => e.isSource);
  out.sourceContacted = firstSource < 0 ? 'never' : firstSource === 0 ? 'first' : 'after-mirrors';
  if (usable.length === 0) {
    out.pull = {
      status: 'fails',
      why: `no resolve hosts: no endpoint has the ${need.join(' and ')} capabilit${need.length > 1 ? 'ies' : 'y'} a pull by ${ref.kind} needs`,
    };
  }
  out.files.push(...new Set(out.endpoints.flatMap((e) => [...e.tls.caFiles, ...e.tls.clientCertificates.map((c) => c.cert)])));
  return out;
}

function endpointOf(h: HostConfig, need: readonly Capability[], input: ContainerdInput, dir: string | undefined): ContainerdEndpoint {
  const { ref, inputs } = input;
  const missing = need.filter((c) => !h.capabilities.includes(c));
  const explicitTls = h.skipVerify !== undefined || h.caFiles.length > 0 || h.clientPairs.length > 0;
  const tls: TlsView = {
    scheme: h.scheme === 'http' && explicitTls ? 'https' : h.scheme === 'http' ? 'http' : 'https',
    verify: h.skipVerify !== true && h.scheme !== 'http',
    httpFallback: h.scheme === 'http' && explicitTls,
    caFiles: h.caFiles,
    clientCertificates: h.clientPairs,
  };
  const e: ContainerdEndpoint = {
    role: h.role,
    capabilities: h.capabilities,
    apiRoot: `${h.scheme}://${h.host}${h.path}`,
    overridePath: h.overridePath,
    applies: missing.length === 0,
    isSource: h.host === serverHost(ref.domain),
    tls,
    requests: [],
    contributors: [],
  };
  if (h.written !== undefined) e.written = h.written;
  if (missing.length > 0)
    e.skipped = `capabilities ${JSON.stringify(h.capabilities)} lack ${missing.map((c) => `"${c}"`).join(' and ')}, which a pull by ${ref.kind} needs`;
  const auth = h.headerNames.find((n) => n.toLowerCase() === 'authorization');
  if (auth && dir) e.credentials = { file: `${dir}/hosts.toml`, entry: `header ${auth}`, note: 'sent with every request to this host' };
  e.requests = requestsFor(h, ref);
  if (inputs) attribute(e, h, inputs, ref);
  return e;
}

/** HEAD manifests/<ref> (then, for a digest, HEAD blobs/<digest>) on one host. */
function requestsFor(h: HostConfig, ref: ImageRef): PredictedRequest[] {
  const object = ref.digest ?? ref.tag!;
  const kinds = ref.digest ? ['manifests', 'blobs'] : ['manifests'];
  const query = h.host !== ref.domain && !(ref.domain === 'docker.io' && h.host === 'registry-1.docker.io') ? `?ns=${queryEscape(ref.domain)}` : '';
  return kinds.map((k) => {
    const path = joinPath('/', h.path, ref.path, k, object);
    return { method: 'HEAD', url: `${h.scheme}://${h.host}${path}${query}`, host: h.host, path, query };
  });
}

/** Resolve's order: each request kind (manifests, then blobs) across all hosts in order. */
function requestOrder(endpoints: readonly ContainerdEndpoint[], ref: ImageRef): PredictedRequest[] {
  const kinds = ref.digest ? 2 : 1;
  const out: PredictedRequest[] = [];
  for (let k = 0; k < kinds; k++) {
    for (const e of endpoints) {
      const q = e.requests[k];
      if (q) out.push(q);
    }
  }
  return out;
}

/** Go's url.QueryEscape for the characters a registry host can hold. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function attribute(e: ContainerdEndpoint, h: HostConfig, inputs: MergeInputs, ref: ImageRef): void {
  const list: Contributor[] = [];
  if (h.written !== undefined && (h.role === 'host' || !e.isSource)) {
    const written = h.written.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    const t = containerdTableContributors(inputs, ref.domain, written, ref.name);
    list.push(...t.contributors);
    if (t.widenedFrom && h.role === 'host') e.widenedFrom = t.widenedFrom;
    if (h.role === 'server') list.push(...hostBlockContributors(inputs, ref.domain));
  }
  if (e.tls.httpFallback || !e.tls.verify) list.push(...insecureContributors(inputs, h.host));
  list.push(...accessContributors(inputs, logicalHost(h.host, ref)));
  e.contributors = list;
}

/** Access settings are keyed by the logical host: docker.io for registry-1.docker.io. */
function logicalHost(host: string, ref: ImageRef): string {
  return host === 'registry-1.docker.io' && ref.domain === 'docker.io' ? 'docker.io' : host;
}

/** Why containerd's `server` is not the source: NeverContactSource entries or blocked scopes on this host. */
function hostBlockContributors(inputs: MergeInputs, host: string): Contributor[] {
  const out: Contributor[] = [];
  for (const e of inputs.entries) {
    if (e.policy === 'NeverContactSource' && !e.source.startsWith('*.') && hostPort(e.source) === host) {
      out.push(contributor(e.origin, e.field, `NeverContactSource for ${e.source} (containerd: the whole host)`));
    }
  }
  for (const s of inputs.blocked) {
    if (!s.scope.startsWith('*.') && hostPort(s.scope) === host) {
      out.push(contributor(s.origin, s.field, `blocked scope ${s.scope} (containerd: the whole host)`));
    }
  }
  return out;
}
