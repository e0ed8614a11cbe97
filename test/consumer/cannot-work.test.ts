// Inputs the upstream grammar accepts but the consumers cannot use, and what
// image-mirror says about each (docs/api.md "Valid but cannot work"). Where
// the CLI refuses an input, the files a renderer that accepted it would
// write (as OpenShift's does: sources and mirrors are copied as written) are
// written by hand here, to show what the real consumer does with them.
import { expect } from 'chai';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { idms, itms, plainHTTP, registryAccess, type Doc } from './lib/inputs.js';
import { tempDir, removeDir } from './lib/proc.js';
import type { Registry } from './lib/registry.js';
import { render, renderOk, type Rendered } from './lib/render.js';
import type { RunResult } from './lib/proc.js';
import { containerdRuntimes, containersImageRuntimes } from './lib/runtimes.js';
import { copyOnNode } from './lib/skopeo.js';
import { explain, manifestRequests, statusesOf, World, type TestImage } from './lib/world.js';

/**
 * The consumer versions as plain pullers of a tree (some trees here are
 * written by hand, so the pulls bypass consumers() and its oracle).
 */
interface Puller {
  name: string;
  pull(tree: Rendered, ref: string): Promise<RunResult>;
}

/** skopeo 1.9.3 and the current containers/image. */
const containersImage = (): Puller[] => containersImageRuntimes().map((rt) => ({ name: rt.label, pull: (t, ref) => copyOnNode(t.out, ref, rt.bin) }));

/** Those plus containerd 1.6.20 and 2.x. */
const everyConsumer = (world: World): Puller[] => [
  ...containersImage(),
  ...containerdRuntimes().map((rt): Puller => ({ name: rt.label, pull: async (t, ref) => (await world.containerd(rt)).fetch(t.hostsDir, ref) })),
];

const DROP_IN = 'etc/containers/registries.conf.d/99-image-mirrors.conf';

/** A node file tree written by hand (paths relative to /), shaped like the CLI's --out. */
async function handWritten(files: Record<string, string>, dirs: string[]): Promise<Rendered> {
  const out = await tempDir('hand-written');
  dirs.push(out);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path), content);
  }
  await mkdir(join(out, 'etc/containerd/certs.d'), { recursive: true });
  return { out, hostsDir: join(out, 'etc/containerd/certs.d'), result: { code: 0, stdout: '', stderr: '', command: '(written by hand)' } };
}

function errorLines(r: Rendered): string[] {
  return r.result.stderr.split('\n').filter((l) => l.startsWith('error: '));
}

