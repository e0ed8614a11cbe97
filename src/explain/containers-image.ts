// How containers/image (CRI-O, podman, skopeo, buildah) reads the rendered
// registries.conf drop-in and picks endpoints for one reference, following
// pkg/sysregistriesv2 and docker/docker_image_src.go:
// - the loader normalizes each [[registry]] (prefix defaults to location,
//   trailing "/" trimmed, no URI schemes), rejects pull-from-mirror on a
//   registry and together with mirror-by-digest-only, keeps the first entry
//   of each prefix and sorts by prefix;
// - FindRegistry takes the LONGEST prefix matching the repository name at a
//   "/", ":" or "@" boundary ("*.x" matches hosts under x); ties go to the
//   first in sort order;
// - PullSourcesFromReference lists the mirrors (all of them, only for
//   digests with mirror-by-digest-only, or filtered by pull-from-mirror),
//   then the location, each with the prefix replaced;
// - every endpoint is looked up again in the configuration and refused when
//   the entry that matches IT is `blocked` (so a blocked source's mirrors are
//   still tried); TLS is skipped, with a plain-HTTP fallback, when the
//   endpoint itself is `insecure`;
// - each endpoint gets GET /v2/ and GET /v2/<repo>/manifests/<tag|digest>;
//   the first that serves the manifest is used.
// Pure: rendered file contents in, explanation out.
import { parse } from 'smol-toml';
import type { MergeInputs } from '../model/types.js';
import { accessContributors, blockContributors, insecureContributors, mirrorContributors, ruleContributors } from './attribution.js';
import type { NodeFiles } from './node-files.js';
import { parseImageRef, serverHost, type ImageRef } from './reference.js';
import type { ContainersImageEndpoint, ContainersImageExplanation, CredentialsView, PredictedRequest, TlsView } from './types.js';

export const REGISTRIES_CONF = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
export const CONTAINERS_CERTS = '/etc/containers/certs.d';
export const AUTH_JSON = '/etc/containers/auth.json';

type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

/** One `[[registry.mirror]]` (or the registry's own endpoint), as the loader keeps it. */
export interface ConfEndpoint {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

/** One `[[registry]]` after the loader's normalization. */
export interface ConfRegistry {
  prefix: string;
  /** Empty for `*.domain` prefixes. */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: ConfEndpoint[];
}

export type ConfRead = { ok: true; registries: ConfRegistry[] } | { ok: false; error: string };

/** Parses the drop-in the way the loader does; an error here means containers/image refuses every pull. */
export function readRegistriesConf(text: string): ConfRead {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `not valid TOML: ${(e as Error).message.split('\n')[0]}` };
  }
  const tables = doc.registry;
  if (tables === undefined) return { ok: true, registries: [] };
  if (!Array.isArray(tables)) return { ok: false, error: '"registry" is not an array of tables' };
  const byPrefix = new Map<string, ConfRegistry>();
  for (const [i, t] of tables.entries()) {
    const read = readRegistry(t as Record<string, unknown>, i);
    if (typeof read === 'string') return { ok: false, error: read };
    if (!byPrefix.has(read.prefix)) byPrefix.set(read.prefix, read); // the first entry of a prefix wins
  }
  const registries = [...byPrefix.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return { ok: true, registries };
}

