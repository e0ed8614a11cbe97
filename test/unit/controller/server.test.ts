import { expect } from 'chai';
import { parseDuration } from '../../../src/cli/controller.js';
import { ControllerMetrics } from '../../../src/controller/metrics.js';
import { close, parseBindAddress, serve } from '../../../src/controller/server.js';

describe('HTTP endpoints', () => {
  it('answers /healthz always, /readyz only when ready, /metrics with the controller metrics', async () => {
    let ready = false;
    const metrics = new ControllerMetrics({ processMetrics: false });
    metrics.countWrite('ConfigMap', 'create');
    metrics.isLeader.set(1);
    metrics.setQueueDepth(() => 7);
    metrics.setTargets(() => [{ condition: 'Ready', status: 'True', count: 3 }]);
    const { server, port } = await serve({ host: '127.0.0.1', port: 0 }, { probes: { ready: () => ready }, metrics: metrics.registry });
    try {
      const get = async (p: string): Promise<{ status: number; body: string }> => {
        const res = await fetch(`http://127.0.0.1:${port}${p}`);
        return { status: res.status, body: await res.text() };
      };
      expect((await get('/healthz')).status).to.equal(200);
      expect((await get('/readyz')).status).to.equal(503);
      ready = true;
      expect((await get('/readyz')).status).to.equal(200);
      const m = await get('/metrics');
      expect(m.status).to.equal(200);
      expect(m.body).to.contain('imagemirror_api_writes_total{kind="ConfigMap",verb="create"} 1');
      expect(m.body).to.contain('imagemirror_is_leader 1');
      expect(m.body).to.contain('imagemirror_queue_depth 7');
      expect(m.body).to.contain('imagemirror_targets{condition="Ready",status="True"} 3');
      expect(m.body).to.contain('# TYPE imagemirror_reconcile_duration_seconds histogram');
      expect((await get('/nope')).status).to.equal(404);
    } finally {
      await close(server);
    }
  });

  it('serves only the endpoints it was given', async () => {
    const { server, port } = await serve({ host: '127.0.0.1', port: 0 }, { probes: { ready: () => true } });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).to.equal(404);
    } finally {
      await close(server);
    }
  });
});

describe('command-line values', () => {
  const addresses: Array<[string, ReturnType<typeof parseBindAddress>, string]> = [
    [':8080', { host: '0.0.0.0', port: 8080 }, 'every interface'],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }, 'any free port on loopback'],
    ['[::1]:9000', { host: '::1', port: 9000 }, 'IPv6 in brackets'],
    ['0', undefined, 'disabled'],
    ['', undefined, 'disabled'],
  ];
  for (const [value, want, why] of addresses) {
    it(`bind address ${JSON.stringify(value)}: ${why}`, () => expect(parseBindAddress(value)).to.deep.equal(want));
  }
  it('rejects bind addresses without a valid port', () => {
    expect(() => parseBindAddress('localhost')).to.throw(/expected host:port/);
    expect(() => parseBindAddress(':99999')).to.throw(/invalid port/);
  });

  const durations: Array<[string, number]> = [
    ['500ms', 500],
    ['15s', 15_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['2', 2_000],
    ['1.5s', 1_500],
    ['0', 0],
  ];
  for (const [value, ms] of durations) it(`duration ${value} = ${ms} ms`, () => expect(parseDuration(value)).to.equal(ms));
  it('rejects durations it does not understand, saying what it expects', () => {
    expect(() => parseDuration('10x')).to.throw(/not a duration: "10x" \(examples/);
    expect(() => parseDuration('-1s')).to.throw(/not a duration/);
  });
});
