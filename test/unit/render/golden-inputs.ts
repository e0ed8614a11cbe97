// Seeded inputs for the golden test of merge + render (golden.test.ts): the
// benchmark's shape at 2,000 sources, SPEC §7's shape, and many small random
// inputs and hand-made models that reach the rare paths (policy conflicts,
// wildcards, insecure and blocked scopes, access settings, a default
// mirror, values that need escaping or are not ASCII, rules out of order).
import type { HostAccess, MergeInputs, MirrorEntry, MirrorModel, Origin, Pool, RegistryRule, ScopeEntry } from '../../../src/model/types.js';

/** A small linear congruential generator: the same numbers on every platform. */
export class Seeded {
  constructor(private seed: number) {}

  next(): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed / 0x80000000;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

const HOSTS = ['quay.io', 'docker.io', 'a.example.com', 'b.example.com', 'reg:5000', 'x.y.z', 'q.io', 'localhost:5000', 'r.example.com'];
const PATHS = ['', '/ns', '/ns/app', '/ns/app/sub', '/other', '/ns/x', '/team/a'];
const MIRROR_HOSTS = ['m1.corp', 'm2.corp', 'm3.corp:8443', 'mirror.example.com', 'docker.io', 'quay.io', 'http.local', 'reg:5000'];
const MIRROR_PREFIXES = ['', '/pfx', '/a/b'];
/** Mirror paths that need escaping in TOML, or are not ASCII, or not valid Unicode (the renderer then throws). */
const ODD_PATHS = ['/x"y', '/caf\u00e9', '/\u{1F600}', '/tab\there', '/back\\slash', '/del\u007f', '/\u4e2d', '/lone\ud800'];

function source(r: Seeded): string {
  if (r.next() < 0.08) return r.pick(['*.example.com', '*.corp', '*.y.z']);
  return r.pick(HOSTS) + r.pick(PATHS);
}

function mirrorFor(r: Seeded, src: string): string {
  const x = r.next();
  const slash = src.indexOf('/');
  const path = src.startsWith('*.') ? r.pick(['', '/w']) : slash < 0 ? '' : src.slice(slash);
  if (x < 0.1) return src.startsWith('*.') ? 'm1.corp' : src;
  if (x < 0.2) return r.pick(MIRROR_HOSTS) + r.pick(['', '/weird']);
  if (x < 0.25) return r.pick(MIRROR_HOSTS) + path + r.pick(ODD_PATHS);
  return r.pick(MIRROR_HOSTS) + r.pick(MIRROR_PREFIXES) + path;
}

function origin(r: Seeded, kind: string, i: number): Origin {
  const o: Origin = { apiVersion: 'imagemirror.io/v1alpha1', kind, name: `obj-${i % 4}` };
  if (r.next() < 0.2) o.namespace = 'ns';
  return o;
}

/** Inputs as gather would produce them, without its validation: anything the merge and renderers must handle. */
export function randomInputs(r: Seeded): MergeInputs {
  const entries: MirrorEntry[] = [];
  const count = Math.floor(r.next() * 25);
  for (let k = 0; k < count; k++) {
    const pool: Pool = r.next() < 0.6 ? 'digest' : 'tag';
    const src = source(r);
    const mirrors = [...new Set(Array.from({ length: Math.floor(r.next() * 5) }, () => mirrorFor(r, src)))];
    const e: MirrorEntry = {
      pool,
      source: src,
      mirrors,
      origin: origin(r, pool === 'digest' ? 'ImageDigestMirrorSet' : 'ImageTagMirrorSet', k),
      field: `spec.x[${k}]`,
    };
    const p = r.next();
    if (p < 0.1) e.policy = 'NeverContactSource';
    else if (p < 0.15) e.policy = 'AllowContactingSource';
    entries.push(e);
  }
  const scopes = (): ScopeEntry[] =>
    Array.from({ length: Math.floor(r.next() * 3) }, () => ({
      scope: r.next() < 0.5 ? source(r) : r.pick(MIRROR_HOSTS),
      origin: origin(r, 'Image', 0),
      field: 'spec.registrySources',
    }));
  const access: HostAccess[] = [];
  for (const host of [...HOSTS, ...MIRROR_HOSTS]) {
    if (r.next() >= 0.06 || access.some((a) => a.host === host)) continue;
    const a: HostAccess = { host, origin: origin(r, 'RegistryAccess', 0), field: 'spec.hosts[0]' };
    if (r.next() < 0.4) a.caPEM = '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----';
    if (r.next() < 0.3) a.auth = { username: 'u', password: `p${access.length}` };
    if (r.next() < 0.2) a.clientCert = { certPEM: 'CERT', keyPEM: 'KEY\n' };
    if (r.next() < 0.3) a.insecureSkipVerify = true;
    if (r.next() < 0.2) a.plainHTTP = true;
    access.push(a);
  }
  const inputs: MergeInputs = { entries, insecure: scopes(), blocked: scopes(), access, contributors: entries.map((e) => e.origin) };
  if (r.next() < 0.15) {
    const registries = r.next() < 0.5 ? [] : [source(r), source(r)].filter((s) => !s.includes('/'));
    inputs.defaultMirror = {
      mirror: r.pick(['dm.corp', 'dm.corp/cache', 'm1.corp']),
      registries,
      origin: origin(r, 'RegistryAccess', 0),
      field: 'spec.defaultMirror',
    };
  }
  return inputs;
}

/** A model as a caller might build it by hand: rules reversed, repeated, with mirrors in another order. */
export function handMadeModel(r: Seeded, merged: MirrorModel): MirrorModel {
  const rules: RegistryRule[] = merged.rules.map((rule) => ({ ...rule }));
  if (rules.length > 1) {
    if (r.next() < 0.5) rules.reverse();
    if (r.next() < 0.5) rules.push({ ...rules[0]!, digestMirrors: [...rules[0]!.digestMirrors].reverse() });
    if (r.next() < 0.3) {
      const k = Math.floor(r.next() * rules.length);
      rules.splice(k, 0, rules[k]!);
    }
  }
  for (const rule of rules) if (r.next() < 0.3) rule.tagMirrors = [...rule.tagMirrors].reverse();
  return { ...merged, rules };
}
