// The agent's mirror probes: a Prober fed by each good pass, its metrics
// endpoint and its Node reporter, started and stopped together.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { ImageRef } from '../../explain/reference.js';
import { ProbeMetrics, serveMetrics } from './metrics.js';
import { Prober } from './prober.js';
import { ProbeReporter } from './reporter.js';

export interface ProbeOptions {
  /** Period between runs, before jitter (±20%). */
  intervalMs: number;
  /** Deadline for the probe of one mirror. */
  timeoutMs: number;
  probeImage?: ImageRef | undefined;
  /** `[host]:port` for /metrics; absent: no endpoint. */
  metricsBind?: string | undefined;
  minGapMs?: number | undefined;
}

export interface Probes {
  installed(paths: readonly string[], contentHash: string | undefined, changed: boolean): void;
  stop(): Promise<void>;
  readonly prober: Prober;
  readonly metrics: ProbeMetrics;
}

export async function startProbes(opts: ProbeOptions, deps: { core: CoreV1Api; nodeName?: string | undefined; root: string; log: Logger }): Promise<Probes> {
  const metrics = new ProbeMetrics({ processMetrics: true });
  let server: Server | undefined;
  if (opts.metricsBind) {
    server = await serveMetrics(metrics.registry, opts.metricsBind);
    deps.log.info({ address: opts.metricsBind }, 'serving probe metrics');
  }
  const prober = new Prober({
    root: deps.root,
    intervalMs: opts.intervalMs,
    timeoutMs: opts.timeoutMs,
    minGapMs: opts.minGapMs,
    probeImage: opts.probeImage,
    log: deps.log.child({ part: 'probe' }),
    metrics,
    reporter: deps.nodeName ? new ProbeReporter(deps.core, deps.nodeName) : undefined,
  });
  return {
    prober,
    metrics,
    installed: (paths, hash, changed) => prober.update(paths, hash, changed),
    stop: async () => {
      await prober.stop();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
    },
  };
}
