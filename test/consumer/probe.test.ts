// The node agent's mirror probes against real registries (docker-registry
// 2.8 behind the recording proxy), with files rendered by the CLI and read as
// installed: TLS with the right CA, a wrong CA and none; basic auth right,
// wrong and missing; docker-registry's token authentication with a local
// token service, right and wrong; a mirror that accepts connections and
// never answers (plain and TLS); a refused port; and a probe image.
import { expect } from 'chai';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { parseImageRef } from '../../src/explain/reference.js';
import { NodeFiles } from '../../src/explain/node-files.js';
import { ProbeMetrics } from '../../src/agent/probe/metrics.js';
import { probe, type ProbeResult } from '../../src/agent/probe/probe.js';
import { Prober } from '../../src/agent/probe/prober.js';
import { conditionOf } from '../../src/agent/probe/summary.js';
import { probeTargets, type ProbeTarget } from '../../src/agent/probe/targets.js';
import { basicAuthSecret, configMap, idms, NS, registryAccess, type Doc, type HostSpec } from './lib/inputs.js';
import { freePort, removeDir, tempDir } from './lib/proc.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { makeServerCert, type TlsMaterial } from './lib/tls.js';
import { startTokenService, type TokenService } from './lib/token-auth.js';
import { World, type TestImage } from './lib/world.js';

const USER = 'prober';
const PASSWORD = 'probe-test-password';
const TIMEOUT_MS = 1_500;

/** A TCP server that accepts every connection and never sends a byte. */
async function silentServer(): Promise<{ host: string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** The rendered tree as a node has it: node path -> content. */
async function installed(out: string): Promise<{ files: NodeFiles; paths: string[] }> {
  const views: Array<{ path: string; content: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else views.push({ path: `/${relative(out, p)}`, content: await readFile(p, 'utf8') });
    }
  };
  await walk(out);
  return { files: new NodeFiles(views), paths: views.map((v) => v.path) };
}

