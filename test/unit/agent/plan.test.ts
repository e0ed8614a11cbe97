import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { hasMarker, MARKER_LINE, JSON_MARKER_KEY } from '../../../src/agent/marker.js';
import { checkPath, computePlan, DEFAULT_ALLOWED_ROOTS, parseMode, type PlanInput, type PlanErrorReason } from '../../../src/agent/plan.js';
import type { FilesManifest } from '../../../src/render/types.js';

const HOSTS = 'server = "https://quay.io"\n\n[host."https://mirror.example:5000"]\n  capabilities = ["pull"]\n';
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const AUTH = '{"auths":{"mirror.example:5000":{"auth":"dTpw"}}}';

function manifest(): FilesManifest {
  return {
    'registries.conf': { path: '/etc/containers/registries.conf.d/99-image-mirrors.conf', mode: '0644', from: 'ConfigMap' },
    'containerd.quay.io.hosts.toml': { path: '/etc/containerd/certs.d/quay.io/hosts.toml', mode: '0644', from: 'ConfigMap' },
    'containerd.quay.io.mirror.example_5000_.crt': { path: '/etc/containerd/certs.d/quay.io/mirror.example_5000_.crt', mode: '0644', from: 'ConfigMap' },
    'containers.auth.json': { path: '/etc/containers/auth.json', mode: '0600', from: 'Secret' },
  };
}

function input(m: unknown = manifest(), over: Partial<PlanInput> = {}): PlanInput {
  return {
    configMapRef: 'ConfigMap image-mirror-system/cluster-image-mirrors',
    secretRef: 'Secret image-mirror-system/cluster-image-mirrors',
    configMapData: {
      'files.json': JSON.stringify(m),
      'registries.conf': '[[registry]]\nlocation = "quay.io"\n',
      'containerd.quay.io.hosts.toml': HOSTS,
      'containerd.quay.io.mirror.example_5000_.crt': CA,
    },
    secretData: { 'containers.auth.json': AUTH },
    allowedRoots: DEFAULT_ALLOWED_ROOTS,
    owned: [],
    ...over,
  };
}

function withEntry(key: string, entry: unknown): Record<string, unknown> {
  return { ...manifest(), [key]: entry };
}

