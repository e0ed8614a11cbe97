import { expect } from 'chai';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { merge } from '../../../src/merge/index.js';
import { FileObjectSource } from '../../../src/model/files.js';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { formatProblem, type HostAccess, type MergeInputs, type MirrorModel } from '../../../src/model/types.js';
import { FILES_MANIFEST_KEY, OUTPUT_LABEL } from '../../../src/contract.js';
import { contentHash, renderTarget, type RenderedTarget } from '../../../src/pipeline.js';
import { render } from '../../../src/render/index.js';
import { decodeDataUrl, MACHINE_CONFIG_KEY, renderMachineConfig } from '../../../src/render/machineconfig.js';
import type { NodeFile } from '../../../src/render/types.js';
import { access, digest, inputs, scope, tag } from '../merge/build.js';

import { TEST_CA_PEM as CA, TEST_CLIENT_CERT_PEM as CERT, TEST_CLIENT_KEY_PEM as KEY } from '../../lib/pki.js';
const PASSWORD = 'S3cr3t-pa55';

interface IgnitionFile {
  path: string;
  mode: number;
  overwrite: boolean;
  contents: { source: string };
}
interface MachineConfigDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { config: { ignition: { version: string }; storage: { files: IgnitionFile[] } } };
}

function model(i: MergeInputs): MirrorModel {
  const r = merge(i);
  if (!r.ok) throw new Error(r.errors.map(formatProblem).join('\n'));
  return r.value;
}

function parseMachineConfig(content: string): MachineConfigDoc {
  return load(content) as MachineConfigDoc;
}

/** What CRI-O needs from render(), picked by the contract keys (not by the code under test). */
function crioFiles(files: readonly NodeFile[]): Map<string, NodeFile> {
  const wanted = files.filter((f) => f.key === 'registries.conf' || /^containers\..+\.ca\.crt$/.test(f.key));
  return new Map(wanted.map((f) => [f.path, f]));
}

/** Everything secret a model holds, in every form it could leak in. */
function secretsOf(a: readonly HostAccess[]): string[] {
  return a.flatMap((x) => {
    const out: string[] = [];
    if (x.auth) {
      const pair = `${x.auth.username}:${x.auth.password}`;
      out.push(x.auth.password, pair, Buffer.from(pair).toString('base64'), Buffer.from(x.auth.password).toString('base64'));
    }
    if (x.clientCert) out.push(x.clientCert.keyPEM, Buffer.from(x.clientCert.keyPEM).toString('base64'));
    return out;
  });
}

const SAMPLE = inputs({
  entries: [
    digest('quay.io/ocp', ['mirror.corp:5000/ocp', 'backup.corp/ocp'], { policy: 'NeverContactSource' }),
    tag('docker.io/library', ['mirror.corp:5000/hub']),
    digest('registry.redhat.io', ['mirror.corp:5000/rh']),
  ],
  insecure: [scope('backup.corp')],
  access: [
    access('mirror.corp:5000', { caPEM: CA, auth: { username: 'puller', password: PASSWORD } }),
    access('backup.corp', { caPEM: CA, clientCert: { certPEM: CERT, keyPEM: KEY } }),
    access('plain.corp', { insecureSkipVerify: true }),
  ],
});

