// CRI-O, the runtime of OpenShift and HyperShift nodes, pulling through the
// MachineConfig the operator publishes for a NodePool: the test renders
// `--target ns/nodepool --machineconfig`, installs its ignition storage.files
// onto a node's /etc/containers exactly as Ignition would (lib/ignition.ts),
// starts CRI-O on that node (lib/crio.ts) and pulls with crictl, as the
// kubelet would. Every assertion is on what the registries saw.
//
// Inputs are HyperShift's own: a HostedCluster whose imageMirrorConfigRef
// ConfigMap holds an IDMS with NeverContactSource, and whose
// configuration.image.registrySources declares the plain-HTTP registries
// insecure and one registry blocked. (On HyperShift, RegistryAccess-style
// settings come from the HostedCluster; the MachineConfig carries no
// containerd files.)
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeEtc } from './lib/cri.js';
import { Crio, CRIO_VERSION, nodeContainersBase } from './lib/crio.js';
import { applyIgnitionFiles, type InstalledFile } from './lib/ignition.js';
import type { Doc } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { explain, lines, manifestRequests, statusesOf, World, type TestImage } from './lib/world.js';

const NS = 'clusters';

// CRI-O adds 127.0.0.0/8 to its insecure registries by itself (like Docker)
// and then skips TLS verification and allows HTTP for the whole pull, so for a
// loopback source registries.conf's `insecure` changes nothing. The insecure
// cases therefore pull sources with names that the node's /etc/hosts maps to
// a TEST-NET address (RFC 5737, nothing listens there and it is never
// contacted: the sources are NeverContactSource), through loopback mirrors.
const TEST_NET = '192.0.2.10';
const VIA_INSECURE = 'insecure-mirror.source.test';
const VIA_UNDECLARED = 'undeclared-mirror.source.test';

function hypershiftInputs(r: { source: Registry; mirror: Registry; insecure: Registry; undeclared: Registry; blocked: Registry }): Doc[] {
  const never = (source: string, mirror: string): string[] => [
    `  - source: ${source}/team/app`,
    '    mirrors:',
    `    - ${mirror}/team/app`,
    '    mirrorSourcePolicy: NeverContactSource',
  ];
  const idms = [
    'apiVersion: config.openshift.io/v1',
    'kind: ImageDigestMirrorSet',
    'metadata:',
    '  name: release',
    'spec:',
    '  imageDigestMirrors:',
    ...never(r.source.host, r.mirror.host),
    ...never(VIA_INSECURE, r.insecure.host),
    ...never(VIA_UNDECLARED, r.undeclared.host),
    '',
  ].join('\n');
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hc-mirrors', namespace: NS }, data: { 'idms.yaml': idms } },
    {
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'HostedCluster',
      metadata: { name: 'hc', namespace: NS },
      spec: {
        release: { image: 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64' },
        platform: { type: 'None' },
        imageMirrorConfigRef: { name: 'hc-mirrors' },
        configuration: {
          image: {
            registrySources: {
              // The test registries speak plain HTTP: containers/image tries HTTP only for insecure ones.
              // r.undeclared is left out on purpose.
              insecureRegistries: [r.source.host, r.mirror.host, r.insecure.host],
              blockedRegistries: [r.blocked.host],
            },
          },
        },
      },
    },
    {
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'NodePool',
      metadata: { name: 'workers', namespace: NS },
      spec: { clusterName: 'hc', replicas: 1, release: { image: 'quay.io/openshift-release-dev/ocp-release:4.16.0-x86_64' }, platform: { type: 'None' } },
    },
  ];
}