describe('consumer: mirror probes from the node', function () {
  this.timeout(120_000);
  const world = new World();
  const names = [
    'tls-good',
    'tls-wrong-ca',
    'tls-no-ca',
    'basic-good',
    'basic-wrong',
    'basic-missing',
    'token-good',
    'token-wrong',
    'silent',
    'silent-tls',
    'refused',
  ] as const;
  type Name = (typeof names)[number];
  const host: Partial<Record<Name, string>> = {};
  let tokens: TokenService;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let silentTls: Awaited<ReturnType<typeof silentServer>>;
  let tlsDir: string;
  let tlsA: TlsMaterial;
  let tlsB: TlsMaterial;
  let img: TestImage;
  let rendered: Rendered;
  let targets: ProbeTarget[];
  const results = new Map<string, ProbeResult>();

  before(async function () {
    tlsDir = await tempDir('probe-tls');
    await Promise.all(['a', 'b', 'token'].map((d) => mkdir(join(tlsDir, d))));
    [tlsA, tlsB] = await Promise.all([makeServerCert(join(tlsDir, 'a'), 'probe CA A'), makeServerCert(join(tlsDir, 'b'), 'probe CA B')]);
    tokens = await startTokenService(join(tlsDir, 'token'), { username: USER, password: PASSWORD });
    const tokenAuth = { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.rootCertBundle };
    const regs: Record<string, Registry> = {};
    const started = await Promise.all([
      world.registry({ tls: tlsA }),
      world.registry({ tls: tlsB }),
      world.registry({ tls: tlsA }),
      world.registry({ auth: { username: USER, password: PASSWORD } }),
      world.registry({ auth: { username: USER, password: PASSWORD } }),
      world.registry({ auth: { username: USER, password: PASSWORD } }),
      world.registry({ tokenAuth }),
      world.registry({ tokenAuth }),
    ]);
    names.slice(0, 8).forEach((n, i) => {
      const r = started[i]!;
      regs[n] = r;
      host[n] = r.host;
    });
    [silent, silentTls] = await Promise.all([silentServer(), silentServer()]);
    host.silent = silent.host;
    host['silent-tls'] = silentTls.host; // reached over TLS: no plainHTTP for it
    host.refused = `127.0.0.1:${await freePort()}`;
    img = await world.image('probe-image');
    await world.push(img, regs['tls-good']!, 'tls-good');

    const secret = (name: string, password: string): Doc => basicAuthSecret(name, USER, password);
    const creds = (name: string): NonNullable<HostSpec['credentialsSecretRef']> => ({ namespace: NS, name });
    const ca = (name: string): NonNullable<HostSpec['ca']> => ({ configMapKeyRef: { namespace: NS, name, key: 'ca.crt' } });
    const hosts: HostSpec[] = [
      { host: host['tls-good']!, ca: ca('ca-a') },
      { host: host['tls-wrong-ca']!, ca: ca('ca-a') }, // served with CA B's certificate
      { host: host['basic-good']!, plainHTTP: true, credentialsSecretRef: creds('right') },
      { host: host['basic-wrong']!, plainHTTP: true, credentialsSecretRef: creds('wrong') },
      { host: host['basic-missing']!, plainHTTP: true },
      { host: host['token-good']!, plainHTTP: true, credentialsSecretRef: creds('right') },
      { host: host['token-wrong']!, plainHTTP: true, credentialsSecretRef: creds('wrong') },
      { host: host.silent!, plainHTTP: true },
      { host: host.refused!, plainHTTP: true },
    ];
    rendered = await renderOk([
      idms(
        'probed',
        names.map((n) => ({ source: `src.example/${n}`, mirrors: [`${host[n]}/${n}`] })),
      ),
      registryAccess('probe-access', hosts),
      configMap('ca-a', { 'ca.crt': tlsA.caPEM }),
      secret('right', PASSWORD),
      secret('wrong', 'not-the-password'),
    ]);
    const { files, paths } = await installed(rendered.out);
    const ref = parseImageRef(`src.example/tls-good@${img.manifestDigest}`);
    if (!ref.ok) throw new Error(ref.error);
    targets = probeTargets(files, paths, ref.ref).targets;
    await Promise.all(targets.map(async (t) => results.set(t.id, await probe(t, { timeoutMs: TIMEOUT_MS }))));
  });
  after(async () => {
    await world.stop();
    await tokens?.stop();
    await silent?.stop();
    await silentTls?.stop();
    await removeDir(tlsDir);
  });

  /** The result for mirror `n` as `runtime` uses it. */
  const of = (n: Name, runtime: 'containerd' | 'containers-image'): { target: ProbeTarget; result: ProbeResult } => {
    const target = targets.find((t) => t.mirror === host[n] && t.runtimes.includes(runtime));
    if (!target) throw new Error(`no ${runtime} probe target for ${n} (${host[n]}): ${targets.map((t) => `${t.mirror} ${t.runtimes}`).join(', ')}`);
    return { target, result: results.get(target.id)! };
  };
  const why = (r: ProbeResult): string => JSON.stringify(r);

  for (const runtime of ['containerd', 'containers-image'] as const) {
    it(`${runtime}: TLS with the installed CA: reachable over HTTPS, anonymous`, () => {
      const { result } = of('tls-good', runtime);
      expect(result, why(result)).to.include({ ok: true, scheme: 'https', auth: 'anonymous' });
    });

    it(`${runtime}: TLS with a CA that did not sign the certificate: x509 unknown authority`, () => {
      const { result } = of('tls-wrong-ca', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'tls-unknown-authority' });
      expect(result.message).to.match(/^x509: certificate signed by unknown authority/);
    });

    it(`${runtime}: TLS with no CA installed: system CAs only, unknown authority`, () => {
      const { result } = of('tls-no-ca', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'tls-unknown-authority' });
      expect(result.message).to.include('no CA installed');
    });

    it(`${runtime}: basic auth with the installed credentials is accepted`, () => {
      const { target, result } = of('basic-good', runtime);
      expect(target.authFrom).to.equal(runtime === 'containerd' ? 'header' : 'auth.json');
      expect(result, why(result)).to.include({ ok: true, scheme: 'http', auth: 'basic' });
    });

    it(`${runtime}: basic auth with wrong credentials is rejected, and the message has no credential`, () => {
      const { result } = of('basic-wrong', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'auth-rejected' });
      expect(JSON.stringify(result)).to.not.include('not-the-password');
      expect(JSON.stringify(result)).to.not.include(Buffer.from(`${USER}:not-the-password`).toString('base64'));
    });

    it(`${runtime}: a registry that wants credentials the node does not have`, () => {
      const { result } = of('basic-missing', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'auth-required' });
    });

    it(`${runtime}: token authentication: the installed credentials get a token the registry accepts`, () => {
      const { result } = of('token-good', runtime);
      expect(result, why(result)).to.include({ ok: true, auth: 'bearer' });
    });

    it(`${runtime}: token authentication with wrong credentials: the token service refuses them`, () => {
      const { result } = of('token-wrong', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'auth-rejected' });
      expect(result.message).to.include('token service');
    });

    it(`${runtime}: a mirror that accepts TCP and never answers: bounded by the deadline`, () => {
      const { result } = of('silent', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'no-answer' });
      expect(result.latencyMs).to.be.within(TIMEOUT_MS - 50, TIMEOUT_MS + 1_000);
    });

    it(`${runtime}: the same over TLS: the handshake never completes, bounded by the deadline`, () => {
      const { result } = of('silent-tls', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'tls-handshake-timeout' });
      expect(result.latencyMs).to.be.within(TIMEOUT_MS - 50, TIMEOUT_MS + 1_000);
    });

    it(`${runtime}: a port nothing listens on: connection refused`, () => {
      const { result } = of('refused', runtime);
      expect(result, why(result)).to.include({ ok: false, errorClass: 'connection-refused' });
    });
  }

  it('the probe image resolves on the mirror explain predicts for it, at the predicted URLs', () => {
    const { target, result } = of('tls-good', 'containerd');
    expect(target.imageRequests.map((q) => q.path + q.query)).to.include(`/v2/tls-good/manifests/${img.manifestDigest}?ns=src.example`);
    expect(result.image, why(result)).to.deep.include({ status: 'resolved' });
    // containerd tries every mirror of the host for it (widening): there it is missing.
    expect(of('basic-good', 'containerd').result.image?.status).to.equal('missing');
  });

  it('identical settings from both runtimes make one probe; different ones (header vs auth.json) two', () => {
    expect(of('tls-good', 'containerd').target.id).to.equal(of('tls-good', 'containers-image').target.id);
    expect(of('basic-good', 'containerd').target.id).to.not.equal(of('basic-good', 'containers-image').target.id);
  });

  it('a run through the Prober: one probe per mirror, metrics per mirror and runtime, a condition naming the failures', async () => {
    const metrics = new ProbeMetrics();
    const prober = new Prober({ root: rendered.out, intervalMs: 3_600_000, timeoutMs: TIMEOUT_MS, concurrency: 8, log: pino({ level: 'silent' }), metrics });
    const { paths } = await installed(rendered.out);
    prober.update(paths, 'sha256:test', false);
    const started = Date.now();
    const run = await prober.runOnce();
    await prober.stop();
    // Bounded: 8 at a time, each within one deadline (plus scheduling slack on a loaded machine).
    const waves = Math.ceil(targets.length / 8);
    expect(Date.now() - started, `${targets.length} probes in ${waves} wave(s)`).to.be.below(waves * TIMEOUT_MS + 2_000);
    expect(run.outcomes.map((o) => o.target.id)).to.deep.equal(targets.map((t) => t.id));
    const text = await metrics.registry.metrics();
    expect(text).to.include(`imagemirror_agent_mirror_up{mirror="${host['tls-good']}",runtime="containerd"} 1`);
    expect(text).to.include(`imagemirror_agent_mirror_up{mirror="${host['tls-wrong-ca']}",runtime="containers-image"} 0`);
    expect(text).to.include(`imagemirror_agent_mirror_probe_error{mirror="${host.silent}",runtime="containerd",class="no-answer"} 1`);
    expect(text).to.not.include(PASSWORD);
    const c = conditionOf(run.summary);
    expect(c).to.include({ status: 'False', reason: 'MirrorsUnreachable' });
    // The message is clipped at 1000 characters and lists mirrors by host:port (random ports): check the summary
    // entry, and that the message names every failing mirror that fits, in order.
    const wrongCa = run.summary.mirrors.find((m) => m.mirror === host['tls-wrong-ca'] && m.runtimes.length === 2);
    expect(wrongCa?.message).to.include('x509: certificate signed by unknown authority');
    const down = run.summary.mirrors.filter((m) => !m.reachable);
    const full = `${down.length}/${run.summary.mirrors.length} mirror(s) unreachable from this node: ${down
      .map((m) => `${m.mirror} (${m.runtimes.join(', ')}): ${m.message ?? m.errorClass}`)
      .join('; ')}`;
    expect(c.message).to.equal(full.length <= 1000 ? full : `${full.slice(0, 997)}...`);
    expect(JSON.stringify(run.summary)).to.not.include(PASSWORD);
  });
});
