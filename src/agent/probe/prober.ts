// When the agent probes: soon after a pass installed files (a few seconds of
// jitter, and never within minGapMs of the previous run, so a storm of
// publications is not a storm of probes), then every intervalMs with ±20%
// jitter so a fleet does not probe in step. One run at a time, one probe per
// mirror per run, at most `concurrency` at once, each bounded by timeoutMs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ImageRef } from '../../explain/reference.js';
import { NodeFiles, type NodeFileView } from '../../explain/node-files.js';
import type { ProbeMetrics } from './metrics.js';
import { probe } from './probe.js';
import { summarize, type NodeProbeSummary, type ProbeOutcome } from './summary.js';
import { probeTargets } from './targets.js';

export interface ProberOptions {
  /** Where the node's `/` is mounted: files are read as installed. */
  root: string;
  intervalMs: number;
  timeoutMs: number;
  /** Soonest a run may follow the previous one (default: 30 s, or the interval when shorter). */
  minGapMs?: number | undefined;
  /** After files changed, a run starts within this much (uniformly jittered; default 5 s). */
  soonMs?: number | undefined;
  concurrency?: number | undefined;
  probeImage?: ImageRef | undefined;
  log: Logger;
  metrics?: ProbeMetrics | undefined;
  reporter?: { report(summary: NodeProbeSummary): Promise<void> } | undefined;
  random?: (() => number) | undefined;
}

export interface ProbeRun {
  outcomes: ProbeOutcome[];
  summary: NodeProbeSummary;
  problems: string[];
}

export class Prober {
  private paths: readonly string[] = [];
  private contentHash: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ProbeRun> | undefined;
  private lastStart = 0;
  private stopped = false;

  constructor(private readonly opts: ProberOptions) {}

  /** The files installed by the last good pass; a change probes soon. */
  update(paths: readonly string[], contentHash: string | undefined, changed: boolean): void {
    const first = this.paths.length === 0 && this.lastStart === 0;
    this.paths = [...paths];
    this.contentHash = contentHash;
    if (changed || first) this.schedule(soonDelay(this.opts.soonMs ?? 5_000, this.random()));
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    return this.running ?? Promise.resolve();
  }

  /** Probes every mirror of the installed files once, reports, and returns what it found. */
  async runOnce(): Promise<ProbeRun> {
    if (this.running) return this.running;
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<ProbeRun> {
    const { log } = this.opts;
    this.lastStart = Date.now();
    const files = await this.readInstalled();
    const { targets, problems } = probeTargets(files, this.paths, this.opts.probeImage);
    const outcomes = await mapLimit(targets, this.opts.concurrency ?? 4, async (target) => ({
      target,
      result: await probe(target, { timeoutMs: this.opts.timeoutMs }),
    }));
    const summary = summarize(outcomes, this.contentHash, this.opts.probeImage?.pulled);
    for (const { target, result } of outcomes) {
      const fields = {
        mirror: target.mirror,
        runtimes: target.runtimes,
        latencyMs: result.latencyMs,
        errorClass: result.errorClass,
        image: result.image?.status,
      };
      if (result.ok) log.debug(fields, 'mirror reachable');
      else log.warn({ ...fields, error: result.message }, 'mirror unreachable');
    }
    for (const p of problems) log.warn({ problem: p }, 'probe: file not usable');
    this.opts.metrics?.record(outcomes, new Date());
    if (this.opts.reporter) {
      await this.opts.reporter
        .report(summary)
        .catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'cannot report probe results to the Node'));
    }
    if (!this.stopped) this.schedule(periodDelay(this.opts.intervalMs, this.random()));
    return { outcomes, summary, problems };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const gap = this.opts.minGapMs ?? Math.min(30_000, this.opts.intervalMs);
    const earliest = this.lastStart === 0 ? 0 : this.lastStart + gap - Date.now();
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.runOnce().catch((e: unknown) => this.opts.log.error({ err: String(e) }, 'probe run failed'));
      },
      Math.max(delayMs, earliest, 0),
    );
    this.timer.unref();
  }

  private random(): number {
    return (this.opts.random ?? Math.random)();
  }

  private async readInstalled(): Promise<NodeFiles> {
    const views = await Promise.all(
      this.paths.map(async (p): Promise<NodeFileView | undefined> => {
        try {
          return { path: p, content: await readFile(join(this.opts.root, p), 'utf8') };
        } catch {
          return undefined; // not installed (yet): nothing to probe from it
        }
      }),
    );
    return new NodeFiles(views.filter((v): v is NodeFileView => v !== undefined));
  }
}

/** The period with ±20% jitter (`r` uniform in [0, 1)), so a fleet does not probe in step. */
export function periodDelay(intervalMs: number, r: number): number {
  return Math.round(intervalMs * (0.8 + 0.4 * r));
}

/** A delay in [0, soonMs): nodes that got the same publication do not all probe at once. */
export function soonDelay(soonMs: number, r: number): number {
  return Math.round(soonMs * r);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