describe(`consumer: CRI-O ${CRIO_VERSION} with the NodePool's MachineConfig (crictl pulls)`, function () {
  this.timeout(180_000);
  const world = new World();
  let etc: NodeEtc;
  let crio: Crio;
  let source: Registry;
  let mirror: Registry;
  let insecure: Registry;
  let blocked: Registry;
  let undeclared: Registry;
  let rendered: Rendered;
  let installed: InstalledFile[];
  const img: Record<'digest' | 'tag' | 'insecure' | 'undeclared' | 'loopback' | 'blocked', TestImage> = {} as never;

  before(async function () {
    [source, mirror, insecure, blocked, undeclared] = await Promise.all([
      world.registry(),
      world.registry(),
      world.registry(),
      world.registry(),
      world.registry(),
    ]);
    // A fresh image per case: CRI-O keeps what it pulled.
    for (const k of Object.keys({ digest: 0, tag: 0, insecure: 0, undeclared: 0, loopback: 0, blocked: 0 }) as Array<keyof typeof img>)
      img[k] = await world.image(`crio-${k}`);
    [rendered] = await Promise.all([
      renderOk(hypershiftInputs({ source, mirror, insecure, undeclared, blocked }), { target: `${NS}/workers`, machineConfig: true }),
      // The source holds everything, so a pull that reached it would succeed.
      ...[img.digest, img.tag].flatMap((i) => [world.push(i, source, 'team/app'), world.push(i, mirror, 'team/app')]),
      world.push(img.insecure, insecure, 'team/app'),
      world.push(img.undeclared, undeclared, 'team/app'),
      world.push(img.loopback, undeclared, 'lib/tool'),
      world.push(img.blocked, blocked, 'lib/tool'),
    ]);
    etc = await NodeEtc.create({ hosts: { [VIA_INSECURE]: TEST_NET, [VIA_UNDECLARED]: TEST_NET } });
    await nodeContainersBase(etc);
    const mc: unknown = JSON.parse(await readFile(rendered.machineConfig!, 'utf8'));
    installed = await applyIgnitionFiles(mc, (p) => etc.hostPath(p));
    crio = await Crio.start(etc, { logLevel: 'debug' });
  });
  after(async () => {
    await crio?.stop();
    await world.stop();
    await etc?.remove();
  });
  beforeEach(() => world.clearLogs());

  const why = async (r: Awaited<ReturnType<Crio['crictl']['pull']>>, regs: Record<string, Registry>): Promise<string> =>
    `${await explain(rendered, r, regs)}\nCRI-O log (tail):\n${crio.log().split('\n').slice(-40).join('\n')}`;

  it('the MachineConfig carries the registries.conf drop-in, installed with its mode and exact bytes', async function () {
    expect(installed.map((f) => [f.path, f.mode.toString(8)])).to.deep.equal([['/etc/containers/registries.conf.d/99-image-mirrors.conf', '644']]);
    const cli = await readFile(join(rendered.out, 'etc/containers/registries.conf.d/99-image-mirrors.conf'));
    expect(installed[0]?.bytes.equals(cli)).to.equal(true);
  });

  it('NeverContactSource: a digest pull comes from the mirror, zero connections to the source', async function () {
    const r = await crio.crictl.pull(`${source.host}/team/app@${img.digest.manifestDigest}`);
    const w = await why(r, { source, mirror });
    expect(r.code, w).to.equal(0);
    expect(lines(mirror.requestsFor('team/app')), w).to.include.members([
      `GET /v2/team/app/manifests/${img.digest.manifestDigest} 200`,
      `GET /v2/team/app/blobs/${img.digest.layerDigest} 200`,
    ]);
    expect(source.connections(), w).to.equal(0);
  });

  it('NeverContactSource: a tag pull fails (digest-only mirrors, blocked source) without contacting the source', async function () {
    const r = await crio.crictl.pull(`${source.host}/team/app:${img.tag.tag}`);
    const w = await why(r, { source, mirror });
    expect(r.code, w).to.not.equal(0);
    expect(`${r.stderr}${r.stdout}`, w).to.match(/blocked/);
    expect(manifestRequests(mirror, 'team/app'), w).to.deep.equal([]);
    expect(source.connections(), w).to.equal(0);
  });

  it('insecureRegistries: a plain-HTTP mirror declared insecure is pulled from over HTTP', async function () {
    const r = await crio.crictl.pull(`${VIA_INSECURE}/team/app@${img.insecure.manifestDigest}`);
    const w = await why(r, { insecure });
    expect(r.code, w).to.equal(0);
    expect(statusesOf(insecure, `/v2/team/app/manifests/${img.insecure.manifestDigest}`), w).to.deep.equal([200]);
    expect(crio.log(), w).to.not.include(`https://${VIA_INSECURE}`);
  });

  it('the same kind of mirror, not declared insecure: HTTPS only, refused, no HTTP request (and no fallback to the source)', async function () {
    const r = await crio.crictl.pull(`${VIA_UNDECLARED}/team/app@${img.undeclared.manifestDigest}`);
    const w = await why(r, { undeclared });
    expect(r.code, w).to.not.equal(0);
    expect(`${r.stderr}${r.stdout}${crio.log()}`, w).to.match(/HTTP response to HTTPS client/);
    expect(undeclared.connections(), w).to.be.greaterThan(0);
    expect(undeclared.requests(), w).to.deep.equal([]);
    expect(crio.log(), w).to.not.include(`https://${VIA_UNDECLARED}`);
  });

  it('CRI-O itself treats 127.0.0.0/8 as insecure: the undeclared loopback registry is pulled over HTTP when it is the source', async function () {
    const r = await crio.crictl.pull(`${undeclared.host}/lib/tool:${img.loopback.tag}`);
    const w = await why(r, { undeclared });
    expect(r.code, w).to.equal(0);
    expect(statusesOf(undeclared, `/v2/lib/tool/manifests/${img.loopback.tag}`), w).to.deep.equal([200]);
  });

  it('blockedRegistries: a pull from a blocked registry fails with zero connections to it', async function () {
    const r = await crio.crictl.pull(`${blocked.host}/lib/tool:${img.blocked.tag}`);
    const w = await why(r, { blocked });
    expect(r.code, w).to.not.equal(0);
    expect(`${r.stderr}${r.stdout}`, w).to.match(/blocked/);
    expect(blocked.connections(), w).to.equal(0);
  });
});
