// The mirrors a node uses, read from the files installed on it, each with
// exactly the settings its runtime applies: containerd's hosts.toml host
// tables (scheme, API root, skip_verify, ca, client, authorization header)
// and containers/image's [[registry.mirror]] locations (insecure, the
// certs.d directory of the mirror host, the auth.json entry). Files are
// read with explain's readers, so probes and predictions agree on what the
// files say. Identical settings for one mirror from both runtimes make one
// probe. Pure: node files in, probe targets out (secrets stay in memory).
import { createHash } from 'node:crypto';
import { hostPort } from '../../merge/scope.js';
import { CONTAINERD_CERTS, explainContainerd, readHostsToml } from '../../explain/containerd.js';
import { AUTH_JSON, CONTAINERS_CERTS, explainContainersImage, findRegistry, readRegistriesConf, REGISTRIES_CONF } from '../../explain/containers-image.js';
import type { NodeFiles } from '../../explain/node-files.js';
import { serverHost, type ImageRef } from '../../explain/reference.js';
import type { PredictedRequest, Runtime } from '../../explain/types.js';

export interface ProbeTarget {
  /** Stable key: endpoint and a digest of its settings. */
  id: string;
  /** `host[:port]`: the metric label and what messages name. */
  mirror: string;
  runtimes: Runtime[];
  /** Registries (containerd host directories, registries.conf prefixes) this endpoint mirrors. */
  mirrorOf: string[];
  /** First scheme tried; `httpFallback` retries plain HTTP after a TLS failure. */
  scheme: 'https' | 'http';
  httpFallback: boolean;
  /** Verify the server certificate (ignored for plain HTTP). */
  verify: boolean;
  host: string;
  /** Absent: 443 for HTTPS, 80 for HTTP (a fallback to HTTP changes the port too). */
  port?: number;
  /** The API root answered by GET: `/v2/` for registries, the override_path root otherwise. */
  pingPath: string;
  /** Extra CAs (PEM), added to the system ones, as both runtimes do. */
  caPEM?: string;
  clientCert?: { certPEM: string; keyPEM: string };
  /** `Basic ...`: sent on the first request (containerd header) or after a challenge (auth.json). Secret. */
  authorization?: string;
  /** `header` (containerd sends it always) or `auth.json` (containers/image answers challenges with it). */
  authFrom?: 'header' | 'auth.json';
  /** Manifest requests of the probe image on this endpoint, from explain's prediction. */
  imageRequests: PredictedRequest[];
}

export interface TargetsRead {
  targets: ProbeTarget[];
  /** Files that could not be read as their runtime reads them. */
  problems: string[];
}

/** Every mirror endpoint in the installed files; sources (the registries themselves) are not probed. */
export function probeTargets(files: NodeFiles, paths: readonly string[], probeImage?: ImageRef): TargetsRead {
  const problems: string[] = [];
  const all = [...containerdTargets(files, paths, problems), ...containersImageTargets(files, problems)];
  const byId = new Map<string, ProbeTarget>();
  for (const t of all) {
    const seen = byId.get(t.id);
    if (!seen) byId.set(t.id, t);
    else {
      for (const r of t.runtimes) if (!seen.runtimes.includes(r)) seen.runtimes.push(r);
      for (const m of t.mirrorOf) if (!seen.mirrorOf.includes(m)) seen.mirrorOf.push(m);
    }
  }
  const targets = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const t of targets) {
    t.runtimes.sort();
    t.mirrorOf.sort();
  }
  if (probeImage) attachImage(targets, files, probeImage);
  return { targets, problems };
}

type Draft = Omit<ProbeTarget, 'id' | 'imageRequests'>;

function finish(d: Draft): ProbeTarget {
  const settings = JSON.stringify([
    d.scheme,
    d.httpFallback,
    d.verify,
    d.host,
    d.port ?? 0,
    d.pingPath,
    d.caPEM ?? '',
    d.clientCert ?? '',
    d.authorization ?? '',
    d.authFrom ?? '',
  ]);
  const digest = createHash('sha256').update(settings).digest('hex').slice(0, 12);
  return { ...d, id: `${d.scheme}://${d.mirror}${d.pingPath}#${digest}`, imageRequests: [] };
}

/** `host_port_` -> `host:port`; `_default` configures no registry of its own. */
function dirRegistry(dir: string): string | undefined {
  if (dir === '_default') return undefined;
  const m = /^(.*)_([0-9]+)_$/.exec(dir);
  return m ? `${m[1]}:${m[2]}` : dir;
}