function readRegistry(t: Record<string, unknown>, i: number): ConfRegistry | string {
  const at = `[[registry]] #${i + 1}`;
  const location = trimLocation(str(t.location));
  if (location === undefined) return `${at}: invalid location ${JSON.stringify(t.location)}: URI schemes are not supported`;
  let prefix = trimLocation(str(t.prefix));
  if (prefix === undefined) return `${at}: invalid prefix ${JSON.stringify(t.prefix)}`;
  if (prefix === '') {
    if (location === '') return `${at}: both location and prefix are unset`;
    prefix = location;
  } else if (!prefix.startsWith('*.') && location === '') {
    return `${at}: location is unset and prefix is not in the format *.example.com`;
  }
  if (prefix.startsWith('*.') && /[/@:]/.test(prefix)) return `${at}: wildcard prefix ${JSON.stringify(prefix)} must be *.example.com`;
  if (t['pull-from-mirror'] !== undefined) return `${at}: pull-from-mirror must not be set for a non-mirror registry ${JSON.stringify(prefix)}`;
  const mirrorByDigestOnly = t['mirror-by-digest-only'] === true;
  const mirrors: ConfEndpoint[] = [];
  const list = t.mirror === undefined ? [] : t.mirror;
  if (!Array.isArray(list)) return `${at}: "mirror" is not an array of tables`;
  for (const m of list as Array<Record<string, unknown>>) {
    const loc = trimLocation(str(m.location));
    if (loc === undefined || loc === '') return `${at}: a mirror location is unset or has a URI scheme`;
    const pfm = m['pull-from-mirror'];
    if (mirrorByDigestOnly && pfm !== undefined && pfm !== '') {
      return `${at}: cannot set mirror-by-digest-only for the registry (${JSON.stringify(prefix)}) and pull-from-mirror for a mirror (${JSON.stringify(loc)}) at the same time`;
    }
    if (pfm !== undefined && pfm !== '' && pfm !== 'all' && pfm !== 'digest-only' && pfm !== 'tag-only') {
      return `${at}: unsupported pull-from-mirror value ${JSON.stringify(pfm)} for mirror ${JSON.stringify(loc)}`;
    }
    mirrors.push({ location: loc, insecure: m.insecure === true, pullFromMirror: pfm === 'digest-only' || pfm === 'tag-only' ? pfm : 'all' });
  }
  return { prefix, location, insecure: t.insecure === true, blocked: t.blocked === true, mirrorByDigestOnly, mirrors };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** parseLocation: trailing "/" trimmed; URI schemes refused (undefined). */
function trimLocation(v: string): string | undefined {
  const trimmed = v.replace(/\/+$/, '');
  return /^https?:\/\//.test(trimmed) ? undefined : trimmed;
}

/** refMatchingPrefix: the length of the match, or -1. */
export function refMatchingPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const index = ref.indexOf(prefix.slice(1));
    if (index < 0 || ref.slice(0, index).includes('/')) return -1;
    const end = index + prefix.length - 1;
    return end === ref.length || ':/@'.includes(ref.charAt(end)) ? end : -1;
  }
  if (ref.length < prefix.length) return -1;
  if (ref.length === prefix.length) return ref === prefix ? prefix.length : -1;
  if (!ref.startsWith(prefix)) return -1;
  return ':/@'.includes(ref.charAt(prefix.length)) ? prefix.length : -1;
}

/** FindRegistry: the longest matching prefix; the first in sort order among equally long ones. */
export function findRegistry(registries: readonly ConfRegistry[], name: string): ConfRegistry | undefined {
  let found: ConfRegistry | undefined;
  for (const r of registries) {
    if (refMatchingPrefix(name, r.prefix) >= 0 && r.prefix.length > (found?.prefix.length ?? 0)) found = r;
  }
  return found;
}

interface PullSource {
  role: 'mirror' | 'source';
  endpoint: ConfEndpoint;
  applies: boolean;
  skipped?: string;
}

/** PullSourcesFromReference, keeping the mirrors it leaves out (and why) for the explanation. */
function pullSources(r: ConfRegistry, digest: boolean): PullSource[] {
  const out: PullSource[] = r.mirrors.map((m) => {
    if (r.mirrorByDigestOnly && !digest)
      return { role: 'mirror', endpoint: m, applies: false, skipped: 'mirror-by-digest-only = true on the registry, and this is a pull by tag' };
    if (!r.mirrorByDigestOnly && m.pullFromMirror === 'digest-only' && !digest)
      return { role: 'mirror', endpoint: m, applies: false, skipped: 'pull-from-mirror = "digest-only", and this is a pull by tag' };
    if (!r.mirrorByDigestOnly && m.pullFromMirror === 'tag-only' && digest)
      return { role: 'mirror', endpoint: m, applies: false, skipped: 'pull-from-mirror = "tag-only", and this is a pull by digest' };
    return { role: 'mirror', endpoint: m, applies: true };
  });
  out.push({ role: 'source', endpoint: { location: r.location, insecure: r.insecure, pullFromMirror: 'all' }, applies: true });
  return out;
}

/** rewriteReference: the location replaces the matched prefix; a wildcard entry keeps the reference. */
function rewrite(pulled: string, prefix: string, location: string): string {
  if (location === '') return pulled;
  return location + pulled.slice(refMatchingPrefix(pulled, prefix));
}

