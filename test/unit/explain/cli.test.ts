// `image-mirror explain` and the kubectl plugin as users and tools run them:
// exit codes, output formats. Runs the real binaries.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { Explanation } from '../../../src/explain/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const D = `sha256:${'f'.repeat(64)}`;

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(ROOT, 'bin', bin), args, { cwd: ROOT, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('cli: explain', function () {
  this.timeout(60_000);
  let dir: string;
  let input: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'explain-cli-'));
    input = join(dir, 'idms.yaml');
    writeFileSync(
      input,
      [
        'apiVersion: imagemirror.io/v1alpha1',
        'kind: ImageDigestMirrorSet',
        'metadata: {name: release}',
        'spec:',
        '  imageDigestMirrors:',
        '  - source: quay.io/ns/app',
        '    mirrors: [mirror.example:5000/ns/app]',
        '    mirrorSourcePolicy: NeverContactSource',
        '',
      ].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exit 0 and a human explanation for a reference that can be pulled', async () => {
    const r = await run('image-mirror', ['explain', `quay.io/ns/app@${D}`, input]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`GET https://mirror.example:5000/v2/ns/app/manifests/${D}`);
    expect(r.stdout).to.include(`HEAD https://mirror.example:5000/v2/ns/app/manifests/${D}?ns=quay.io`);
    expect(r.stdout).to.include('from ImageDigestMirrorSet release');
  });

  it('exit 3 when a runtime cannot pull it (NeverContactSource, digest mirrors only, pulled by tag)', async () => {
    const r = await run('image-mirror', ['explain', 'quay.io/ns/app:v1', input]);
    expect(r.code).to.equal(3);
    expect(r.stdout).to.include('CANNOT BE PULLED');
  });

  it('--runtime limits the explanation and the exit code to one runtime', async () => {
    const r = await run('image-mirror', ['explain', '-o', 'json', '--runtime', 'containerd', `quay.io/ns/app@${D}`, input]);
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as Explanation).runtimes.map((x) => x.runtime)).to.deep.equal(['containerd']);
  });

  it('-o json and -o yaml give the same data', async () => {
    const [j, y] = await Promise.all([
      run('image-mirror', ['explain', '-o', 'json', `quay.io/ns/app@${D}`, input]),
      run('image-mirror', ['explain', '-o', 'yaml', `quay.io/ns/app@${D}`, input]),
    ]);
    expect(j.code).to.equal(0);
    expect(load(y.stdout)).to.deep.equal(JSON.parse(j.stdout));
    const e = JSON.parse(j.stdout) as Explanation;
    expect(e.reference).to.include({ kind: 'digest', registry: 'quay.io', repository: 'ns/app' });
  });

  it('exit 1 for invalid input, with the precise error', async () => {
    const r = await run('image-mirror', ['explain', `quay.io/ns/app@${D}`, join(ROOT, 'test/fixtures/invalid/mirror-scheme.yaml')]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('[InvalidMirror]');
  });

  it('exit 2 for a malformed image reference or option', async () => {
    const [bad, opt] = await Promise.all([
      run('image-mirror', ['explain', 'quay.io/NS/app', input]),
      run('image-mirror', ['explain', '-o', 'xml', `quay.io/ns/app@${D}`, input]),
    ]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('lower-case');
    expect(opt.code).to.equal(2);
  });

  it('the kubectl plugin runs the same command', async () => {
    const r = await run('kubectl-image_mirror', ['explain', '-o', 'json', `quay.io/ns/app@${D}`, input]);
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as Explanation).runtimes).to.have.length(2);
  });

  it('without PATHs and without a cluster it says how to proceed (exit 1)', async () => {
    const env = { ...process.env, KUBECONFIG: join(dir, 'missing-kubeconfig'), HOME: dir };
    const r = await run('kubectl-image_mirror', ['explain', `quay.io/ns/app@${D}`], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/kubeconfig|cluster/);
  });
});
