// Every key the renderers derive is a valid ConfigMap/Secret key (at most
// 253 characters of [-._a-zA-Z0-9]) and every node file name fits NAME_MAX,
// at the longest host names the validation lets through, while node paths
// stay exactly what containerd and containers/image look up. What cannot be
// expressed is a warning of that target, never a failed render.
import { expect } from 'chai';
import { FileObjectSource } from '../../../src/model/files.js';
import type { KubeObject } from '../../../src/model/source.js';
import { formatProblem } from '../../../src/model/types.js';
import { FILES_MANIFEST_KEY } from '../../../src/contract.js';
import { renderTarget, type RenderedData } from '../../../src/pipeline.js';
import { fitName, keyFor, MAX_FILE_NAME_LENGTH, MAX_KEY_LENGTH } from '../../../src/render/paths.js';
import type { FilesManifest } from '../../../src/render/types.js';
import { render } from '../../../src/render/index.js';
import type { MirrorModel } from '../../../src/model/types.js';
import { TEST_CA_PEM, TEST_CLIENT_CERT_PEM, TEST_CLIENT_KEY_PEM } from '../../lib/pki.js';

/** 253-character host names of 63-character labels: the longest DNS names. */
const LONG = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(56), 'test'].join('.');
const LONG2 = LONG.replace(/a/g, 'm');
/** 250 characters: with ":5000" exactly the 255 of an image reference, and containerd's directory `host_5000_` one more. */
const H250 = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(53), 'test'].join('.');
const KEY = /^[-._a-zA-Z0-9]+$/;

function world(source: string, mirrorHost: string, mirror = mirrorHost): KubeObject[] {
  return [
    {
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'ImageTagMirrorSet',
      metadata: { name: 'long' },
      spec: { imageTagMirrors: [{ source, mirrors: [mirror] }] },
    },
    {
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'RegistryAccess',
      metadata: { name: 'long' },
      spec: {
        hosts: [
          {
            host: mirrorHost,
            ca: { configMapKeyRef: { namespace: 'ops', name: 'ca', key: 'ca.crt' } },
            clientCertificateSecretRef: { namespace: 'ops', name: 'client' },
          },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'ops' }, data: { 'ca.crt': TEST_CA_PEM } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'client', namespace: 'ops' },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': TEST_CLIENT_CERT_PEM, 'tls.key': TEST_CLIENT_KEY_PEM },
    },
  ];
}

function rendered(objects: KubeObject[]): RenderedData {
  const r = renderTarget(new FileObjectSource(objects), { kind: 'Cluster' });
  if (!r.outcome.ok) throw new Error(r.outcome.errors.map(formatProblem).join('\n'));
  return r.outcome;
}

function expectValidKeys(data: Record<string, string>): void {
  for (const key of Object.keys(data)) {
    expect(key.length, key).to.be.at.most(MAX_KEY_LENGTH);
    expect(key, key).to.match(KEY);
  }
}

