// The pure parts of the mirror probes: which targets the installed files
// name (and with which settings), the condition, the per-node summary and
// its transitions, the schedule's jitter and its bounds.
import { expect } from 'chai';
import { pino } from 'pino';
import { NodeFiles } from '../../../src/explain/node-files.js';
import { parseChallenges } from '../../../src/agent/probe/challenge.js';
import { periodDelay, Prober, soonDelay } from '../../../src/agent/probe/prober.js';
import { conditionOf, summarize, transitions, type NodeProbeSummary, type ProbeOutcome } from '../../../src/agent/probe/summary.js';
import { probeTargets, type ProbeTarget } from '../../../src/agent/probe/targets.js';

const CONF = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const HOSTS = '/etc/containerd/certs.d';

function targets(files: Record<string, string>): ProbeTarget[] {
  const nf = new NodeFiles(Object.entries(files).map(([path, content]) => ({ path, content })));
  return probeTargets(nf, Object.keys(files)).targets;
}

describe('agent probes: targets from the installed files', () => {
  it('containerd: every host table but the registry itself, with its scheme, API root, CA and header', () => {
    const t = targets({
      [`${HOSTS}/quay.io/hosts.toml`]: [
        'server = "https://quay.io"',
        '[host."https://m.io:5000/v2/cache"]',
        'override_path = true',
        'ca = "m.io_5000_.crt"',
        '[host."https://m.io:5000/v2/cache".header]',
        'authorization = "Basic dTpw"',
        '',
      ].join('\n'),
      [`${HOSTS}/quay.io/m.io_5000_.crt`]: 'PEM-A',
    });
    expect(t).to.have.length(1);
    expect(t[0]!).to.deep.include({
      mirror: 'm.io:5000',
      host: 'm.io',
      port: 5000,
      scheme: 'https',
      verify: true,
      pingPath: '/v2/',
      caPEM: 'PEM-A',
      authorization: 'Basic dTpw',
      authFrom: 'header',
      runtimes: ['containerd'],
      mirrorOf: ['quay.io'],
    });
  });

  it('containerd: an http:// table with skip_verify tries HTTPS without verification, then HTTP', () => {
    const t = targets({ [`${HOSTS}/reg_5000_/hosts.toml`]: 'server = "http://reg:5000"\nskip_verify = true\n[host."http://m.io:5001"]\nskip_verify = true\n' });
    expect(t[0]!).to.deep.include({ mirror: 'm.io:5001', scheme: 'https', verify: false, httpFallback: true, mirrorOf: ['reg:5000'] });
  });

  it('containerd: an API root that is not /v2 is pinged at that root', () => {
    const t = targets({ [`${HOSTS}/quay.io/hosts.toml`]: '[host."https://art.example/artifactory/api/docker/remote"]\noverride_path = true\n' });
    expect(t[0]!.pingPath).to.equal('/artifactory/api/docker/remote/');
  });

  it('containers/image: each mirror with its certs.d CA and auth.json entry; blocked mirrors and sources are not probed', () => {
    const t = targets({
      [CONF]: [
        '[[registry]]',
        'prefix = "quay.io"',
        'location = "quay.io"',
        'blocked = true',
        '[[registry.mirror]]',
        'location = "m.io/q"',
        '[[registry.mirror]]',
        'location = "blocked.io/q"',
        '[[registry]]',
        'prefix = "blocked.io"',
        'location = "blocked.io"',
        'blocked = true',
        '',
      ].join('\n'),
      '/etc/containers/certs.d/m.io/ca.crt': 'PEM-B',
      '/etc/containers/auth.json': JSON.stringify({ auths: { 'm.io': { auth: 'dTpw' } } }),
    });
    expect(t.map((x) => x.mirror)).to.deep.equal(['m.io']);
    expect(t[0]!).to.deep.include({
      caPEM: 'PEM-B',
      authorization: 'Basic dTpw',
      authFrom: 'auth.json',
      runtimes: ['containers-image'],
      mirrorOf: ['quay.io'],
    });
    expect(t[0]!.port).to.equal(undefined);
  });

  it('one target when both runtimes use a mirror with the same settings', () => {
    const t = targets({
      [`${HOSTS}/quay.io/hosts.toml`]: 'server = "https://quay.io"\n[host."https://m.io"]\n',
      [CONF]: '[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "m.io/quay"\n',
    });
    expect(t.map((x) => [x.mirror, x.runtimes])).to.deep.equal([['m.io', ['containerd', 'containers-image']]]);
  });

  it('a hosts.toml containerd would ignore names no target and says so', () => {
    const nf = new NodeFiles([{ path: `${HOSTS}/quay.io/hosts.toml`, content: 'server = "https://m.io"\n' }]);
    const read = probeTargets(nf, [`${HOSTS}/quay.io/hosts.toml`]);
    expect(read.targets).to.deep.equal([]);
    expect(read.problems[0]!).to.include('containerd ignores it');
  });
});

