import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKER_LINE } from '../../../src/agent/marker.js';
import { CONTENT_HASH_KEY, outputContentHash } from '../../../src/contract.js';
import { DEFAULT_ALLOWED_ROOTS } from '../../../src/agent/plan.js';
import { DEFAULT_STATE_PATH } from '../../../src/agent/state.js';
import { syncFiles, type Published, type SyncOptions, type SyncResult } from '../../../src/agent/sync.js';

const HOSTS_PATH = '/etc/containerd/certs.d/quay.io/hosts.toml';
const CA_PATH = '/etc/containerd/certs.d/quay.io/mirror.example_5000_.crt';
const CONF_PATH = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const AUTH_PATH = '/etc/containers/auth.json';
const HOSTS = 'server = "https://quay.io"\n\n[host."https://mirror.example:5000"]\n  capabilities = ["pull"]\n  ca = "mirror.example_5000_.crt"\n';
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const CONF = '[[registry]]\nlocation = "quay.io"\n\n[[registry.mirror]]\nlocation = "mirror.example:5000"\n';

interface Files {
  hosts?: string;
  ca?: string;
  conf?: string;
  auth?: string;
}

/** A publication holding the given files (all four by default). */
function published(files: Files = { hosts: HOSTS, ca: CA, conf: CONF, auth: '{"auths":{}}' }): Published {
  const manifest: Record<string, { path: string; mode: string; from: 'ConfigMap' | 'Secret' }> = {};
  const cm: Record<string, string> = {};
  const secret: Record<string, string> = {};
  const put = (key: string, path: string, mode: string, content: string | undefined, from: 'ConfigMap' | 'Secret' = 'ConfigMap'): void => {
    if (content === undefined) return;
    manifest[key] = { path, mode, from };
    (from === 'Secret' ? secret : cm)[key] = content;
  };
  put('containerd.quay.io.hosts.toml', HOSTS_PATH, '0644', files.hosts);
  put('containerd.quay.io.mirror.example_5000_.crt', CA_PATH, '0644', files.ca);
  put('registries.conf', CONF_PATH, '0644', files.conf);
  put('containers.auth.json', AUTH_PATH, '0600', files.auth, 'Secret');
  const configMapData = { ...cm, 'files.json': JSON.stringify(manifest) };
  const secretData = { ...secret, [CONTENT_HASH_KEY]: 'a'.repeat(64) };
  return {
    configMapRef: 'ConfigMap image-mirror-system/cluster-image-mirrors',
    secretRef: 'Secret image-mirror-system/cluster-image-mirrors',
    configMapData,
    secretData,
    // As the operator publishes it (src/contract.ts): the agent installs nothing else.
    contentHash: outputContentHash(configMapData, Object.keys(secret).length > 0 ? secretData : undefined),
  };
}