describe('render: keys and file names at the length limits', () => {
  it(`${LONG.length}-character hosts: valid keys, full node paths, names within NAME_MAX`, () => {
    expect([LONG.length, LONG2.length, H250.length]).to.deep.equal([253, 253, 250]);
    const out = rendered(world(LONG, LONG2));
    expectValidKeys(out.configMapData);
    expectValidKeys(out.secretData);
    const manifest = JSON.parse(out.configMapData[FILES_MANIFEST_KEY]!) as FilesManifest;
    const paths = Object.values(manifest)
      .map((e) => e.path)
      .sort();
    expect(paths).to.include.members([
      `/etc/containerd/certs.d/${LONG}/hosts.toml`,
      `/etc/containers/certs.d/${LONG2}/ca.crt`,
      `/etc/containers/certs.d/${LONG2}/client.cert`,
      `/etc/containers/certs.d/${LONG2}/client.key`,
    ]);
    for (const p of paths) for (const part of p.split('/')) expect(part.length, p).to.be.at.most(MAX_FILE_NAME_LENGTH);
    // hosts.toml names its side files relative to its directory: each one is published there.
    const hostsKey = Object.keys(manifest).find((k) => manifest[k]!.path === `/etc/containerd/certs.d/${LONG}/hosts.toml`)!;
    const hosts = out.configMapData[hostsKey]!;
    const named = [...hosts.matchAll(/"([^"/]+\.(?:crt|key))"/g)].map((m) => m[1]!);
    expect(named).to.have.length(3);
    for (const n of named) expect(paths, n).to.include(`/etc/containerd/certs.d/${LONG}/${n}`);
    // Secret material stays secret under a shortened key too.
    const keyFiles = Object.values(manifest).filter((e) => e.path.endsWith('.key'));
    expect(keyFiles.length).to.equal(3); // containers certs.d, and the two containerd directories that reach the mirror host
    for (const e of keyFiles) expect([e.from, e.mode], e.path).to.deep.equal(['Secret', '0600']);
  });

  it('derived keys are stable across renders and differ between hosts', () => {
    const a = Object.keys(rendered(world(LONG, LONG2)).configMapData);
    const b = Object.keys(rendered(world(LONG, LONG2)).configMapData);
    expect(a).to.deep.equal(b);
    const c = Object.keys(rendered(world(LONG.replace(/a/g, 'e'), LONG2.replace(/m/g, 'n'))).configMapData);
    expect(c.filter((k) => a.includes(k)).sort()).to.deep.equal(['files.json', 'registries.conf']);
  });

  it('a host whose containerd directory name cannot exist: NotExpressible for containerd, the rest renders', () => {
    const withPort = `${H250}:5000`;
    const out = rendered(world(withPort, 'm.io', 'm.io/x'));
    expectValidKeys(out.configMapData);
    const warnings = out.output.warnings.filter((w) => w.code === 'NotExpressible').map((w) => [w.renderer, w.source]);
    expect(warnings).to.deep.equal([['containerd', withPort]]);
    expect(out.configMapData['registries.conf']).to.include(`prefix = "${withPort}"`);
    expect(out.output.files.map((f) => f.path).filter((p) => p.includes(`${H250}_5000_`))).to.deep.equal([]);
  });

  it('a host too long for a certs.d directory of containers/image: its files are left out with a warning', () => {
    // Validation keeps such hosts out (an image reference has at most 255 characters); the renderer still refuses them on its own.
    const model: MirrorModel = {
      rules: [],
      insecureScopes: [],
      contributors: [],
      access: [{ host: `${LONG}xx:5000`, caPEM: TEST_CA_PEM, origin: { apiVersion: 'v1', kind: 'RegistryAccess', name: 'x' }, field: 'spec.hosts[0]' }],
    };
    const out = render(model);
    expect(out.files.filter((f) => f.path.startsWith('/etc/containers/certs.d/'))).to.deep.equal([]);
    expect(out.warnings.map((w) => [w.code, w.renderer])).to.deep.include(['NotExpressible', 'registries.conf']);
  });

  it('fitName and keyFor: unchanged within the limit, else exactly the limit with the extension kept', () => {
    expect(fitName('containerd.quay.io.hosts.toml', MAX_KEY_LENGTH)).to.equal('containerd.quay.io.hosts.toml');
    const long = `containerd.${'x'.repeat(260)}.hosts.toml`;
    const short = keyFor(long, '/etc/containerd/certs.d/x/hosts.toml');
    expect(short)
      .to.have.length(MAX_KEY_LENGTH)
      .and.match(KEY)
      .and.match(/-[0-9a-f]{16}\.toml$/);
    expect(short.startsWith('containerd.xxx')).to.equal(true);
    expect(keyFor(long, '/etc/containerd/certs.d/y/hosts.toml')).to.not.equal(short);
    expect(keyFor(long, '/etc/containerd/certs.d/x/hosts.toml')).to.equal(short);
  });
});
