// The CLI as users and other tools drive it: exit codes, stderr, and that
// invalid input writes nothing. Runs the real binary (bin/image-mirror).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPaths } from '../../src/cli/render.js';
import { FileObjectSource, loadPaths } from '../../src/model/files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/image-mirror');
const INVALID = join(ROOT, 'test/fixtures/invalid');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `fn` over `items`, `limit` at a time (each run is a Node process). */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

/** `--target` for fixtures about a NodePool; the cluster target otherwise. */
function targetArgs(path: string): string[] {
  const np = new FileObjectSource(loadPaths([path]).objects).nodePools()[0];
  return np ? ['--target', `${np.metadata.namespace}/${np.metadata.name}`] : [];
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

describe('cli: render and validate', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'image-mirror-cli-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('renders the examples: exit 0, the node tree on disk, one line per file on stdout', async () => {
    const r = await cli(['render', '--out', out, 'examples/cluster']);
    expect(r.code, r.stderr).to.equal(0);
    const written = files(out).sort();
    expect(written).to.include('etc/containers/registries.conf.d/99-image-mirrors.conf');
    expect(written.some((f) => /^etc\/containerd\/certs\.d\/[^/]+\/hosts\.toml$/.test(f))).to.equal(true);
    expect(r.stdout.trim().split('\n').sort()).to.deep.equal(written);
  });

  it('writes files with credentials as 0600 and the rest as 0644', async () => {
    const r = await cli(['render', '--out', out, 'examples/cluster']);
    expect(r.code, r.stderr).to.equal(0);
    expect(statSync(join(out, 'etc/containers/auth.json')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(out, 'etc/containers/registries.conf.d/99-image-mirrors.conf')).mode & 0o777).to.equal(0o644);
  });

  it('prints warnings on stderr, one per line, and still exits 0', async () => {
    const r = await cli(['render', '--target', 'clusters/demo-workers', '--nodepool-agent-files', 'all', '--out', out, 'examples/hypershift']);
    expect(r.code, r.stderr).to.equal(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings.length).to.be.greaterThan(0);
    for (const w of warnings) {
      expect(w).to.match(
        / \[(NotExpressible|HostWideWidening|TagOnlyApproximated|NoCatchAllInRegistriesConf|CredentialsOmitted)\]( \(containerd files only\))?$/,
      );
    }
  });

  it('a NodePool target: no containerd files and no containerd warnings by default; with agent files "all", both, the warnings marked', async () => {
    const args = ['render', '--target', 'clusters/demo-workers', 'examples/hypershift', 'examples/cluster'];
    const crio = await cli([...args, '--out', join(out, 'crio')]);
    expect(crio.code, crio.stderr).to.equal(0);
    const lines = (r: { stderr: string }): string[] => r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(lines(crio).map((w) => w.split(':')[1]?.trim())).to.deep.equal(['machineconfig']);
    expect(files(join(out, 'crio')).some((f) => f.includes('containerd'))).to.equal(false);
    const all = await cli([...args, '--nodepool-agent-files', 'all', '--out', join(out, 'all')]);
    expect(all.code, all.stderr).to.equal(0);
    const containerd = lines(all).filter((w) => w.startsWith('warning: containerd: '));
    expect(containerd).to.have.length(5);
    for (const w of containerd) expect(w).to.match(/\[HostWideWidening\] \(containerd files only\)$/);
    expect(files(join(out, 'all')).some((f) => f.startsWith('etc/containerd/certs.d/'))).to.equal(true);
  });

  it('exit 2 on usage errors: no --out, unknown command, a malformed --target', async () => {
    for (const args of [['render', 'examples/cluster'], ['frobnicate'], ['render', '--target', 'NotValid', '--out', out, 'examples']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(/^error: /m);
    }
    expect(files(out)).to.deep.equal([]);
  });

  it('--machineconfig writes the NodePool MachineConfig, the same bytes as the output key `config`', async () => {
    const mc = join(out, 'mc.json');
    const r = await cli(['render', '--target', 'clusters/demo-workers', '--out', join(out, 'tree'), '--machineconfig', mc, 'examples/hypershift']);
    expect(r.code, r.stderr).to.equal(0);
    const rendered = renderPaths(['examples/hypershift'], { kind: 'NodePool', namespace: 'clusters', name: 'demo-workers' }).rendered;
    expect(rendered?.outcome.ok).to.equal(true);
    const want = rendered?.outcome.ok ? rendered.outcome.configMapData.config : undefined;
    expect(readFileSync(mc, 'utf8')).to.equal(want);
    expect(JSON.parse(readFileSync(mc, 'utf8')).kind).to.equal('MachineConfig');
    const noTarget = await cli(['render', '--out', join(out, 't2'), '--machineconfig', mc, 'examples/cluster']);
    expect(noTarget.code).to.equal(2);
  });

  it('exit 1 for a NodePool that is not in the input, naming it', async () => {
    const r = await cli(['render', '--target', 'clusters/nope', '--out', out, 'examples/hypershift']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('nope');
    expect(files(out)).to.deep.equal([]);
  });

  it('every invalid fixture: exit 1, its reason and message on stderr, no stack trace, nothing written', async function () {
    this.timeout(180_000);
    const names = readdirSync(INVALID)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(names.length).to.be.at.least(30);
    const failures = await pool(names, 3, async (name) => {
      const path = join(INVALID, name);
      const m = /^# expect: ([A-Za-z]+): (.+)$/m.exec(readFileSync(path, 'utf8'));
      if (!m?.[1] || !m[2]) return `${name}: no "# expect:" header`;
      const dir = mkdtempSync(join(out, 'f-'));
      const r = await cli(['render', ...targetArgs(path), '--out', dir, path]);
      const line = r.stderr.split('\n').find((l) => l.endsWith(`[${m[1]}]`) && l.includes(m[2]!));
      if (r.code !== 1) return `${name}: exit ${r.code}, want 1\n${r.stderr}`;
      if (!line) return `${name}: no "${m[1]}" error containing ${JSON.stringify(m[2])}:\n${r.stderr}`;
      if (/\n\s+at /.test(r.stderr)) return `${name}: stack trace on stderr`;
      if (files(dir).length > 0) return `${name}: wrote ${files(dir).join(', ')}`;
      return undefined;
    });
    expect(failures.filter(Boolean)).to.deep.equal([]);
  });
});
