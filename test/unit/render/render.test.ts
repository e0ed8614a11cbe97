import { expect } from 'chai';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import { hostPort, isWildcard } from '../../../src/merge/scope.js';
import { merge } from '../../../src/merge/index.js';
import type { HostAccess, MergeInputs, MirrorEntry, MirrorModel, MirrorSourcePolicy, Pool } from '../../../src/model/types.js';
import { InternalError, render, renderModelSummary } from '../../../src/render/index.js';
import { hostDir } from '../../../src/render/paths.js';
import type { RenderOutput } from '../../../src/render/types.js';
import { access, digest, entry, inputs, origin, scope, tag } from '../merge/build.js';

function model(i: MergeInputs): MirrorModel {
  const r = merge(i);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

// Small alphabets, so that generated inputs collide, nest and share mirrors.
const HOSTS = ['a.io', 'b.io', 'x.a.io', 'docker.io', 'localhost:5000'];
const PATHS = ['', '/ns', '/ns/app', '/other'];
const SOURCES = [...HOSTS.flatMap((h) => PATHS.map((p) => h + p)), '*.a.io', '*.io'];
const MIRRORS = ['m.io', 'n.io:5000', 'a.io'].flatMap((h) => ['', '/c', '/c/ns', '/ns', '/ns/app'].map((p) => h + p));

const arbInputs: fc.Arbitrary<MergeInputs> = fc
  .record({
    raw: fc.array(
      fc.record({
        pool: fc.constantFrom<Pool>('digest', 'tag'),
        source: fc.constantFrom(...SOURCES),
        mirrors: fc.uniqueArray(fc.constantFrom(...MIRRORS, ...SOURCES.filter((s) => !isWildcard(s))), { maxLength: 4 }),
      }),
      { maxLength: 12 },
    ),
    // One policy per source keeps the inputs valid (PolicyConflict is tested elsewhere).
    never: fc.subarray(SOURCES),
    insecure: fc.subarray([...SOURCES, 'm.io', 'n.io:5000/c'], { maxLength: 3 }),
    blocked: fc.subarray(SOURCES, { maxLength: 3 }),
    access: fc.subarray(['m.io', 'n.io:5000', 'a.io', 'reg.corp:5000'], { maxLength: 3 }),
    flags: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    dm: fc.option(fc.record({ mirror: fc.constantFrom('cache.corp', 'cache.corp/all'), registries: fc.subarray(['docker.io', 'a.io', 'b.io/ns']) })),
  })
  .map(({ raw, never, insecure, blocked, access: hosts, flags, dm }) => {
    const neverSet = new Set(never);
    const entries: MirrorEntry[] = raw.map((r, i) => {
      const policy: MirrorSourcePolicy | undefined = neverSet.has(r.source) ? 'NeverContactSource' : undefined;
      // A NeverContactSource entry may not list its own source (validated upstream).
      const mirrors = policy ? r.mirrors.filter((m) => m !== r.source) : r.mirrors;
      return entry(r.pool, r.source, mirrors, { index: i, ...(policy ? { policy } : {}) });
    });
    const accessList: HostAccess[] = hosts.map((h, i) =>
      access(h, {
        ...(flags[i] ? { caPEM: `CA for ${h}` } : {}),
        ...(flags[i + 3] ? { auth: { username: 'u', password: `secret-${i}` } } : {}),
        ...(flags[i + 6] ? { clientCert: { certPEM: 'C', keyPEM: `KEY-${i}` } } : {}),
        ...(flags[i + 9] ? { plainHTTP: true } : {}),
      }),
    );
    return inputs({
      entries,
      insecure: insecure.map((s) => scope(s)),
      blocked: blocked.map((s) => scope(s)),
      access: accessList,
      ...(dm ? { defaultMirror: { ...dm, origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' } } : {}),
    });
  });

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function shuffled(i: MergeInputs, seed: number): MergeInputs {
  return {
    ...i,
    entries: shuffle(i.entries, seed),
    insecure: shuffle(i.insecure, seed + 1),
    blocked: shuffle(i.blocked, seed + 2),
    access: shuffle(i.access, seed + 3),
    contributors: shuffle(i.contributors, seed + 4),
  };
}

function registriesConfPrefixes(out: RenderOutput): Set<string> {
  const rc = out.files.find((f) => f.key === 'registries.conf')!;
  const doc = parse(rc.content) as { registry?: Array<{ prefix: string }> };
  return new Set((doc.registry ?? []).map((r) => r.prefix));
}

describe('render (all outputs of a target)', () => {
  it('any valid input renders files that parse back and keep every source', () => {
    fc.assert(
      fc.property(arbInputs, (i) => {
        const out = render(model(i));
        const keys = out.files.map((f) => f.key);
        expect(keys).to.deep.equal([...keys].sort());
        for (const f of out.files) if (f.key.endsWith('.toml') || f.key === 'registries.conf') parse(f.content);
        const prefixes = registriesConfPrefixes(out);
        for (const e of i.entries.filter((x) => x.mirrors.some((m) => m !== x.source))) {
          expect(prefixes.has(e.source), `registries.conf prefix ${e.source}`).to.equal(true);
          if (isWildcard(e.source)) continue;
          const dir = out.files.some((f) => f.key === `containerd.${hostDir(hostPort(e.source))}.hosts.toml`);
          const reported = out.warnings.some((w) => w.code === 'NotExpressible' && w.source === e.source);
          expect(dir || reported, `containerd dir or NotExpressible warning for ${e.source}`).to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps secrets out of non-secret files, and makes secret files 0600', () => {
    fc.assert(
      fc.property(arbInputs, (i) => {
        const out = render(model(i));
        const secrets = i.access.flatMap((a) => [
          ...(a.auth ? [a.auth.password, Buffer.from(`${a.auth.username}:${a.auth.password}`).toString('base64')] : []),
          ...(a.clientCert ? [a.clientCert.keyPEM] : []),
        ]);
        for (const f of out.files) {
          expect(f.mode, f.key).to.equal(f.secret ? 0o600 : 0o644);
          if (f.secret) continue;
          for (const s of secrets) expect(f.content, f.key).to.not.include(s);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is byte-identical for any order of the inputs', () => {
    fc.assert(
      fc.property(arbInputs, fc.integer({ min: 1, max: 1_000_000 }), (i, seed) => {
        const a = render(model(i));
        const b = render(model(shuffled(i, seed)));
        expect(b).to.deep.equal(a);
      }),
      { numRuns: 200 },
    );
  });

  it('puts files at the contract paths with the contract keys', () => {
    const out = render(
      model(
        inputs({
          entries: [digest('localhost:5000/ns', ['m.corp/ns']), tag('quay.io', ['m.corp/q'])],
          access: [access('m.corp', { caPEM: 'CA', auth: { username: 'u', password: 'p' } })],
        }),
      ),
    );
    expect(out.files.map((f) => [f.key, f.path, f.secret])).to.deep.equal([
      ['containerd.localhost_5000_.hosts.toml', '/etc/containerd/certs.d/localhost_5000_/hosts.toml', true],
      ['containerd.localhost_5000_.m.corp.crt', '/etc/containerd/certs.d/localhost_5000_/m.corp.crt', false],
      ['containerd.m.corp.hosts.toml', '/etc/containerd/certs.d/m.corp/hosts.toml', true],
      ['containerd.m.corp.m.corp.crt', '/etc/containerd/certs.d/m.corp/m.corp.crt', false],
      ['containerd.quay.io.hosts.toml', '/etc/containerd/certs.d/quay.io/hosts.toml', true],
      ['containerd.quay.io.m.corp.crt', '/etc/containerd/certs.d/quay.io/m.corp.crt', false],
      ['containers.auth.json', '/etc/containers/auth.json', true],
      ['containers.m.corp.ca.crt', '/etc/containers/certs.d/m.corp/ca.crt', false],
      ['registries.conf', '/etc/containers/registries.conf.d/99-image-mirrors.conf', false],
    ]);
    const auth = JSON.parse(out.files.find((f) => f.key === 'containers.auth.json')!.content) as unknown;
    expect(auth).to.deep.equal({ auths: { 'm.corp': { auth: Buffer.from('u:p').toString('base64') } } });
  });

  it('writes containers certs.d files under host:port, with client key secret', () => {
    const out = render(model(inputs({ access: [access('reg.corp:5000', { caPEM: 'CA', clientCert: { certPEM: 'C', keyPEM: 'K' } })] })));
    const containers = out.files.filter((f) => f.key.startsWith('containers.')).map((f) => [f.key, f.path, f.mode]);
    expect(containers).to.deep.equal([
      ['containers.reg.corp_5000_.ca.crt', '/etc/containers/certs.d/reg.corp:5000/ca.crt', 0o644],
      ['containers.reg.corp_5000_.client.cert', '/etc/containers/certs.d/reg.corp:5000/client.cert', 0o644],
      ['containers.reg.corp_5000_.client.key', '/etc/containers/certs.d/reg.corp:5000/client.key', 0o600],
    ]);
  });

  it('keeps keys unique when two paths would map to the same key', () => {
    // Directory "x" with mirror host "y.z", and directory "x.y" with mirror host "z".
    const out = render(
      model(
        inputs({
          entries: [digest('x', ['y.z/a']), digest('x.y', ['z/a'])],
          access: [access('y.z', { caPEM: 'A' }), access('z', { caPEM: 'B' })],
        }),
      ),
    );
    const keys = out.files.map((f) => f.key);
    expect(new Set(keys).size).to.equal(keys.length);
    const crts = out.files
      .filter((f) => f.key.startsWith('containerd.x.y.z.crt'))
      .map((f) => f.path)
      .sort();
    expect(crts).to.deep.equal(['/etc/containerd/certs.d/x.y/z.crt', '/etc/containerd/certs.d/x/y.z.crt']);
  });

  it('refuses a host that would build a path outside its directory (internal error, not a file)', () => {
    const bad: MirrorModel = {
      rules: [{ source: '../../etc/x', digestMirrors: ['m.io'], tagMirrors: [], neverContactSource: false, blocked: false, insecure: false }],
      insecureScopes: [],
      access: [],
      contributors: [],
    };
    expect(() => render(bad)).to.throw(InternalError, /unsafe registry host/);
    const badAccess: MirrorModel = { rules: [], insecureScopes: [], contributors: [], access: [access('a/../../b', { caPEM: 'x' })] };
    expect(() => render(badAccess)).to.throw(InternalError, /unsafe registry host/);
  });

  it('summarises a model one line per rule', () => {
    const m = model(inputs({ entries: [digest('q.io', ['d.io'], { policy: 'NeverContactSource' }), tag('q.io', ['t.io'], { policy: 'NeverContactSource' })] }));
    expect(renderModelSummary(m)).to.equal('q.io  digest: d.io  tag: t.io  [never-contact-source]\n');
  });
});
