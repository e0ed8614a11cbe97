// RegistryAccess (SPEC §5) -> HostAccess[], with CA bundles, credentials
// and client certificates resolved from ConfigMaps and Secrets.
//
// Secret material only ever flows into HostAccess values: messages name the
// object, the key and what is wrong, never the content.
import { quote } from './patterns.js';
import { readCertificates, readPrivateKey } from './pem.js';
import type { KubeObject } from './source.js';
import type { DefaultMirror, HostAccess, Origin, Problem, Reason } from './types.js';
import { isRecord } from '../common/values.js';

/** Looks up a referenced ConfigMap or Secret (gather records every call). */
export type Lookup = (kind: 'ConfigMap' | 'Secret', namespace: string, name: string) => KubeObject | undefined;

export interface AccessRead {
  access: HostAccess[];
  defaultMirror?: DefaultMirror;
  problems: Problem[];
  /** ConfigMaps and Secrets whose content was used. */
  used: KubeObject[];
}

interface KeyRef {
  namespace: string;
  name: string;
  key: string;
}
interface ObjectRef {
  namespace: string;
  name: string;
}
interface HostSpec {
  host: string;
  ca?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef };
  credentialsSecretRef?: ObjectRef;
  clientCertificateSecretRef?: ObjectRef;
  insecureSkipVerify?: boolean;
  plainHTTP?: boolean;
}
interface AccessSpec {
  hosts?: HostSpec[];
  defaultMirror?: { mirror: string; registries?: string[] };
}

/** Reads a RegistryAccess that passed validation (validate.ts). */
export function readRegistryAccess(obj: KubeObject, origin: Origin, lookup: Lookup): AccessRead {
  const spec = (obj.spec ?? {}) as AccessSpec;
  const r = new Resolver(origin, lookup);
  const access = (spec.hosts ?? []).map((h, i) => r.host(h, `spec.hosts[${i}]`));
  const out: AccessRead = { access, problems: r.problems, used: [...r.used.values()] };
  if (spec.defaultMirror) {
    out.defaultMirror = {
      mirror: spec.defaultMirror.mirror,
      registries: [...(spec.defaultMirror.registries ?? [])],
      origin,
      field: 'spec.defaultMirror',
    };
  }
  return out;
}

/** Result of reading one key: its text, or why it could not be read. */
type Read = { ok: true; text: string } | { ok: false; reason: Reason; message: string };

class Resolver {
  readonly problems: Problem[] = [];
  readonly used = new Map<string, KubeObject>();

  constructor(
    private readonly origin: Origin,
    private readonly lookup: Lookup,
  ) {}

  host(h: HostSpec, field: string): HostAccess {
    const out: HostAccess = { host: h.host, origin: this.origin, field };
    if (h.insecureSkipVerify !== undefined) out.insecureSkipVerify = h.insecureSkipVerify;
    if (h.plainHTTP !== undefined) out.plainHTTP = h.plainHTTP;
    const ca = this.ca(h, `${field}.ca`);
    if (ca !== undefined) out.caPEM = ca;
    if (h.credentialsSecretRef) {
      const auth = this.credentials(h.credentialsSecretRef, h.host, `${field}.credentialsSecretRef`);
      if (auth) out.auth = auth;
    }
    if (h.clientCertificateSecretRef) {
      const cert = this.clientCert(h.clientCertificateSecretRef, `${field}.clientCertificateSecretRef`);
      if (cert) out.clientCert = cert;
    }
    return out;
  }

  private ca(h: HostSpec, field: string): string | undefined {
    const ref = h.ca?.configMapKeyRef ?? h.ca?.secretKeyRef;
    if (!ref) return undefined;
    const kind = h.ca?.configMapKeyRef ? 'ConfigMap' : 'Secret';
    const at = `${field}.${kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'}`;
    const text = this.key(kind, ref, ref.key, at);
    if (text === undefined) return undefined;
    // Only the parsed certificates go on: the CA lands in the ConfigMap, 0644 files and ignition.
    const certs = readCertificates(text, 'a CA bundle');
    if (!certs.ok) return this.fail('InvalidReference', at, `key ${quote(ref.key)} of ${id(kind, ref)} ${certs.why}`);
    return certs.value.pem;
  }