describe('renderMachineConfig (NodePool.spec.config)', () => {
  const m = model(SAMPLE);
  const files = render(m).files;
  const mc = renderMachineConfig(m, files);
  const doc = parseMachineConfig(mc.content);

  it('is a worker MachineConfig with ignition 3.2.0', () => {
    expect(doc.apiVersion).to.equal('machineconfiguration.openshift.io/v1');
    expect(doc.kind).to.equal('MachineConfig');
    expect(doc.metadata).to.deep.equal({ name: '99-worker-image-mirrors', labels: { 'machineconfiguration.openshift.io/role': 'worker' } });
    // A string, not a number: YAML would read an unquoted 3.2 as a float.
    expect(doc.spec.config.ignition).to.deep.equal({ version: '3.2.0' });
  });

  it('has well-formed file entries: absolute path, integer mode, overwrite, base64 data URL', () => {
    const entries = doc.spec.config.storage.files;
    expect(entries).to.have.length.greaterThan(0);
    for (const f of entries) {
      expect(Object.keys(f).sort(), f.path).to.deep.equal(['contents', 'mode', 'overwrite', 'path']);
      expect(f.path).to.match(/^\/etc\/containers\/[^\s]+$/);
      expect(f.path).to.not.include('/../');
      expect(Number.isInteger(f.mode)).to.equal(true);
      expect(f.mode).to.equal(420);
      expect(f.overwrite).to.equal(true);
      expect(f.contents.source).to.match(/^data:text\/plain;charset=utf-8;base64,[A-Za-z0-9+/]*={0,2}$/);
    }
    expect(entries.map((f) => f.path)).to.deep.equal([...entries.map((f) => f.path)].sort());
  });

  it('decodes to exactly the registries.conf drop-in and the containers CA files of render()', () => {
    const want = crioFiles(files);
    const got = new Map(doc.spec.config.storage.files.map((f) => [f.path, decodeDataUrl(f.contents.source)]));
    expect([...got.keys()].sort()).to.deep.equal([...want.keys()].sort());
    for (const [path, f] of want) expect(got.get(path), path).to.equal(f.content);
    expect([...got.keys()]).to.include.members([
      '/etc/containers/registries.conf.d/99-image-mirrors.conf',
      '/etc/containers/certs.d/mirror.corp:5000/ca.crt',
      '/etc/containers/certs.d/backup.corp/ca.crt',
    ]);
    // Independent of the helper: plain base64 decoding gives the same text.
    const rc = doc.spec.config.storage.files.find((f) => f.path.endsWith('99-image-mirrors.conf'))!;
    expect(Buffer.from(rc.contents.source.split(',')[1] ?? '', 'base64').toString('utf8')).to.equal(want.get(rc.path)!.content);
  });

  it('leaves out containerd files, auth.json and client certificates and keys', () => {
    expect(files.some((f) => f.path.startsWith('/etc/containerd/'))).to.equal(true);
    expect(files.some((f) => f.path === '/etc/containers/auth.json')).to.equal(true);
    expect(files.some((f) => f.path.endsWith('/client.key'))).to.equal(true);
    const paths = doc.spec.config.storage.files.map((f) => f.path);
    expect(paths.filter((p) => p.startsWith('/etc/containerd/') || /auth\.json|client\.(cert|key)$/.test(p))).to.deep.equal([]);
    for (const s of secretsOf(SAMPLE.access)) expect(mc.content, 'secret in the MachineConfig').to.not.include(s);
    for (const f of doc.spec.config.storage.files) {
      const text = decodeDataUrl(f.contents.source) ?? '';
      for (const s of secretsOf(SAMPLE.access)) expect(text, `secret in ${f.path}`).to.not.include(s);
      expect(text).to.not.match(/PRIVATE KEY|authorization/i);
    }
  });

  it('warns once per host whose credentials or client certificate it leaves out, pointing at the global pull secret', () => {
    expect(mc.warnings.map((w) => [w.code, w.renderer, w.source])).to.deep.equal([
      ['CredentialsOmitted', 'machineconfig', 'backup.corp'],
      ['CredentialsOmitted', 'machineconfig', 'mirror.corp:5000'],
    ]);
    expect(mc.warnings[1]?.message).to.include('global pull secret');
    expect(mc.warnings[0]?.message).to.include('client certificate');
    for (const w of mc.warnings) for (const s of secretsOf(SAMPLE.access)) expect(w.message).to.not.include(s);
  });

  it('has no warning and only registries.conf for a model without access settings', () => {
    const plain = model(inputs({ entries: [digest('quay.io', ['m.io/q'])] }));
    const out = renderMachineConfig(plain, render(plain).files);
    expect(out.warnings).to.deep.equal([]);
    expect(parseMachineConfig(out.content).spec.config.storage.files.map((f) => f.path)).to.deep.equal([
      '/etc/containers/registries.conf.d/99-image-mirrors.conf',
    ]);
  });

  it('is canonical JSON: every object has its keys sorted, so re-serializing gives the same bytes', () => {
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
            )
          : v;
    expect(`${JSON.stringify(sorted(JSON.parse(mc.content)), null, 2)}\n`).to.equal(mc.content);
  });
});