describe('consumer: inputs that are valid but cannot work', function () {
  const world = new World();
  const dirs: string[] = [];
  let source: Registry;
  let mirror: Registry;
  let onSource: TestImage;
  let onMirror: TestImage;

  before(async function () {
    [source, mirror] = await Promise.all([world.registry(), world.registry()]);
    [onSource, onMirror] = await Promise.all([world.image('cannot-work-source'), world.image('cannot-work-mirror')]);
    await Promise.all([world.push(onSource, source, 'team/app'), world.push(onMirror, mirror, 'team/app'), world.push(onMirror, mirror, 'cache/team/app')]);
  });
  after(async () => {
    await world.stop();
    await Promise.all(dirs.map(removeDir));
  });
  beforeEach(() => world.clearLogs());

  describe('a bare-host mirror of a repository source', () => {
    const entry = (): { source: string; mirrors: string[] } => ({ source: `${source.host}/team/app`, mirrors: ['localhost'] });

    it('the CLI refuses it: InvalidMirror naming the mirror and the path it needs', async () => {
      const r = await render([idms('bare', [entry()]), itms('bare', [entry()])]);
      expect(r.result.code, r.result.stderr).to.equal(1);
      const lines = errorLines(r);
      expect(lines.length, r.result.stderr).to.equal(2);
      for (const l of lines)
        expect(l)
          .to.include('mirror "localhost" is a bare host')
          .and.include('"localhost/team/app"')
          .and.match(/\[InvalidMirror\]$/);
    });

    it('skopeo 1.9.3 and containers/image 5.42.1: every pull through such an entry fails before any registry is asked ("repository name must be canonical")', async () => {
      const tree = await handWritten(
        {
          [DROP_IN]: `[[registry]]\nprefix = "${source.host}/team/app"\nlocation = "${source.host}/team/app"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "localhost"\n`,
        },
        dirs,
      );
      for (const [c, ref] of containersImage().flatMap((c) =>
        [`${source.host}/team/app:v1`, `${source.host}/team/app@${onSource.manifestDigest}`].map((ref) => [c, ref] as const),
      )) {
        const r = await c.pull(tree, ref);
        const why = `${c.name}: ${await explain(tree, r, { source })}`;
        expect(r.code, why).to.not.equal(0);
        expect(r.stderr, why).to.include('rewriting reference: repository name must be canonical');
        // The source holds the image: it was never asked, the pull failed while rewriting the reference.
        expect(source.connections(), why).to.equal(0);
      }
    });

    it('with the repository path on the mirror, the same entry renders and the pull is served by the mirror (both containers/image versions)', async () => {
      const fixed = [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`] }];
      const r = await renderOk([itms('fixed', fixed), registryAccess('plain', plainHTTP(source.host, mirror.host))]);
      for (const c of containersImage()) {
        world.clearLogs();
        const pulled = await c.pull(r, `${source.host}/team/app:v1`);
        const why = `${c.name}: ${await explain(r, pulled, { source, mirror })}`;
        expect(pulled.code, why).to.equal(0);
        expect(statusesOf(mirror, '/v2/team/app/manifests/v1'), why).to.deep.equal([200]);
        expect(source.connections(), why).to.equal(0);
      }
    });
  });

  describe('a wildcard source', () => {
    it('the CLI renders it with a WildcardPort warning per mirror', async () => {
      const r = await renderOk([
        itms('wild', [{ source: '*.example.test', mirrors: [`${mirror.host}/cache`] }]),
        registryAccess('plain', plainHTTP(mirror.host)),
      ]);
      const warning = r.result.stderr.split('\n').find((l) => l.endsWith('[WildcardPort]'));
      expect(warning, r.result.stderr).to.include(`a pull of a.example.test:5000/ns/app becomes "${mirror.host}/cache:5000/ns/app"`);
    });

    it('skopeo 1.9.3 and containers/image 5.42.1: a mirror with a path serves pulls without a port, and a pull with a port fails on the rewritten reference', async () => {
      const r = await renderOk([
        itms('wild', [{ source: '*.example.test', mirrors: [`${mirror.host}/cache`] }]),
        registryAccess('plain', plainHTTP(mirror.host)),
      ]);
      for (const c of containersImage()) {
        world.clearLogs();
        const plain = await c.pull(r, 'a.example.test/team/app:v1');
        let why = `${c.name}: ${await explain(r, plain, { mirror })}`;
        expect(plain.code, why).to.equal(0);
        expect(statusesOf(mirror, '/v2/cache/team/app/manifests/v1'), why).to.deep.equal([200]);

        world.clearLogs();
        const withPort = await c.pull(r, 'a.example.test:5000/team/app:v1');
        why = `${c.name}: ${await explain(r, withPort, { mirror })}`;
        expect(withPort.code, why).to.not.equal(0);
        expect(withPort.stderr, why).to.include('rewriting reference: invalid reference format');
        expect(mirror.requests(), why).to.deep.equal([]);
      }
    });

    it("skopeo 1.9.3 and containers/image 5.42.1: a bare mirror host is contacted on the pulled host's port", async () => {
      // 127.0.0.1 without a port: the mirror's own port would be 443. The pull names the test mirror's port instead.
      const r = await renderOk([
        itms('wild', [{ source: '*.example.test', mirrors: ['127.0.0.1'] }]),
        registryAccess('insecure', [], { insecureRegistries: ['127.0.0.1'] }),
      ]);
      expect(r.result.stderr).to.include(`goes to "127.0.0.1:5000/ns/app", port 5000 of the mirror instead of its own`);
      const port = mirror.host.split(':')[1];
      for (const c of containersImage()) {
        world.clearLogs();
        const pulled = await c.pull(r, `a.example.test:${port}/team/app:v1`);
        const why = `${c.name}: ${await explain(r, pulled, { mirror })}`;
        expect(pulled.code, why).to.equal(0);
        expect(statusesOf(mirror, '/v2/team/app/manifests/v1'), why).to.deep.equal([200]);
      }
    });
  });

  describe('an upper-case host', () => {
    const port = (): string => source.host.split(':')[1]!;
    const docs = (host: string): Doc[] => [
      idms('upper', [{ source: `${host}:${port()}/team/app`, mirrors: [`${mirror.host}/team/app`], mirrorSourcePolicy: 'NeverContactSource' }]),
      registryAccess('plain', plainHTTP(mirror.host)),
    ];

    it('the CLI refuses it and says how to write it', async () => {
      const r = await render(docs('LOCALHOST'));
      expect(r.result.code, r.result.stderr).to.equal(1);
      expect(errorLines(r)[0])
        .to.include(`host names must be lower case (write "localhost:${port()}/team/app")`)
        .and.match(/\[InvalidSource\]$/);
    });

    it('written as is, no consumer version applies the rule to a pull of the host: the blocked source is contacted', async () => {
      const upper = `LOCALHOST:${port()}`;
      const tree = await handWritten(
        {
          [DROP_IN]:
            `[[registry]]\nprefix = "${upper}/team/app"\nlocation = "${upper}/team/app"\nblocked = true\nmirror-by-digest-only = true\n\n` +
            `[[registry.mirror]]\nlocation = "${mirror.host}/team/app"\ninsecure = true\n`,
          [`etc/containerd/certs.d/LOCALHOST_${port()}_/hosts.toml`]:
            `server = "http://${mirror.host}/v2/team"\noverride_path = true\ncapabilities = ["pull"]\n\n` +
            `[host."http://${mirror.host}/v2/team"]\ncapabilities = ["pull"]\noverride_path = true\nskip_verify = true\n`,
        },
        dirs,
      );
      const ref = `localhost:${port()}/team/app@${onSource.manifestDigest}`;
      for (const c of everyConsumer(world)) {
        world.clearLogs();
        const r = await c.pull(tree, ref);
        const why = `${c.name}: ${await explain(tree, r, { source, mirror })}`;
        expect(source.connections(), why).to.be.greaterThan(0);
        expect(manifestRequests(mirror, 'team/app'), why).to.deep.equal([]);
      }
    });

    it('written in lower case, as the message says, every consumer version pulls from the mirror and never contacts the source', async () => {
      const r = await renderOk(docs('localhost'));
      const ref = `localhost:${port()}/team/app@${onMirror.manifestDigest}`;
      for (const c of everyConsumer(world)) {
        world.clearLogs();
        const pulled = await c.pull(r, ref);
        const why = `${c.name}: ${await explain(r, pulled, { source, mirror })}`;
        expect(pulled.code, why).to.equal(0);
        expect(statusesOf(mirror, `/v2/team/app/manifests/${onMirror.manifestDigest}`), why).to.deep.equal([200]);
        expect(source.connections(), why).to.equal(0);
      }
    });
  });
});
