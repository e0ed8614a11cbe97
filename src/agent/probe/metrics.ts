// Prometheus metrics of the node agent's mirror probes, per mirror and
// runtime, on a registry of its own, served on --metrics-bind-address.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CLASSES } from './probe.js';
import type { ProbeOutcome } from './summary.js';

export class ProbeMetrics {
  readonly registry = new Registry();
  private readonly up: Gauge<'mirror' | 'runtime'>;
  private readonly duration: Gauge<'mirror' | 'runtime'>;
  private readonly errorClass: Gauge<'mirror' | 'runtime' | 'class'>;
  private readonly image: Gauge<'mirror' | 'runtime'>;
  private readonly lastRun: Gauge;
  private readonly runs: Counter;
  /** Series written by the last run, so mirrors that are gone stop being reported. */
  private series: Array<{ mirror: string; runtime: string }> = [];

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.up = new Gauge({
      name: 'imagemirror_agent_mirror_up',
      help: 'Whether the last probe reached the mirror with the installed settings (1) or not (0).',
      labelNames: ['mirror', 'runtime'],
      registers,
    });
    this.duration = new Gauge({
      name: 'imagemirror_agent_mirror_probe_duration_seconds',
      help: 'Duration of the last probe of the mirror, TCP to the API root answer (and the probe image).',
      labelNames: ['mirror', 'runtime'],
      registers,
    });
    this.errorClass = new Gauge({
      name: 'imagemirror_agent_mirror_probe_error',
      help: `1 for the error class of the last failed probe of the mirror (${ERROR_CLASSES.join(', ')}); absent while it is reachable.`,
      labelNames: ['mirror', 'runtime', 'class'],
      registers,
    });
    this.image = new Gauge({
      name: 'imagemirror_agent_mirror_probe_image_resolved',
      help: 'Whether the probe image resolved on the mirror (1) or not (0); absent without a probe image.',
      labelNames: ['mirror', 'runtime'],
      registers,
    });
    this.lastRun = new Gauge({ name: 'imagemirror_agent_probe_last_run_timestamp_seconds', help: 'When the last probe run finished (Unix time).', registers });
    this.runs = new Counter({ name: 'imagemirror_agent_probe_runs_total', help: 'Probe runs (one probe per mirror each).', registers });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  record(outcomes: readonly ProbeOutcome[], now: Date): void {
    for (const s of this.series) {
      this.up.remove(s);
      this.duration.remove(s);
      this.image.remove(s);
      for (const c of ERROR_CLASSES) this.errorClass.remove({ ...s, class: c });
    }
    this.series = [];
    for (const { target, result } of outcomes) {
      for (const runtime of target.runtimes) {
        const labels = { mirror: target.mirror, runtime };
        this.series.push(labels);
        this.up.set(labels, result.ok ? 1 : 0);
        this.duration.set(labels, result.latencyMs / 1000);
        if (result.errorClass) this.errorClass.set({ ...labels, class: result.errorClass }, 1);
        if (result.image) this.image.set(labels, result.image.status === 'resolved' ? 1 : 0);
      }
    }
    this.runs.inc();
    this.lastRun.set(now.getTime() / 1000);
  }
}

/** Serves GET /metrics (and /healthz) on `bind` (`host:port` or `:port`). */
export async function serveMetrics(registry: Registry, bind: string): Promise<Server> {
  const m = /^(.*):([0-9]+)$/.exec(bind);
  const [host, port] = [m?.[1], m?.[2]];
  if (host === undefined || port === undefined) throw new Error(`--metrics-bind-address ${JSON.stringify(bind)} is not [host]:port`);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        })
        .catch((e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        });
      return;
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404);
    res.end(req.url === '/healthz' ? 'ok\n' : '');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), host === '' ? undefined : host.replace(/^\[(.*)\]$/, '$1'), () => resolve());
  });
  return server;
}