// Small alphabets, so that generated inputs share hosts and mirrors.
const HOSTS = ['a.io', 'm.io', 'n.io:5000', 'reg.corp:5000'];
const arbInputs: fc.Arbitrary<MergeInputs> = fc
  .record({
    raw: fc.array(
      fc.record({
        tagPool: fc.boolean(),
        source: fc.constantFrom('a.io', 'a.io/ns', 'b.io/x/y', 'docker.io', 'localhost:5000/app'),
        mirrors: fc.uniqueArray(fc.constantFrom('m.io', 'm.io/c', 'n.io:5000/ns', 'reg.corp:5000/p'), { minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 8 },
    ),
    hosts: fc.subarray(HOSTS),
    flags: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    insecure: fc.subarray(['m.io', 'n.io:5000/ns'], { maxLength: 2 }),
  })
  .map(({ raw, hosts, flags, insecure }) =>
    inputs({
      entries: raw.map((r, i) => (r.tagPool ? tag : digest)(r.source, r.mirrors, { index: i })),
      insecure: insecure.map((s) => scope(s)),
      access: hosts.map((h, i) =>
        access(h, {
          ...(flags[i] ? { caPEM: `${CA}# ${h}\n` } : {}),
          ...(flags[i + 4] ? { auth: { username: `user${i}`, password: `pw-${i}-${h}` } } : {}),
          ...(flags[i + 8] ? { clientCert: { certPEM: CERT, keyPEM: `-----BEGIN PRIVATE KEY-----\nK${i}\n-----END PRIVATE KEY-----\n` } } : {}),
        }),
      ),
    }),
  );

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

describe('renderMachineConfig properties', () => {
  it('is byte-identical for any order of the inputs', () => {
    fc.assert(
      fc.property(arbInputs, fc.integer({ min: 1, max: 1 << 30 }), (i, seed) => {
        const a = model(i);
        const b = model({ ...i, entries: shuffle(i.entries, seed), access: shuffle(i.access, seed + 1), insecure: shuffle(i.insecure, seed + 2) });
        const ra = renderMachineConfig(a, render(a).files);
        // The renderer must not depend on the order of the files it is given either.
        const rb = renderMachineConfig(b, shuffle(render(b).files, seed + 3));
        expect(rb.content).to.equal(ra.content);
        expect(rb.warnings).to.deep.equal(ra.warnings);
      }),
      { numRuns: 150 },
    );
  });

  it('never carries a secret, and decodes back to the CRI-O files of render()', () => {
    fc.assert(
      fc.property(arbInputs, (i) => {
        const m = model(i);
        const files = render(m).files;
        const mc = renderMachineConfig(m, files);
        for (const s of secretsOf(i.access)) expect(mc.content).to.not.include(s);
        const doc = parseMachineConfig(mc.content);
        const want = crioFiles(files);
        expect(doc.spec.config.storage.files).to.have.length(want.size);
        for (const f of doc.spec.config.storage.files) {
          const text = decodeDataUrl(f.contents.source);
          expect(text, f.path).to.equal(want.get(f.path)?.content);
          for (const s of secretsOf(i.access)) expect(text).to.not.include(s);
        }
        const omitted = i.access.filter((a) => a.auth || a.clientCert).length;
        const perHost = new Set(mc.warnings.map((w) => w.source));
        expect(perHost.size).to.equal(omitted);
        expect(mc.warnings.every((w) => w.code === 'CredentialsOmitted' && w.renderer === 'machineconfig')).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------- pipeline

const HS = 'hypershift.openshift.io/v1beta1';
const NS = 'clusters';
const NP: Target = { kind: 'NodePool', namespace: NS, name: 'workers' };

function configMap(name: string, data: Record<string, string>, labels?: Record<string, string>): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data };
  if (labels) o.metadata.labels = labels;
  return o;
}

function idmsYaml(name: string, source: string, mirror: string): string {
  return `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: ${name}}\nspec:\n  imageDigestMirrors:\n  - source: ${source}\n    mirrors: [${mirror}]\n`;
}

function world(config: Array<{ name: string }> = [], extra: KubeObject[] = []): KubeObject[] {
  return [
    {
      apiVersion: HS,
      kind: 'HostedCluster',
      metadata: { name: 'demo', namespace: NS },
      spec: { imageContentSources: [{ source: 'quay.io/ocp', mirrors: ['mirror.corp:5000/ocp'] }] },
    },
    { apiVersion: HS, kind: 'NodePool', metadata: { name: 'workers', namespace: NS }, spec: { clusterName: 'demo', config } },
    {
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'RegistryAccess',
      metadata: { name: 'corp' },
      spec: {
        hosts: [
          {
            host: 'mirror.corp:5000',
            ca: { configMapKeyRef: { namespace: NS, name: 'corp-ca', key: 'ca.crt' } },
            credentialsSecretRef: { namespace: NS, name: 'pull' },
          },
        ],
      },
    },
    configMap('corp-ca', { 'ca.crt': CA }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull', namespace: NS },
      type: 'kubernetes.io/basic-auth',
      stringData: { username: 'puller', password: PASSWORD },
    },
    ...extra,
  ];
}

function ok(r: RenderedTarget): Extract<RenderedTarget['outcome'], { ok: true }> {
  if (!r.outcome.ok) throw new Error(r.outcome.errors.map(formatProblem).join('\n'));
  return r.outcome;
}

describe('pipeline: NodePool output carries the MachineConfig', () => {
  it('adds key config to NodePool outputs only; the hash covers it; files.json does not list it', () => {
    const np = ok(renderTarget(new FileObjectSource(world()), NP));
    expect(np.configMapData).to.have.property(MACHINE_CONFIG_KEY);
    expect(np.hash).to.equal(contentHash(np.configMapData));
    const { [MACHINE_CONFIG_KEY]: _config, ...withoutConfig } = np.configMapData;
    expect(contentHash(withoutConfig)).to.not.equal(np.hash);
    expect(Object.keys(JSON.parse(np.configMapData[FILES_MANIFEST_KEY] ?? '{}') as object)).to.not.include(MACHINE_CONFIG_KEY);
    const mc = parseMachineConfig(np.configMapData[MACHINE_CONFIG_KEY] ?? '');
    const paths = mc.spec.config.storage.files.map((f) => f.path);
    expect(paths).to.deep.equal(['/etc/containers/certs.d/mirror.corp:5000/ca.crt', '/etc/containers/registries.conf.d/99-image-mirrors.conf']);
    expect(decodeDataUrl(mc.spec.config.storage.files[1]!.contents.source)).to.equal(np.configMapData['registries.conf']);

    const cluster = ok(renderTarget(new FileObjectSource(world()), { kind: 'Cluster' }));
    expect(cluster.configMapData).to.not.have.property(MACHINE_CONFIG_KEY);
  });

  it('joins the CredentialsOmitted warning to the output warnings, and keeps credentials in the Secret only', () => {
    const np = ok(renderTarget(new FileObjectSource(world()), NP));
    const omitted = np.output.warnings.filter((w) => w.code === 'CredentialsOmitted');
    expect(omitted.map((w) => [w.renderer, w.source])).to.deep.equal([['machineconfig', 'mirror.corp:5000']]);
    expect(Object.keys(np.secretData)).to.include('containers.auth.json');
    for (const v of Object.values(np.configMapData)) expect(v).to.not.include(PASSWORD);
    expect(np.configMapData[MACHINE_CONFIG_KEY]).to.not.include(Buffer.from(`puller:${PASSWORD}`).toString('base64'));
  });

  it('renders byte-identical data for any order of the objects', () => {
    const objects = world([{ name: 'extra' }], [configMap('extra', { config: idmsYaml('x', 'gcr.io', 'mirror.corp:5000/gcr') })]);
    const first = ok(renderTarget(new FileObjectSource(objects), NP));
    for (let seed = 1; seed <= 5; seed++) {
      const again = ok(renderTarget(new FileObjectSource(shuffle(objects, seed)), NP));
      expect(again.configMapData).to.deep.equal(first.configMapData);
      expect(again.hash).to.equal(first.hash);
    }
  });

  it('skips its own output listed in spec.config, before it exists (not reported missing) and after (never read)', () => {
    const before = renderTarget(new FileObjectSource(world([{ name: 'workers-image-mirrors' }])), NP);
    expect(before.outcome.ok, JSON.stringify(before.outcome)).to.equal(true);
    const base = ok(renderTarget(new FileObjectSource(world()), NP));
    expect(ok(before).configMapData).to.deep.equal(base.configMapData);

    // The stored output, whatever it holds, never feeds back into the next rendering.
    const stored = configMap('workers-image-mirrors', { ...base.configMapData, config: idmsYaml('loop', 'loop.io', 'm.io/loop') }, { [OUTPUT_LABEL]: 'true' });
    const after = ok(renderTarget(new FileObjectSource(world([{ name: 'workers-image-mirrors' }], [stored])), NP));
    expect(after.configMapData).to.deep.equal(base.configMapData);
    expect(after.model.rules.map((r) => r.source)).to.not.include('loop.io');
  });

  it('skips any ConfigMap labelled as an output, and still reads the other ConfigMaps listed', () => {
    const objects = world(
      [{ name: 'other-output' }, { name: 'user-config' }],
      [
        configMap('other-output', { config: idmsYaml('skipped', 'skipped.io', 'm.io/s') }, { [OUTPUT_LABEL]: 'true' }),
        configMap('user-config', { config: idmsYaml('kept', 'kept.io', 'm.io/k') }),
      ],
    );
    const out = ok(renderTarget(new FileObjectSource(objects), NP));
    const sources = out.model.rules.map((r) => r.source);
    expect(sources).to.include('kept.io');
    expect(sources).to.not.include('skipped.io');
  });
});