  private credentials(ref: ObjectRef, host: string, field: string): { username: string; password: string } | undefined {
    const secret = this.object('Secret', ref, field);
    if (!secret) return undefined;
    const type = secretType(secret);
    if (type === 'kubernetes.io/basic-auth') return this.basicAuth(ref, field);
    if (type === 'kubernetes.io/dockerconfigjson' || type === 'kubernetes.io/dockercfg') {
      return this.dockerAuth(ref, type, host, field);
    }
    return this.fail(
      'InvalidReference',
      field,
      `${id('Secret', ref)} has type ${type ?? '(none)'}; credentials need type kubernetes.io/dockerconfigjson or kubernetes.io/basic-auth`,
    );
  }

  private basicAuth(ref: ObjectRef, field: string): { username: string; password: string } | undefined {
    const username = this.key('Secret', ref, 'username', field);
    const password = this.key('Secret', ref, 'password', field);
    if (username === undefined || password === undefined) return undefined;
    return this.checkedAuth(username, password, ref, field);
  }

  private dockerAuth(ref: ObjectRef, type: string, host: string, field: string): { username: string; password: string } | undefined {
    const keyName = type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
    const text = this.key('Secret', ref, keyName, field);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.fail('InvalidReference', field, `key ${keyName} of ${id('Secret', ref)} is not valid JSON`);
    }
    const auths = keyName === '.dockercfg' ? parsed : isRecord(parsed) ? parsed.auths : undefined;
    const entry = isRecord(auths) ? findAuthEntry(auths, host) : undefined;
    if (!entry) return this.fail('InvalidReference', field, `${id('Secret', ref)} has no auths entry for host ${quote(host)}`);
    const pair = authPair(entry);
    if (!pair) {
      return this.fail(
        'InvalidReference',
        field,
        `the auths entry for ${quote(host)} in ${id('Secret', ref)} has neither a valid auth nor username and password`,
      );
    }
    return this.checkedAuth(pair.username, pair.password, ref, field);
  }

  private checkedAuth(username: string, password: string, ref: ObjectRef, field: string): { username: string; password: string } | undefined {
    // Basic authentication joins the two with ":" (RFC 7617), and the result lands in TOML and JSON files.
    if (username === '' || username.includes(':') || /[\x00-\x1f\x7f]/.test(username + password)) {
      return this.fail(
        'InvalidReference',
        field,
        `the credentials in ${id('Secret', ref)} are unusable: the username must be non-empty without ":", and neither may hold control characters`,
      );
    }
    return { username, password };
  }

  private clientCert(ref: ObjectRef, field: string): { certPEM: string; keyPEM: string } | undefined {
    const secret = this.object('Secret', ref, field);
    if (!secret) return undefined;
    const type = secretType(secret);
    if (type !== 'kubernetes.io/tls') {
      return this.fail('InvalidReference', field, `${id('Secret', ref)} has type ${type ?? '(none)'}; a client certificate needs type kubernetes.io/tls`);
    }
    const certPEM = this.key('Secret', ref, 'tls.crt', field);
    const keyPEM = this.key('Secret', ref, 'tls.key', field);
    if (certPEM === undefined || keyPEM === undefined) return undefined;
    // The certificate is public (ConfigMap, 0644 files); the key only ever goes to the Secret and 0600 files.
    const certs = readCertificates(certPEM, 'tls.crt');
    if (!certs.ok) return this.fail('InvalidReference', field, `key "tls.crt" of ${id('Secret', ref)} ${certs.why}`);
    const key = readPrivateKey(keyPEM, certs.value.pem);
    if (!key.ok) return this.fail('InvalidReference', field, `key "tls.key" of ${id('Secret', ref)} ${key.why}`);
    return { certPEM: certs.value.pem, keyPEM: key.value };
  }

  /** The text of one key, or undefined after recording why not. */
  private key(kind: 'ConfigMap' | 'Secret', ref: ObjectRef, key: string, field: string): string | undefined {
    const obj = this.object(kind, ref, field);
    if (!obj) return undefined;
    const read = readKey(obj, key);
    if (!read.ok) return this.fail(read.reason, field, read.message);
    return read.text;
  }

  private object(kind: 'ConfigMap' | 'Secret', ref: ObjectRef, field: string): KubeObject | undefined {
    const obj = this.lookup(kind, ref.namespace, ref.name);
    if (!obj) return this.fail('MissingReference', field, `${id(kind, ref)} not found`);
    this.used.set(`${kind}/${ref.namespace}/${ref.name}`, obj);
    return obj;
  }

  private fail(reason: Reason, field: string, message: string): undefined {
    const dup = this.problems.some((p) => p.field === field && p.message === message);
    if (!dup) this.problems.push({ reason, message, origin: this.origin, field });
    return undefined;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function id(kind: string, ref: ObjectRef): string {
  return `${kind} ${ref.namespace}/${ref.name}`;
}

/** The Secret's type; an untyped or Opaque Secret is typed by the keys it holds. */
function secretType(secret: KubeObject): string | undefined {
  const type = typeof secret.type === 'string' && secret.type !== '' ? secret.type : undefined;
  if (type && type !== 'Opaque') return type;
  const has = (k: string): boolean => readKey(secret, k).ok;
  if (has('.dockerconfigjson')) return 'kubernetes.io/dockerconfigjson';
  if (has('username')) return 'kubernetes.io/basic-auth';
  if (has('tls.crt')) return 'kubernetes.io/tls';
  return type;
}

/**
 * One key of a ConfigMap (`data`, else base64 `binaryData`) or Secret
 * (`stringData`, which the API server merges over `data`, else base64 `data`).
 */
export function readKey(obj: KubeObject, key: string): Read {
  const what = `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
  const plain = obj.kind === 'Secret' ? obj.stringData : obj.data;
  const encoded = obj.kind === 'Secret' ? obj.data : obj.binaryData;
  const p = isRecord(plain) && Object.hasOwn(plain, key) ? plain[key] : undefined;
  if (typeof p === 'string') return { ok: true, text: p };
  const e = isRecord(encoded) && Object.hasOwn(encoded, key) ? encoded[key] : undefined;
  if (e === undefined && p === undefined) return { ok: false, reason: 'InvalidReference', message: `${what} has no key ${quote(key)}` };
  const compact = typeof e === 'string' ? e.replace(/\s+/g, '') : undefined;
  if (compact === undefined || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    return { ok: false, reason: 'InvalidReference', message: `key ${quote(key)} of ${what} is not valid base64` };
  }
  return { ok: true, text: Buffer.from(compact, 'base64').toString('utf8') };
}

/** The auths entry for `host`: keys may be `host`, `https://host`, `host/v2/`... */
function findAuthEntry(auths: Record<string, unknown>, host: string): Record<string, unknown> | undefined {
  const want = canonicalHost(host);
  const keys = Object.keys(auths).sort();
  const match = keys.find((k) => canonicalHost(k.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '') === want);
  const entry = match === undefined ? undefined : auths[match];
  return isRecord(entry) ? entry : undefined;
}

/** Docker Hub's credentials are stored under index.docker.io. */
function canonicalHost(h: string): string {
  const lower = h.toLowerCase();
  return lower === 'index.docker.io' || lower === 'registry-1.docker.io' ? 'docker.io' : lower;
}

function authPair(entry: Record<string, unknown>): { username: string; password: string } | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    if (!BASE64.test(entry.auth) || entry.auth.length % 4 !== 0) return undefined;
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}
