// The agent's ownership markers must not change what consumers read: a
// comment line before a PEM block (CA, client certificate), a comment line in
// hosts.toml and registries.conf drop-ins, an extra top-level key in
// auth.json. Proven with the real consumers: skopeo 1.9 (containers/image)
// and containerd 1.6's resolver, against a TLS registry that requires
// credentials, with controls showing each marked file is actually used.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSON_MARKER_KEY, MARKER_LINE } from '../../src/agent/marker.js';
import { DEFAULT_ALLOWED_ROOTS } from '../../src/agent/plan.js';
import { DEFAULT_STATE_PATH } from '../../src/agent/state.js';
import { syncFiles, type Published } from '../../src/agent/sync.js';
import { removeDir, tempDir } from '../../test/consumer/lib/proc.js';
import type { Registry } from '../../test/consumer/lib/registry.js';
import { inspectRawOnNode } from '../../test/consumer/lib/skopeo.js';
import { makeServerCert } from '../../test/consumer/lib/tls.js';
import { World, type TestImage } from '../../test/consumer/lib/world.js';

const USER = { username: 'puller', password: 'pull-secret-1' };

interface Parts {
  containersCA: boolean;
  containerdCA: boolean;
  auth: boolean;
}

/** A publication for one registry host: containers CA + auth.json, containerd hosts.toml + CA. */
function publication(reg: Registry, parts: Parts): Published {
  const dir = `${reg.host.replace(':', '_')}_`;
  const basic = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  const files: Record<string, { path: string; mode: string; from: 'ConfigMap' | 'Secret'; content: string }> = {
    hosts: {
      path: `/etc/containerd/certs.d/${dir}/hosts.toml`,
      mode: '0600',
      from: 'Secret',
      content: [
        `server = "https://${reg.host}"`,
        '',
        `[host."https://${reg.host}"]`,
        '  capabilities = ["pull", "resolve"]',
        `  ca = "${dir}.crt"`,
        `[host."https://${reg.host}".header]`,
        `  authorization = "Basic ${basic}"`,
        '',
      ].join('\n'),
    },
  };
  const ca = reg.tls?.caPEM ?? '';
  if (parts.containerdCA) files.ctrdCA = { path: `/etc/containerd/certs.d/${dir}/${dir}.crt`, mode: '0644', from: 'ConfigMap', content: ca };
  if (parts.containersCA) files.ca = { path: `/etc/containers/certs.d/${reg.host}/ca.crt`, mode: '0644', from: 'ConfigMap', content: ca };
  if (parts.auth)
    files.auth = { path: '/etc/containers/auth.json', mode: '0600', from: 'Secret', content: JSON.stringify({ auths: { [reg.host]: { auth: basic } } }) };
  const cm: Record<string, string> = {};
  const secret: Record<string, string> = {};
  const manifest: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(files)) {
    manifest[key] = { path: f.path, mode: f.mode, from: f.from };
    (f.from === 'Secret' ? secret : cm)[key] = f.content;
  }
  cm['files.json'] = JSON.stringify(manifest);
  return { configMapRef: 'ConfigMap t/markers', secretRef: 'Secret t/markers', configMapData: cm, secretData: secret };
}

describe('chain: consumers accept the agent markers', function () {
  this.timeout(120_000);
  const world = new World();
  let reg: Registry;
  let img: TestImage;
  let root: string;
  let ref: string;
  let certs: string;

  const install = async (parts: Parts): Promise<void> => {
    const r = await syncFiles(publication(reg, parts), { root, statePath: DEFAULT_STATE_PATH, allowedRoots: DEFAULT_ALLOWED_ROOTS });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    expect(r.report.errors).to.deep.equal([]);
  };

  before(async function () {
    certs = await tempDir('markers-tls');
    reg = await world.registry({ tls: await makeServerCert(certs), auth: USER });
    img = await world.image('markers');
    await world.push(img, reg, 'team/app');
    root = await tempDir('markers-root');
    ref = `${reg.host}/team/app@${img.manifestDigest}`;
  });
  after(async function () {
    await world.stop();
    await removeDir(root);
    await removeDir(certs);
  });

  it('skopeo reads a marked ca.crt and a marked auth.json', async function () {
    await install({ containersCA: true, containerdCA: true, auth: true });
    expect(await readFile(join(root, `etc/containers/certs.d/${reg.host}/ca.crt`), 'utf8')).to.match(
      new RegExp(`^${MARKER_LINE.replace(/[.()]/g, '\\$&')}\n-----BEGIN`),
    );
    expect(JSON.parse(await readFile(join(root, 'etc/containers/auth.json'), 'utf8'))).to.have.property(JSON_MARKER_KEY);
    const r = await inspectRawOnNode(root, ref);
    expect(r.code, `${r.command}\n${r.stderr}`).to.equal(0);
    expect(reg.requestsFor('team/app').some((q) => q.authorized && q.status === 200)).to.equal(true);
  });

  it('control: without the CA skopeo fails on TLS, without auth.json it gets 401', async function () {
    await install({ containersCA: false, containerdCA: true, auth: true });
    const noCA = await inspectRawOnNode(root, ref);
    expect(noCA.code).to.not.equal(0);
    expect(noCA.stderr).to.match(/x509|certificate/);
    await install({ containersCA: true, containerdCA: true, auth: false });
    const noAuth = await inspectRawOnNode(root, ref);
    expect(noAuth.code).to.not.equal(0);
    expect(noAuth.stderr).to.match(/unauthorized|authentication required|401/i);
  });

  it('containerd reads a marked hosts.toml and a marked CA next to it', async function () {
    await install({ containersCA: true, containerdCA: true, auth: true });
    const ctrd = await world.containerd();
    const hostsDir = join(root, 'etc/containerd/certs.d');
    const ok = await ctrd.fetch(hostsDir, ref);
    expect(ok.code, `${ok.command}\n${ok.stderr}`).to.equal(0);
    // Control: the same hosts.toml without its CA file fails verification.
    await install({ containersCA: true, containerdCA: false, auth: true });
    const noCA = await ctrd.fetch(hostsDir, ref);
    expect(noCA.code).to.not.equal(0);
    expect(noCA.stderr).to.match(/x509|certificate|CA cert/i);
  });
});