describe('agent probes: condition, summary and transitions', () => {
  const target = (mirror: string, runtimes: ProbeTarget['runtimes'] = ['containerd']): ProbeTarget => ({
    id: mirror,
    mirror,
    runtimes,
    mirrorOf: ['quay.io'],
    scheme: 'https',
    httpFallback: false,
    verify: true,
    host: mirror,
    pingPath: '/v2/',
    imageRequests: [],
  });
  const ok = (m: string): ProbeOutcome => ({ target: target(m), result: { ok: true, latencyMs: 12, scheme: 'https', auth: 'anonymous' } });
  const bad = (m: string, errorClass: 'tls-unknown-authority' | 'no-answer' = 'tls-unknown-authority'): ProbeOutcome => ({
    target: target(m),
    result: { ok: false, errorClass, message: errorClass === 'no-answer' ? 'no answer' : 'x509: certificate signed by unknown authority', latencyMs: 5 },
  });

  const rows: Array<{ why: string; outcomes: ProbeOutcome[]; status: string; reason: string; message: RegExp }> = [
    { why: 'no mirror at all', outcomes: [], status: 'True', reason: 'NoMirrors', message: /no mirror/ },
    {
      why: 'every mirror reachable',
      outcomes: [ok('a.io'), ok('b.io')],
      status: 'True',
      reason: 'AllMirrorsReachable',
      message: /^2\/2 mirror\(s\) reachable: a.io, b.io$/,
    },
    {
      why: 'one unreachable names it, its runtime and why',
      outcomes: [ok('a.io'), bad('b.io')],
      status: 'False',
      reason: 'MirrorsUnreachable',
      message: /^1\/2 mirror\(s\) unreachable from this node: b.io \(containerd\): x509: certificate signed by unknown authority$/,
    },
  ];
  for (const row of rows) {
    it(row.why, () => {
      const c = conditionOf(summarize(row.outcomes, 'sha256:x', undefined));
      expect(c.status).to.equal(row.status);
      expect(c.reason).to.equal(row.reason);
      expect(c.message).to.match(row.message);
    });
  }

  it('the probe image resolving nowhere is its own reason', () => {
    const o = ok('a.io');
    o.result.image = { status: 'missing', message: '404' };
    const c = conditionOf(summarize([o], undefined, 'quay.io/r@sha256:1'));
    expect(c).to.include({ status: 'False', reason: 'ProbeImageNotResolved' });
  });

  it('the summary carries no latency or time, so a period with the same results writes nothing', () => {
    const a = JSON.stringify(summarize([ok('a.io'), bad('b.io')], 'sha256:x', undefined));
    const later = [ok('a.io'), bad('b.io')].map((o) => ({ ...o, result: { ...o.result, latencyMs: o.result.latencyMs + 100 } }));
    expect(JSON.stringify(summarize(later, 'sha256:x', undefined))).to.equal(a);
    expect(a).to.not.match(/latency|Time|At"/);
  });

  it('the summary is sorted whatever the probe order', () => {
    const x = summarize([bad('b.io'), ok('a.io')], undefined, undefined);
    const y = summarize([ok('a.io'), bad('b.io')], undefined, undefined);
    expect(x).to.deep.equal(y);
  });

  it('events: a mirror going down (or failing differently) warns; coming back is Normal; steady states say nothing', () => {
    const up = summarize([ok('a.io')], undefined, undefined);
    const down = summarize([bad('a.io')], undefined, undefined);
    const silent = summarize([bad('a.io', 'no-answer')], undefined, undefined);
    const reasons = (p: NodeProbeSummary | undefined, n: NodeProbeSummary): string[] => transitions(p, n).map((e) => `${e.type} ${e.reason}`);
    expect(reasons(undefined, up)).to.deep.equal([]);
    expect(reasons(up, up)).to.deep.equal([]);
    expect(reasons(up, down)).to.deep.equal(['Warning MirrorUnreachable']);
    expect(reasons(down, down)).to.deep.equal([]);
    expect(reasons(down, silent)).to.deep.equal(['Warning MirrorUnreachable']);
    expect(reasons(down, up)).to.deep.equal(['Normal MirrorReachable']);
    expect(reasons(undefined, down)).to.deep.equal(['Warning MirrorUnreachable']);
  });
});

describe('agent probes: schedule', () => {
  it('the period is jittered by ±20%, the first run after a change within [0, soon)', () => {
    expect(periodDelay(600_000, 0)).to.equal(480_000);
    expect(periodDelay(600_000, 0.999999)).to.be.within(719_999, 720_000);
    expect(soonDelay(5_000, 0)).to.equal(0);
    expect(soonDelay(5_000, 0.5)).to.equal(2_500);
  });

  it('a storm of changes is not a storm of runs: never two runs within the minimum gap', async function () {
    this.timeout(10_000);
    const starts: number[] = [];
    const prober = new Prober({
      root: '/nonexistent',
      intervalMs: 3_600_000,
      timeoutMs: 100,
      minGapMs: 400,
      soonMs: 10,
      log: pino({ level: 'silent' }),
      reporter: { report: async () => void starts.push(Date.now()) },
    });
    const until = Date.now() + 1_300;
    while (Date.now() < until) {
      prober.update([], 'sha256:x', true);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    await prober.stop();
    expect(starts.length).to.be.within(2, 4);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).to.be.at.least(380);
  });
});

describe('agent probes: WWW-Authenticate', () => {
  it('reads Basic and Bearer challenges with quoted and bare values', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"')).to.deep.equal([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull' } },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).to.deep.equal([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('Bearer realm = "x", service=y')).to.deep.equal([{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]);
    expect(parseChallenges(undefined)).to.deep.equal([]);
  });
});