describe('agent plan', () => {
  it('plans every listed file with its mode and marker, PEM before TOML', () => {
    const r = computePlan(input());
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.writes.map((w) => [w.path, w.mode.toString(8), w.format])).to.deep.equal([
      ['/etc/containerd/certs.d/quay.io/mirror.example_5000_.crt', '644', 'pem'],
      ['/etc/containerd/certs.d/quay.io/hosts.toml', '644', 'toml'],
      ['/etc/containers/auth.json', '600', 'json'],
      ['/etc/containers/registries.conf.d/99-image-mirrors.conf', '644', 'toml'],
    ]);
    const hosts = r.plan.writes.find((w) => w.key === 'containerd.quay.io.hosts.toml');
    expect(hosts?.content).to.equal(`${MARKER_LINE}\n${HOSTS}`);
    // The marker must keep the file valid TOML with the same meaning.
    expect(parseToml(hosts?.content ?? '')).to.deep.equal(parseToml(HOSTS));
    const auth = r.plan.writes.find((w) => w.format === 'json');
    const parsedAuth = JSON.parse(auth?.content ?? '{}') as Record<string, unknown>;
    expect(parsedAuth[JSON_MARKER_KEY]).to.equal('image-mirror-agent');
    expect(parsedAuth.auths).to.deep.equal(JSON.parse(AUTH).auths);
    expect(r.plan.writes.every((w) => hasMarker(w.format, w.content))).to.equal(true);
    expect(r.plan.removals).to.deep.equal([]);
  });

  it('removes owned files no longer listed, TOML before the PEM it references, never outside the roots', () => {
    const owned = [
      '/etc/containerd/certs.d/old.io/ca.crt',
      '/etc/containerd/certs.d/old.io/hosts.toml',
      '/etc/containerd/certs.d/quay.io/hosts.toml',
      '/etc/passwd',
    ];
    const r = computePlan(input(manifest(), { owned }));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.removals).to.deep.equal(['/etc/containerd/certs.d/old.io/hosts.toml', '/etc/containerd/certs.d/old.io/ca.crt']);
    expect(r.plan.ignoredOwned).to.deep.equal(['/etc/passwd']);
  });

  it('a missing ConfigMap means nothing is published: every owned file goes', () => {
    const r = computePlan(input(manifest(), { configMapData: undefined, secretData: undefined, owned: ['/etc/containers/auth.json'] }));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.writes).to.deep.equal([]);
    expect(r.plan.removals).to.deep.equal(['/etc/containers/auth.json']);
  });

  it('is deterministic: the same input gives the same plan', () => {
    expect(computePlan(input())).to.deep.equal(computePlan(input()));
  });

  const hostsPath = '/etc/containerd/certs.d/quay.io/hosts.toml';
  const rows: Array<{ why: string; in: () => PlanInput; reason: PlanErrorReason; says: RegExp }> = [
    {
      why: 'files.json missing',
      in: () => input(manifest(), { configMapData: { 'registries.conf': 'x = 1\n' } }),
      reason: 'ManifestMissing',
      says: /cluster-image-mirrors: files\.json: key missing/,
    },
    {
      why: 'files.json not JSON',
      in: () => ({ ...input(), configMapData: { 'files.json': '{nope' } }),
      reason: 'ManifestInvalid',
      says: /files\.json: not valid JSON/,
    },
    { why: 'files.json an array', in: () => input([]), reason: 'ManifestInvalid', says: /must be a JSON object/ },
    {
      why: 'entry not an object',
      in: () => input(withEntry('x.toml', 'oops')),
      reason: 'ManifestInvalid',
      says: /files\.json\["x\.toml"\]: must be an object/,
    },
    {
      why: 'bad from',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '0644', from: 'Node' })),
      reason: 'ManifestInvalid',
      says: /\.from: "Node": must be "ConfigMap" or "Secret"/,
    },
    {
      why: 'key missing from ConfigMap',
      in: () => input(withEntry('containerd.x.io.hosts.toml', { path: '/etc/containerd/certs.d/x.io/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'KeyMissing',
      says: /lists key "containerd\.x\.io\.hosts\.toml" from ConfigMap, but ConfigMap image-mirror-system\/cluster-image-mirrors has no such key/,
    },
    {
      why: 'key missing from Secret',
      in: () => input(manifest(), { secretData: {} }),
      reason: 'KeyMissing',
      says: /key "containers\.auth\.json" from Secret, but Secret image-mirror-system\/cluster-image-mirrors has no such key/,
    },
    {
      why: 'Secret absent',
      in: () => input(manifest(), { secretData: undefined }),
      reason: 'KeyMissing',
      says: /Secret image-mirror-system\/cluster-image-mirrors does not exist/,
    },
    {
      why: 'path outside roots',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/passwd.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /\.path: "\/etc\/passwd\.toml": outside the allowed roots/,
    },
    {
      why: 'dotdot escape',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d/../../shadow.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /"\.\." components/,
    },
    {
      why: 'relative path',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: 'etc/containerd/certs.d/q/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /must be absolute/,
    },
    {
      why: 'NUL byte',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d/q\u0000/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /NUL/,
    },
    {
      why: 'root dir itself',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /outside the allowed roots/,
    },
    {
      why: 'prefix look-alike root',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d.evil/x/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /outside the allowed roots/,
    },
    {
      why: 'below the auth.json file root',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containers/auth.json/x.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /outside the allowed roots/,
    },
    {
      why: 'double slash',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d//q/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /normal form/,
    },
    {
      why: 'hidden component',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d/.q/hosts.toml', mode: '0644', from: 'ConfigMap' })),
      reason: 'PathNotAllowed',
      says: /hidden/,
    },
    {
      why: 'two keys, one path',
      in: () => input(withEntry('registries.conf', { path: hostsPath, mode: '0644', from: 'ConfigMap' })),
      reason: 'DuplicatePath',
      says: /also the path of key/,
    },
    {
      why: 'file path used as a directory',
      in: () => input(withEntry('registries.conf', { path: '/etc/containerd/certs.d/quay.io/hosts.toml/x.conf', mode: '0644', from: 'ConfigMap' })),
      reason: 'DuplicatePath',
      says: /is also a directory of/,
    },
    {
      why: 'mode not octal',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '0x1a4', from: 'ConfigMap' })),
      reason: 'InvalidMode',
      says: /\.mode: "0x1a4": must be an octal string/,
    },
    {
      why: 'mode a number',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: 420, from: 'ConfigMap' })),
      reason: 'InvalidMode',
      says: /\.mode: 420/,
    },
    {
      why: 'executable mode',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '0755', from: 'ConfigMap' })),
      reason: 'InvalidMode',
      says: /execute bits/,
    },
    {
      why: 'set-uid mode',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '4644', from: 'ConfigMap' })),
      reason: 'InvalidMode',
      says: /octal string/,
    },
    {
      why: 'unreadable by owner',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '0044', from: 'ConfigMap' })),
      reason: 'InvalidMode',
      says: /owner must be able to read/,
    },
    {
      why: 'unsupported file type',
      in: () => input(withEntry('containerd.quay.io.hosts.toml', { path: '/etc/containerd/certs.d/quay.io/run.sh', mode: '0644', from: 'ConfigMap' })),
      reason: 'UnsupportedFileType',
      says: /unsupported file type/,
    },
    {
      why: 'invalid TOML in hosts.toml',
      in: () => {
        const i = input();
        return { ...i, configMapData: { ...i.configMapData, 'containerd.quay.io.hosts.toml': 'server = "https://quay.io\n' } };
      },
      reason: 'InvalidContent',
      says: /key "containerd\.quay\.io\.hosts\.toml" \(\/etc\/containerd\/certs\.d\/quay\.io\/hosts\.toml\): invalid TOML at line 1, column \d+: /,
    },
    {
      why: 'invalid TOML in a Secret hosts.toml: position only, never the value',
      in: () => {
        const m = withEntry('containerd.quay.io.hosts.toml', { path: hostsPath, mode: '0600', from: 'Secret' });
        return input(m, {
          secretData: { 'containers.auth.json': AUTH, 'containerd.quay.io.hosts.toml': '[host."https://m".header]\nauthorization = Basic s3cr3t\n' },
        });
      },
      reason: 'InvalidContent',
      says: /^Secret image-mirror-system\/cluster-image-mirrors: key "containerd\.quay\.io\.hosts\.toml" \(\/etc\/containerd\/certs\.d\/quay\.io\/hosts\.toml\): invalid TOML at line 2, column \d+: invalid value$/,
    },
    {
      why: 'invalid TOML in a .conf',
      in: () => {
        const i = input();
        return { ...i, configMapData: { ...i.configMapData, 'registries.conf': '[[registry]\n' } };
      },
      reason: 'InvalidContent',
      says: /99-image-mirrors\.conf\): invalid TOML/,
    },
    {
      why: 'CA without a PEM block',
      in: () => {
        const i = input();
        return { ...i, configMapData: { ...i.configMapData, 'containerd.quay.io.mirror.example_5000_.crt': 'not a cert' } };
      },
      reason: 'InvalidContent',
      says: /no PEM block/,
    },
    {
      why: 'auth.json not JSON, and the content is not quoted',
      in: () => input(manifest(), { secretData: { 'containers.auth.json': '{"auths": s3cr3t' } }),
      reason: 'InvalidContent',
      says: /^Secret image-mirror-system\/cluster-image-mirrors: key "containers\.auth\.json" \(\/etc\/containers\/auth\.json\): invalid JSON$/,
    },
  ];
  for (const row of rows) {
    it(`rejects the whole plan: ${row.why}`, () => {
      const r = computePlan(row.in());
      expect(r.ok, row.why).to.equal(false);
      if (r.ok) return;
      expect(r.errors.map((e) => e.reason)).to.include(row.reason);
      const e = r.errors.find((x) => x.reason === row.reason);
      expect(e?.message).to.match(row.says);
      expect(e?.message).not.to.include('s3cr3t');
    });
  }

  it('reports every error at once, not just the first', () => {
    const m = {
      ...manifest(),
      'a.toml': { path: '/tmp/a.toml', mode: '0644', from: 'ConfigMap' },
      'b.toml': { path: hostsPath.replace('hosts', 'b'), mode: '9', from: 'ConfigMap' },
    };
    const r = computePlan(input(m));
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.errors.map((e) => e.reason)).to.deep.equal(['PathNotAllowed', 'InvalidMode']);
  });

  it('checkPath and parseMode accept the contract paths and modes', () => {
    for (const p of [
      '/etc/containers/registries.conf.d/99-image-mirrors.conf',
      '/etc/containers/certs.d/mirror:5000/ca.crt',
      '/etc/containers/auth.json',
      '/etc/containerd/certs.d/_default/hosts.toml',
      '/etc/containerd/certs.d/localhost_5000_/hosts.toml',
    ]) {
      expect(checkPath(p, DEFAULT_ALLOWED_ROOTS), p).to.equal(undefined);
    }
    expect(parseMode('0644')).to.equal(0o644);
    expect(parseMode('600')).to.equal(0o600);
  });
});
