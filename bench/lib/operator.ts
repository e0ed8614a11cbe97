// The operator as a child process (`node dist/src/cli/main.js controller`),
// as it runs in a pod: its metrics endpoint for queue depth and reconcile
// counts, and its memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { sumSamples } from '../../e2e/operator/lib.js';
import { freePort, track } from '../../test/consumer/lib/proc.js';
import { sleep } from './cluster.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const LOG_TAIL_CHARS = 20_000;
const DEPLOYMENT = fileURLToPath(new URL('../../../deploy/deployment.yaml', import.meta.url));

/** The flags the shipped Deployment gives node (its container's NODE_OPTIONS): the benchmarks run the operator with them. */
export function deployedNodeOptions(file = DEPLOYMENT): string[] {
  type Container = { env?: Array<{ name: string; value?: string }> };
  type Doc = { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } };
  const docs = loadAll(readFileSync(file, 'utf8')) as Doc[];
  const env = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.containers?.[0]?.env ?? [];
  const value = env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  return value.split(' ').filter((a) => a !== '');
}

/** A JSON log line of the operator, kept when `OperatorOptions.keepLine` says so; `at` is its time in epoch milliseconds. */
export interface LogLine {
  at: number;
  msg: string;
  [field: string]: unknown;
}

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  concurrency: number;
  resyncPeriod: string;
  /** Further flags for `controller`. */
  args?: readonly string[];
  /** Flags for node itself, after those of the shipped Deployment (e.g. --heapsnapshot-signal=SIGUSR2). */
  nodeArgs?: readonly string[];
  /** Log lines to keep whole (`Operator.lines`), e.g. the informers' reconnects. */
  keepLine?: (line: LogLine) => boolean;
}

export interface MemoryFigures {
  /** Resident set size now. */
  rssMiB: number;
  /** Peak resident set size since the process started. */
  hwmMiB: number;
  /** V8 heap in use and reserved, from the operator's metrics (nodejs_heap_size_*_bytes). */
  heapUsedMiB?: number;
  heapTotalMiB?: number;
}

export class Operator {
  private log = '';
  private partial = '';
  /** Lines kept by `keepLine`, in order. */
  readonly lines: LogLine[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly metricsPort: number,
    keepLine: ((line: LogLine) => boolean) | undefined,
  ) {
    // Keep only the tail: the log is for error messages, not for measurements.
    const keep = (b: Buffer): void => {
      const text = b.toString('utf8');
      this.log = (this.log + text).slice(-LOG_TAIL_CHARS);
      if (keepLine) this.scan(text, keepLine);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  private scan(text: string, keepLine: (line: LogLine) => boolean): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.startsWith('{')) continue;
      try {
        const o = JSON.parse(raw) as { time?: string; msg?: string };
        const line: LogLine = { ...o, at: Date.parse(o.time ?? ''), msg: o.msg ?? '' };
        if (keepLine(line)) this.lines.push(line);
      } catch {
        // not a log line
      }
    }
  }

  static async start(opts: OperatorOptions): Promise<Operator> {
    const metricsPort = await freePort();
    const args = [
      ...deployedNodeOptions(),
      ...(opts.nodeArgs ?? []),
      MAIN,
      'controller',
      '--kubeconfig',
      opts.kubeconfig,
      '--namespace',
      opts.namespace,
      '--concurrency',
      String(opts.concurrency),
      '--resync-period',
      opts.resyncPeriod,
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      '--health-probe-bind-address',
      '0',
      '--log-level',
      'warn',
      // NodePool outputs with every key, containerd files included, as the figures in bench/RESULTS.md
      // were measured (the default, crio, publishes fewer keys); later flags in `args` override it.
      '--nodepool-agent-files',
      'all',
      ...(opts.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const op = new Operator(child, metricsPort, opts.keepLine);
    track(child);
    return op;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  logTail(lines = 30): string {
    return this.log.split('\n').slice(-lines).join('\n');
  }

  /** VmRSS and VmHWM of the operator process. */
  memory(): MemoryFigures {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  }

  /** memory() plus the V8 heap figures of the metrics endpoint. */
  async memoryWithHeap(): Promise<MemoryFigures> {
    const m = this.memory();
    const text = await this.metrics().catch(() => undefined);
    if (text === undefined) return m;
    const mib = (name: string): number => sumSamples(text, name, {}) / 1024 / 1024;
    return { ...m, heapUsedMiB: mib('nodejs_heap_size_used_bytes'), heapTotalMiB: mib('nodejs_heap_size_total_bytes') };
  }

  /** CPU seconds (user + system) the operator has used, from /proc/<pid>/stat. */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // Fields after the command: state is [0], utime [11], stime [12], in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** Sum of a metric's samples whose labels include `labels`; NaN while the endpoint is not up. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics().catch(() => undefined);
    return text === undefined ? NaN : sumSamples(text, name, labels);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Waits until the operator has nothing queued or held, no status write pending, and its reconcile count has
 * not moved for `quietMs` (bounded by `timeoutMs`).
 */
export async function waitQuiet(op: Operator, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = NaN;
  let since = Date.now();
  for (;;) {
    // Targets held to coalesce a burst are waiting too (0 from builds without the gauge).
    const depth = (await op.metric('imagemirror_queue_depth')) + (await op.metric('imagemirror_queue_held'));
    const statuses = await op.metric('imagemirror_status_writes_pending');
    const total = await op.metric('imagemirror_reconcile_total');
    if (depth !== 0 || statuses !== 0 || total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    if (Date.now() > deadline) throw new Error(`the operator did not settle within ${timeoutMs} ms (queue depth ${depth})`);
    if (op.exited) throw new Error(`the operator exited:\n${op.logTail()}`);
    await sleep(50);
  }
}