function containerdTargets(files: NodeFiles, paths: readonly string[], problems: string[]): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  const hostsFiles = paths.filter((p) => p.startsWith(`${CONTAINERD_CERTS}/`) && p.endsWith('/hosts.toml') && p.split('/').length === 6);
  for (const path of hostsFiles) {
    const dir = path.slice(0, -'/hosts.toml'.length);
    const dirName = dir.slice(CONTAINERD_CERTS.length + 1);
    const registry = dirRegistry(dirName);
    const text = files.text(path);
    if (text === undefined) continue;
    const read = readHostsToml(text, dir);
    if (!read.ok) {
      problems.push(`${path}: containerd ignores it (${read.error})`);
      continue;
    }
    for (const h of read.hosts) {
      if (h.host === '' || (registry !== undefined && h.host === serverHost(registry))) continue; // the registry itself
      const explicitTls = h.skipVerify !== undefined || h.caFiles.length > 0 || h.clientPairs.length > 0;
      const [name, port] = splitHostPort(h.host);
      const d: Draft = {
        mirror: h.host,
        runtimes: ['containerd'],
        mirrorOf: [registry ?? '*'],
        scheme: h.scheme === 'http' && !explicitTls ? 'http' : 'https',
        httpFallback: h.scheme === 'http' && explicitTls,
        verify: h.skipVerify !== true,
        host: name,
        pingPath: h.path.startsWith('/v2') ? '/v2/' : `${h.path.replace(/\/+$/, '')}/`,
      };
      if (port !== undefined) d.port = port;
      const ca = h.caFiles.map((f) => files.text(f)).filter((x): x is string => x !== undefined);
      if (ca.length > 0) d.caPEM = ca.join('\n');
      const pair = h.clientPairs[0];
      const cert = pair ? files.text(pair.cert) : undefined;
      const key = pair ? files.text(pair.key ?? pair.cert) : undefined;
      if (cert && key) d.clientCert = { certPEM: cert, keyPEM: key };
      const authName = h.headerNames.find((n) => n.toLowerCase() === 'authorization');
      const authValue = authName ? h.headers[authName] : undefined;
      if (authValue) {
        d.authorization = authValue;
        d.authFrom = 'header';
      }
      out.push(finish(d));
    }
  }
  return out;
}

function containersImageTargets(files: NodeFiles, problems: string[]): ProbeTarget[] {
  const text = files.text(REGISTRIES_CONF);
  if (text === undefined) return [];
  const read = readRegistriesConf(text);
  if (!read.ok) {
    problems.push(`${REGISTRIES_CONF}: containers/image refuses it (${read.error})`);
    return [];
  }
  const auths = authEntries(files);
  const out: ProbeTarget[] = [];
  for (const r of read.registries) {
    for (const m of r.mirrors) {
      // An endpoint inside a blocked prefix is refused by containers/image: the node does not use it.
      if (findRegistry(read.registries, m.location)?.blocked) continue;
      const domain = hostPort(m.location);
      const [name, port] = splitHostPort(serverHost(domain));
      const d: Draft = {
        mirror: domain,
        runtimes: ['containers-image'],
        mirrorOf: [r.prefix],
        scheme: 'https',
        httpFallback: m.insecure,
        verify: !m.insecure,
        host: name,
        pingPath: '/v2/',
      };
      if (port !== undefined) d.port = port;
      const dir = `${CONTAINERS_CERTS}/${domain}`;
      const names = files.list(dir);
      const ca = names
        .filter((n) => n.endsWith('.crt'))
        .map((n) => files.text(`${dir}/${n}`))
        .filter((x): x is string => x !== undefined);
      if (ca.length > 0) d.caPEM = ca.join('\n');
      const certName = names.find((n) => n.endsWith('.cert'));
      const cert = certName ? files.text(`${dir}/${certName}`) : undefined;
      const key = certName ? files.text(`${dir}/${certName.slice(0, -5)}.key`) : undefined;
      if (cert && key) d.clientCert = { certPEM: cert, keyPEM: key };
      const auth = auths.get(domain);
      if (auth) {
        d.authorization = `Basic ${auth}`;
        d.authFrom = 'auth.json';
      }
      out.push(finish(d));
    }
  }
  return out;
}

/** auth.json `auths` by host: `auth` (base64 user:password) or username/password. */
function authEntries(files: NodeFiles): Map<string, string> {
  const out = new Map<string, string>();
  const text = files.text(AUTH_JSON);
  if (text === undefined) return out;
  try {
    const auths = (JSON.parse(text) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> }).auths ?? {};
    for (const [host, e] of Object.entries(auths)) {
      if (typeof e.auth === 'string' && e.auth !== '') out.set(host, e.auth);
      else if (typeof e.username === 'string' && typeof e.password === 'string') out.set(host, Buffer.from(`${e.username}:${e.password}`).toString('base64'));
    }
  } catch {
    // containers/image ignores an auth.json it cannot parse; so does the probe
  }
  return out;
}

function splitHostPort(hp: string): [string, number | undefined] {
  const m = /^(.*):([0-9]+)$/.exec(hp);
  const unbracket = (h: string): string => h.replace(/^\[(.*)\]$/, '$1');
  return m?.[1] !== undefined && m[2] !== undefined ? [unbracket(m[1]), Number(m[2])] : [unbracket(hp), undefined];
}

/**
 * The probe image's manifest requests on each target, as explain predicts
 * them for each runtime: the path rules (prefix replacement, override_path,
 * ?ns=) are the ones the runtime applies.
 */
function attachImage(targets: ProbeTarget[], files: NodeFiles, ref: ImageRef): void {
  for (const p of [explainContainerd({ ref, files }), explainContainersImage({ ref, files })]) {
    for (const e of p.endpoints) {
      if (!e.applies || e.isSource || (e as { blockedBy?: string }).blockedBy) continue;
      const manifest = e.requests.find((q) => q.path.includes('/manifests/'));
      if (!manifest) continue;
      const t = targets.find((x) => x.runtimes.includes(p.runtime) && serverHost(x.mirror) === manifest.host);
      if (t && !t.imageRequests.some((q) => q.url === manifest.url)) t.imageRequests.push(manifest);
    }
  }
}