export interface ContainersImageInput {
  ref: ImageRef;
  files: NodeFiles;
  /** For attribution; absent when the files were read from a published output. */
  inputs?: MergeInputs | undefined;
}

export function explainContainersImage(input: ContainersImageInput): ContainersImageExplanation {
  const { ref, files } = input;
  const out: ContainersImageExplanation = {
    runtime: 'containers-image',
    consumers: 'CRI-O, podman, skopeo, buildah',
    files: [],
    endpoints: [],
    requests: [],
    sourceContacted: 'first',
    pull: { status: 'ok' },
    warnings: [],
    notes: ['Only the image-mirror drop-in is read: other registries.conf files on the node can add longer prefixes, which would win.'],
  };
  const text = files.get(REGISTRIES_CONF);
  let registries: ConfRegistry[] = [];
  if (text && 'unreadable' in text) {
    out.pull = { status: 'unknown', why: `${REGISTRIES_CONF} cannot be read: ${text.unreadable}` };
    return out;
  }
  if (text) {
    out.files.push(REGISTRIES_CONF);
    const read = readRegistriesConf(text.content);
    if (!read.ok) {
      out.pull = { status: 'fails', why: `containers/image refuses ${REGISTRIES_CONF}, so every pull fails: ${read.error}` };
      return out;
    }
    registries = read.registries;
  }
  const reg = findRegistry(registries, ref.name);
  const sources: PullSource[] = reg
    ? pullSources(reg, ref.kind === 'digest')
    : [{ role: 'source', endpoint: { location: ref.name, insecure: false, pullFromMirror: 'all' }, applies: true }];
  if (reg) {
    out.match = {
      prefix: reg.prefix,
      blocked: reg.blocked,
      insecure: reg.insecure,
      mirrorByDigestOnly: reg.mirrorByDigestOnly,
      contributors: input.inputs ? ruleContributors(input.inputs, reg.prefix) : [],
    };
    if (reg.location !== '') out.match.location = reg.location;
  }
  for (const s of sources) {
    const endpoint = endpointOf(s, reg, registries, input);
    if (typeof endpoint === 'string') {
      out.pull = { status: 'fails', why: endpoint };
      return out;
    }
    out.endpoints.push(endpoint);
  }
  const tried = out.endpoints.filter((e) => e.applies && !e.blockedBy);
  out.requests = tried.flatMap((e) => e.requests.filter((r) => r.path.includes('/manifests/')));
  const source = out.endpoints.find((e) => e.role === 'source')!;
  out.sourceContacted = !source.applies || source.blockedBy ? 'never' : tried[0] === source ? 'first' : 'after-mirrors';
  if (tried.length === 0) out.pull = { status: 'fails', why: noEndpointWhy(out.endpoints, ref) };
  out.files.push(
    ...new Set(
      out.endpoints.flatMap((e) => [...e.tls.caFiles, ...e.tls.clientCertificates.map((c) => c.cert), ...(e.credentials ? [e.credentials.file] : [])]),
    ),
  );
  return out;
}

function endpointOf(
  s: PullSource,
  reg: ConfRegistry | undefined,
  registries: readonly ConfRegistry[],
  input: ContainersImageInput,
): ContainersImageEndpoint | string {
  const { ref, files, inputs } = input;
  const rewritten = reg ? rewrite(ref.pulled, reg.prefix, s.endpoint.location) : ref.pulled;
  const parsed = parseImageRef(rewritten);
  if (!parsed.ok || parsed.ref.pulled !== rewritten) {
    return `containers/image cannot use ${s.role === 'mirror' ? `mirror ${s.endpoint.location}` : 'the location'}: the rewritten reference ${JSON.stringify(rewritten)} does not parse as a canonical reference, and the pull fails`;
  }
  const physical = parsed.ref;
  const blocking = findRegistry(registries, physical.name);
  const e: ContainersImageEndpoint = {
    role: s.role,
    location: s.endpoint.location || physical.domain,
    reference: physical.pulled,
    applies: s.applies,
    isSource: physical.domain === ref.domain && physical.path === ref.path,
    tls: tlsFor(physical.domain, s.endpoint.insecure, files),
    requests: requestsFor(physical, s.endpoint.insecure),
    contributors: [],
  };
  if (s.role === 'mirror') e.pullFromMirror = reg?.mirrorByDigestOnly ? 'digest-only' : s.endpoint.pullFromMirror;
  if (s.skipped) e.skipped = s.skipped;
  if (blocking?.blocked) e.blockedBy = blocking.prefix;
  const credentials = credentialsFor(physical, files);
  if (credentials) e.credentials = credentials;
  if (inputs && reg) e.contributors = contributorsOf(e, s, reg, inputs, physical.domain);
  return e;
}