describe('agent apply (temporary root)', () => {
  let root: string;
  let opts: SyncOptions;
  const at = (p: string): string => join(root, p);
  const read = (p: string): Promise<string> => readFile(at(p), 'utf8');
  const modeOf = async (p: string): Promise<string> => ((await stat(at(p))).mode & 0o777).toString(8);
  const okSync = async (pub: Published): Promise<Extract<SyncResult, { ok: true }>> => {
    const r = await syncFiles(pub, opts);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    expect(r.report.errors).to.deep.equal([]);
    return r;
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'imc-agent-'));
    opts = { root, statePath: DEFAULT_STATE_PATH, allowedRoots: DEFAULT_ALLOWED_ROOTS };
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes every file with its mode, its marker and its parents, and records them', async () => {
    const r = await okSync(published());
    expect(r.report.written).to.have.members([HOSTS_PATH, CA_PATH, CONF_PATH, AUTH_PATH]);
    expect(await read(HOSTS_PATH)).to.equal(`${MARKER_LINE}\n${HOSTS}`);
    expect(await read(CA_PATH)).to.equal(`${MARKER_LINE}\n${CA}`);
    expect(JSON.parse(await read(AUTH_PATH))).to.deep.equal({ 'imagemirror.io/managed-by': 'image-mirror-agent', auths: {} });
    expect(await modeOf(HOSTS_PATH)).to.equal('644');
    expect(await modeOf(AUTH_PATH)).to.equal('600');
    const state = JSON.parse(await read(DEFAULT_STATE_PATH)) as { files: string[]; dirs: string[]; contentHash: string };
    expect(state.files).to.deep.equal([CA_PATH, HOSTS_PATH, AUTH_PATH, CONF_PATH].sort());
    expect(state.dirs).to.include('/etc/containerd/certs.d/quay.io');
    expect(state.contentHash)
      .to.equal(published().contentHash)
      .and.match(/^sha256:[0-9a-f]{64}$/);
    // No temporary file is left behind.
    expect(await readdir(at('/etc/containerd/certs.d/quay.io'))).to.deep.equal(['hosts.toml', 'mirror.example_5000_.crt']);
  });

  it('honours the mode whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await okSync(published());
    } finally {
      process.umask(old);
    }
    expect(await modeOf(HOSTS_PATH)).to.equal('644');
  });

  it('unchanged content: zero writes, mtime and inode unchanged', async () => {
    await okSync(published());
    const before = await stat(at(HOSTS_PATH));
    await new Promise((r) => setTimeout(r, 20));
    const r = await okSync(published());
    expect(r.changed).to.equal(false);
    expect(r.report.written).to.deep.equal([]);
    expect(r.report.unchanged).to.have.length(4);
    const after = await stat(at(HOSTS_PATH));
    expect(after.mtimeMs).to.equal(before.mtimeMs);
    expect(after.ino).to.equal(before.ino);
  });

  it('replaces a changed file by rename: a reader holding the old file still sees it whole', async () => {
    await okSync(published());
    const before = await stat(at(HOSTS_PATH));
    const fh = await open(at(HOSTS_PATH), 'r');
    try {
      const r = await okSync(published({ hosts: HOSTS.replace('5000', '5001'), ca: CA, conf: CONF, auth: '{"auths":{}}' }));
      expect(r.report.written).to.deep.equal([HOSTS_PATH]);
      expect((await stat(at(HOSTS_PATH))).ino).not.to.equal(before.ino);
      expect(await read(HOSTS_PATH)).to.include('mirror.example:5001');
      expect(await fh.readFile('utf8')).to.equal(`${MARKER_LINE}\n${HOSTS}`);
    } finally {
      await fh.close();
    }
  });

  it('fixes a wrong mode with chmod alone', async () => {
    await okSync(published());
    await chmod(at(AUTH_PATH), 0o644);
    const mtime = (await stat(at(AUTH_PATH))).mtimeMs;
    const r = await okSync(published());
    expect(r.report.modeFixed).to.deep.equal([AUTH_PATH]);
    expect(await modeOf(AUTH_PATH)).to.equal('600');
    expect((await stat(at(AUTH_PATH))).mtimeMs).to.equal(mtime);
  });

  it('leaves a foreign file (no marker) untouched and reports it, writing the rest', async () => {
    await mkdir(at('/etc/containerd/certs.d/quay.io'), { recursive: true });
    await writeFile(at(HOSTS_PATH), 'server = "https://mine"\n', { mode: 0o640 });
    const r = await okSync(published());
    expect(r.report.foreign).to.deep.equal([{ path: HOSTS_PATH, why: 'exists without the image-mirror marker' }]);
    expect(await read(HOSTS_PATH)).to.equal('server = "https://mine"\n');
    expect(await modeOf(HOSTS_PATH)).to.equal('640');
    expect(r.report.written).to.have.members([CA_PATH, CONF_PATH, AUTH_PATH]);
    const state = JSON.parse(await read(DEFAULT_STATE_PATH)) as { files: string[] };
    expect(state.files).not.to.include(HOSTS_PATH);
    // Nor is it removed once no longer published.
    await okSync(published({}));
    expect(await read(HOSTS_PATH)).to.equal('server = "https://mine"\n');
  });

  it('removes only owned files no longer published, and the empty directories it created', async () => {
    await mkdir(at('/etc/containerd/certs.d'), { recursive: true });
    await writeFile(at('/etc/containerd/certs.d/docker.io.toml'), 'x = 1\n');
    await okSync(published());
    const r = await okSync(published({ conf: CONF }));
    expect(r.report.removed).to.deep.equal([HOSTS_PATH, AUTH_PATH, CA_PATH]);
    expect(r.report.removedDirs).to.deep.equal(['/etc/containerd/certs.d/quay.io']);
    // The directory that existed before, and the foreign file in it, stay.
    expect(await readdir(at('/etc/containerd/certs.d'))).to.deep.equal(['docker.io.toml']);
    expect(await read(CONF_PATH)).to.include('mirror.example:5000');
    const state = JSON.parse(await read(DEFAULT_STATE_PATH)) as { files: string[] };
    expect(state.files).to.deep.equal([CONF_PATH]);
  });

  it('does not remove an owned file somebody replaced (marker gone), and forgets it', async () => {
    await okSync(published());
    await writeFile(at(HOSTS_PATH), 'server = "https://edited"\n');
    const r = await okSync(published({ conf: CONF }));
    expect(r.report.foreign.map((f) => f.path)).to.deep.equal([HOSTS_PATH]);
    expect(await read(HOSTS_PATH)).to.equal('server = "https://edited"\n');
    const state = JSON.parse(await read(DEFAULT_STATE_PATH)) as { files: string[] };
    expect(state.files).to.deep.equal([CONF_PATH]);
  });

  it('bad content keeps the previous files and state', async () => {
    await okSync(published());
    const stateBefore = await read(DEFAULT_STATE_PATH);
    const mtime = (await stat(at(CONF_PATH))).mtimeMs;
    const r = await syncFiles(published({ hosts: 'server = "unterminated\n', ca: CA, conf: CONF.replace('5000', '6000') }), opts);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.errors.map((e) => e.reason)).to.deep.equal(['InvalidContent']);
    expect(await read(HOSTS_PATH)).to.equal(`${MARKER_LINE}\n${HOSTS}`);
    expect(await read(CONF_PATH)).to.include('mirror.example:5000');
    expect((await stat(at(CONF_PATH))).mtimeMs).to.equal(mtime);
    expect(await read(AUTH_PATH)).to.include('managed-by');
    expect(await read(DEFAULT_STATE_PATH)).to.equal(stateBefore);
  });

  it('a deleted ConfigMap removes every owned file and directory', async () => {
    await okSync(published());
    const r = await okSync({ ...published(), configMapData: undefined, secretData: undefined });
    expect(r.report.removed).to.have.length(4);
    // Every directory up to /etc was created by the agent here, so all of it goes; the state file stays.
    expect(await readdir(root)).to.deep.equal(['var']);
  });

  it('refuses to write through a symbolic link below the root', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'imc-agent-outside-'));
    try {
      await mkdir(at('/etc/containerd'), { recursive: true });
      await symlink(outside, at('/etc/containerd/certs.d'));
      const r = await syncFiles(published(), opts);
      if (!r.ok) throw new Error('plan should be valid');
      expect(r.report.errors.map((e) => [e.path, e.message])).to.deep.equal([
        [CA_PATH, 'refusing to write below /etc/containerd/certs.d: it is a symbolic link'],
        [HOSTS_PATH, 'refusing to write below /etc/containerd/certs.d: it is a symbolic link'],
      ]);
      expect(await readdir(outside)).to.deep.equal([]);
      expect(r.report.written).to.have.members([CONF_PATH, AUTH_PATH]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('never follows a symbolic link at the file path itself', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'imc-agent-outside-'));
    try {
      await writeFile(join(outside, 'target'), `${MARKER_LINE}\nkeep = 1\n`);
      await mkdir(at('/etc/containers/registries.conf.d'), { recursive: true });
      await symlink(join(outside, 'target'), at(CONF_PATH));
      const r = await okSync(published());
      expect(r.report.foreign).to.deep.equal([{ path: CONF_PATH, why: 'is a symbolic link' }]);
      expect(await readFile(join(outside, 'target'), 'utf8')).to.equal(`${MARKER_LINE}\nkeep = 1\n`);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('finds its files again by their marker when the state file is lost', async () => {
    await okSync(published());
    await unlink(at(DEFAULT_STATE_PATH));
    const r = await okSync({ ...published(), configMapData: undefined, secretData: undefined });
    expect(r.recovered).to.match(/not found/);
    expect(r.report.removed).to.have.members([HOSTS_PATH, CA_PATH, CONF_PATH, AUTH_PATH]);
  });
});