function contributorsOf(e: ContainersImageEndpoint, s: PullSource, reg: ConfRegistry, inputs: MergeInputs, domain: string) {
  const pools =
    s.endpoint.pullFromMirror === 'digest-only' || reg.mirrorByDigestOnly
      ? (['digest'] as const)
      : s.endpoint.pullFromMirror === 'tag-only'
        ? (['tag'] as const)
        : (['digest', 'tag'] as const);
  const list = s.role === 'mirror' ? mirrorContributors(inputs, reg.prefix, s.endpoint.location, pools) : [];
  if (e.blockedBy) list.push(...blockContributors(inputs, e.blockedBy));
  if (s.endpoint.insecure) list.push(...insecureContributors(inputs, s.endpoint.location || domain));
  list.push(...accessContributors(inputs, domain));
  return list;
}

/** GET /v2/ (the ping that finds the scheme and the auth challenge), then the manifest. */
function requestsFor(physical: ImageRef, insecure: boolean): PredictedRequest[] {
  const host = serverHost(physical.domain);
  const scheme = 'https';
  const object = physical.digest ?? physical.tag!;
  const manifest = `/v2/${physical.path}/manifests/${object}`;
  const req = (path: string): PredictedRequest => ({ method: 'GET', url: `${scheme}://${host}${path}`, host, path, query: '' });
  void insecure; // the scheme is found by the ping; TlsView says whether HTTP is allowed
  return [req('/v2/'), req(manifest)];
}

/** containers-certs.d(5): `*.crt` are CAs, `*.cert` + `*.key` client certificates, per `host[:port]` directory. */
function tlsFor(domain: string, insecure: boolean, files: NodeFiles): TlsView {
  const dir = `${CONTAINERS_CERTS}/${domain}`;
  const names = files.list(dir);
  const tls: TlsView = {
    scheme: 'https',
    verify: !insecure,
    httpFallback: insecure,
    caFiles: names.filter((n) => n.endsWith('.crt')).map((n) => `${dir}/${n}`),
    clientCertificates: [],
  };
  for (const n of names.filter((x) => x.endsWith('.cert'))) {
    const key = `${n.slice(0, -5)}.key`;
    tls.clientCertificates.push(names.includes(key) ? { cert: `${dir}/${n}`, key: `${dir}/${key}` } : { cert: `${dir}/${n}` });
  }
  return tls;
}

/** containers-auth.json(5): the most specific key for the repository, then its host. Never the value. */
function credentialsFor(physical: ImageRef, files: NodeFiles): CredentialsView | undefined {
  const f = files.get(AUTH_JSON);
  if (!f) return undefined;
  const note = 'used only when the runtime reads this file: CRI-O global_auth_file, podman/skopeo --authfile';
  if ('unreadable' in f) return { file: AUTH_JSON, entry: '(cannot be read here)', note: `${note}; ${f.unreadable}` };
  let auths: Record<string, unknown> = {};
  try {
    const doc = JSON.parse(f.content) as { auths?: Record<string, unknown> };
    auths = doc.auths ?? {};
  } catch {
    return { file: AUTH_JSON, entry: '(not valid JSON: ignored)' };
  }
  const parts = physical.name.split('/');
  for (let n = parts.length; n >= 1; n--) {
    const key = parts.slice(0, n).join('/');
    if (Object.hasOwn(auths, key)) return { file: AUTH_JSON, entry: key, note };
  }
  return undefined;
}

function noEndpointWhy(endpoints: readonly ContainersImageEndpoint[], ref: ImageRef): string {
  const reasons = endpoints.map((e) => `${e.role} ${e.location}: ${e.blockedBy ? `blocked (prefix ${e.blockedBy})` : (e.skipped ?? 'not tried')}`);
  return `no endpoint can serve ${ref.pulled}: ${reasons.join('; ')}`;
}
