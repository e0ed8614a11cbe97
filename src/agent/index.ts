// The node agent: finds which output its node installs, watches that
// ConfigMap and Secret by name, and on every change (and on a slow resync
// that repairs drift) plans, applies and reports. It never restarts
// containerd (which re-reads hosts.toml on every pull) and runs a CRI-O
// reload only when told to.
import { identifyAs } from '../common/client-identity.js';
import { CoreV1Api, KubeConfig, Watch, type KubernetesListObject, type KubernetesObject, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { checkContainerd, DEFAULT_CERTS_DIR, type ContainerdCheck } from './containerd-check.js';
import { DEFAULT_ALLOWED_ROOTS, type AllowedRoot } from './plan.js';
import { conditionFor, NodeReporter, type Outcome } from './report.js';
import { decodeSecretData, syncFiles, type Published } from './sync.js';
import { resolveTarget, type AgentTarget, type TargetFlags } from './target.js';
import { startProbes, type ProbeOptions, type Probes } from './probe/index.js';
import { orUndefined, statusCode } from '../common/api-errors.js';
import { type Backoff, Informer } from '../controller/informer.js';

/** 0.25 s doubling to 30 s, each delay shortened by up to half at random. */
const AGENT_BACKOFF: Backoff = { initialMs: 250, maxMs: 30_000, jitter: 0.5 };
import { isRecord } from '../common/values.js';
import { CONTENT_HASH_ANNOTATION, FILES_MANIFEST_KEY } from '../contract.js';

export interface AgentOptions {
  kubeconfig?: string | undefined;
  /** Node to report on and whose labels pick the output; without it nothing is reported to the API. */
  nodeName?: string | undefined;
  target: TargetFlags;
  /** Directory the node's `/` is mounted at. */
  root: string;
  statePath: string;
  allowedRoots?: readonly AllowedRoot[];
  /** Node path of containerd's config.toml; empty or undefined disables the check. */
  containerdConfig?: string | undefined;
  certsDir?: string;
  /** Run after files under /etc/containers changed (e.g. `systemctl reload crio`); never run otherwise. */
  reloadCrioCommand?: string | undefined;
  resyncMs?: number;
  debounceMs?: number;
  /** Mirror probes (docs/agent.md "Mirror probes"); absent: none. Watch mode only. */
  probes?: ProbeOptions;
  log: Logger;
}

const MAX_BACKOFF_MS = 30_000;

/** `--once` exit codes. */
export const EXIT_APPLIED = 0;
export const EXIT_NOT_APPLIED = 1;
/** The files are in place, but reporting to the Node or the CRI-O reload command failed. */
export const EXIT_APPLIED_FOLLOW_UP_FAILED = 3;

/** Applies the output once and returns the process exit code (EXIT_*). */
export async function runOnce(opts: AgentOptions): Promise<number> {
  const agent = new Agent(opts);
  const target = await agent.resolve();
  const core = agent.core;
  const [cm, secret] = await Promise.all([
    readPublished(core.readNamespacedConfigMap({ namespace: target.namespace, name: target.name })),
    readPublished(core.readNamespacedSecret({ namespace: target.namespace, name: target.name })),
  ]);
  const outcome = await agent.pass(cm, secret);
  if (!outcome?.sync.ok || outcome.sync.report.errors.length > 0) return EXIT_NOT_APPLIED;
  return outcome.followUpFailures?.length ? EXIT_APPLIED_FOLLOW_UP_FAILED : EXIT_APPLIED;
}

/** Runs until `signal` aborts. */
export async function runLoop(opts: AgentOptions, signal: AbortSignal): Promise<void> {
  const agent = new Agent(opts);
  await agent.start(signal);
}

export class Agent {
  readonly core: CoreV1Api;
  private readonly kc: KubeConfig;
  private readonly reporter: NodeReporter | undefined;
  private target: AgentTarget | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private probes: Probes | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.kc = new KubeConfig();
    if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
    else this.kc.loadFromDefault();
    identifyAs(this.kc, 'agent');
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.reporter = opts.nodeName ? new NodeReporter(this.core, opts.nodeName) : undefined;
  }

  /** Reads the node's labels (retrying while the API is unreachable) and picks the output. */
  async resolve(signal?: AbortSignal): Promise<AgentTarget> {
    let labels: Record<string, string> | undefined;
    if (this.opts.nodeName && !this.opts.target.configMap) {
      const name = this.opts.nodeName;
      const node = await retry(() => this.core.readNode({ name }), `read Node ${name}`, this.opts.log, signal);
      labels = node.metadata?.labels;
    }
    this.target = resolveTarget(labels, this.opts.target);
    this.opts.log.info({ namespace: this.target.namespace, name: this.target.name, why: this.target.why }, 'agent target');
    return this.target;
  }

  async start(signal: AbortSignal): Promise<void> {
    const target = await this.resolve(signal);
    if (this.opts.probes)
      this.probes = await startProbes(this.opts.probes, { core: this.core, nodeName: this.opts.nodeName, root: this.opts.root, log: this.opts.log });
    const fieldSelector = `metadata.name=${target.name}`;
    const { namespace } = target;
    // Listed once at least: until both are, a missing object means "not known yet", not "deleted".
    // The informers restart their list/watch with backoff after errors, as the controller's do.
    const cms = this.informer<V1ConfigMap>('ConfigMap', `/api/v1/namespaces/${namespace}/configmaps`, fieldSelector, () =>
      this.core.listNamespacedConfigMap({ namespace, fieldSelector }),
    );
    const secrets = this.informer<V1Secret>('Secret', `/api/v1/namespaces/${namespace}/secrets`, fieldSelector, () =>
      this.core.listNamespacedSecret({ namespace, fieldSelector }),
    );
    const trigger = (): void => {
      if (!cms.hasSynced() || !secrets.hasSynced()) return;
      this.schedule(() => this.pass(cms.get(target.name, namespace), secrets.get(target.name, namespace)));
    };
    for (const inf of [cms, secrets]) {
      for (const event of ['add', 'update', 'delete'] as const) inf.on(event, trigger);
      inf.start();
    }
    while (!signal.aborted) {
      const listed = await Promise.all([cms.waitForSync(5_000), secrets.waitForSync(5_000)]);
      if (listed.every(Boolean)) break;
      this.opts.log.info({ target: `${namespace}/${target.name}` }, 'waiting for the first list of the published objects');
    }
    trigger();
    const resync = setInterval(trigger, this.opts.resyncMs ?? 300_000);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(resync);
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([cms.stop(), secrets.stop()]);
    await this.running;
    await this.probes?.stop();
  }

  /** A cache of one published object, by name (field selector). */
  private informer<T extends KubernetesObject>(what: string, path: string, fieldSelector: string, list: () => Promise<KubernetesListObject<T>>): Informer<T> {
    const watcher = new Watch(this.kc);
    return new Informer<T>({
      name: `${what} ${path.split('/')[4] ?? ''}/${fieldSelector.slice('metadata.name='.length)}`,
      path,
      list,
      watch: (p, query, cb, done) => watcher.watch(p, query, cb, done),
      fieldSelector,
      logger: this.opts.log,
      // One agent per node: thousands retrying every few seconds would crowd an API server that is
      // coming back, so agents keep the long cap (the operator's caches retry within 3 s).
      backoff: AGENT_BACKOFF,
    });
  }

  /** Coalesces bursts (the operator writes the Secret and the ConfigMap back to back) into one pass at a time. */
  private schedule(run: () => Promise<unknown>): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = run()
        .then(() => undefined)
        .catch((e: unknown) => this.opts.log.error({ err: String(e) }, 'agent pass failed'))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule(run);
          }
        });
    }, this.opts.debounceMs ?? 200);
  }

  /** One pass: plan + apply + containerd check + report. Undefined when it waited for a consistent publication. */
  async pass(cm: V1ConfigMap | undefined, secret: V1Secret | undefined): Promise<Outcome | undefined> {
    const target = this.target ?? (await this.resolve());
    const log = this.opts.log;
    const waiting = inconsistency(cm, secret);
    if (waiting) {
      log.info({ target: `${target.namespace}/${target.name}` }, waiting);
      return undefined;
    }
    const pub = readPublication(target, cm, secret);
    const sync = await syncFiles(pub, { root: this.opts.root, statePath: this.opts.statePath, allowedRoots: this.opts.allowedRoots ?? DEFAULT_ALLOWED_ROOTS });
    if (sync.recovered) log.warn({ recovered: sync.recovered }, 'state file');
    const containerd = await this.checkContainerd();
    const outcome: Outcome = { target, sync, containerd, contentHash: pub.contentHash };
    logOutcome(log, outcome);
    const failures: string[] = [];
    if (sync.ok && sync.changed && !(await this.reloadCrio(sync.report.written.concat(sync.report.removed, sync.report.modeFixed)))) {
      failures.push('CRI-O reload command');
    }
    if (this.reporter) {
      await this.reporter.report(outcome).catch((e: unknown) => {
        log.warn({ err: String(e) }, 'cannot report to the Node');
        failures.push('report to the Node');
      });
    }
    if (failures.length > 0) outcome.followUpFailures = failures;
    // Probe what is installed now: only after a pass that installed every file.
    if (sync.ok && sync.report.errors.length === 0)
      this.probes?.installed(
        sync.plan.writes.map((w) => w.path),
        pub.contentHash,
        sync.changed,
      );
    return outcome;
  }

  private async checkContainerd(): Promise<ContainerdCheck | undefined> {
    if (!this.opts.containerdConfig) return undefined;
    try {
      return await checkContainerd(this.opts.root, this.opts.containerdConfig, this.opts.certsDir ?? DEFAULT_CERTS_DIR);
    } catch (e) {
      return { status: 'Unknown', reason: 'ConfigInvalid', message: String(e) };
    }
  }

  /** False when the command ran and failed. */
  private async reloadCrio(changedPaths: readonly string[]): Promise<boolean> {
    const cmd = this.opts.reloadCrioCommand;
    if (!cmd || !changedPaths.some((p) => p.startsWith('/etc/containers/'))) return true;
    const code = await runShell(cmd);
    if (code === 0) this.opts.log.info({ command: cmd }, 'CRI-O reload command succeeded');
    else this.opts.log.error({ command: cmd, code }, 'CRI-O reload command failed');
    return code === 0;
  }
}

/** What the agent reads from the published objects (src/contract.ts; pinned by test/unit/contract.test.ts). */
export function readPublication(target: AgentTarget, cm: V1ConfigMap | undefined, secret: V1Secret | undefined): Published {
  return {
    configMapRef: `ConfigMap ${target.namespace}/${target.name}`,
    secretRef: `Secret ${target.namespace}/${target.name}`,
    configMapData: cm ? (cm.data ?? {}) : undefined,
    secretData: secret ? decodeSecretData(secret.data) : undefined,
    contentHash: cm?.metadata?.annotations?.[CONTENT_HASH_ANNOTATION],
  };
}

/**
 * When files.json takes keys from the Secret and both objects carry a content
 * hash, they must agree: otherwise one of them is still being written and
 * applying now would mix two publications. The next watch event retries.
 */
export function inconsistency(cm: V1ConfigMap | undefined, secret: V1Secret | undefined): string | undefined {
  const cmHash = cm?.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  const secretHash = secret?.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  if (!cmHash || !secretHash || cmHash === secretHash) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(cm?.data?.[FILES_MANIFEST_KEY] ?? '{}');
  } catch {
    return undefined; // the plan reports it
  }
  const usesSecret = isRecord(manifest) && Object.values(manifest).some((e) => isRecord(e) && e.from === 'Secret');
  return usesSecret ? `waiting for the Secret (content hash ${secretHash}) to match the ConfigMap (${cmHash})` : undefined;
}

function logOutcome(log: Logger, o: Outcome): void {
  const c = conditionFor(o);
  const base = { target: `${o.target.namespace}/${o.target.name}`, contentHash: o.contentHash, reason: c.reason };
  if (!o.sync.ok) {
    log.error({ ...base, errors: o.sync.errors.map((e) => e.message) }, 'published configuration is invalid: nothing changed on the node');
    return;
  }
  const r = o.sync.report;
  const detail = { ...base, written: r.written, modeFixed: r.modeFixed, removed: r.removed, removedDirs: r.removedDirs };
  if (o.sync.changed) log.info(detail, 'applied');
  else log.debug({ ...base, unchanged: r.unchanged.length }, 'no change');
  if (r.foreign.length) log.warn({ ...base, foreign: r.foreign }, 'files not managed by image-mirror left in place');
  if (r.errors.length) log.error({ ...base, errors: r.errors }, 'some files could not be applied');
  if (o.containerd && o.containerd.status !== 'True') log.warn({ ...base, containerd: o.containerd }, o.containerd.message);
}

/** Retries `fn` with a doubling delay until it succeeds or `signal` aborts. */
async function retry<T>(fn: () => Promise<T>, what: string, log: Logger, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted || !signal) throw new Error(`cannot ${what}: ${describeError(e)}`, { cause: e });
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 10));
      log.warn({ err: describeError(e), retryInMs: delay }, `cannot ${what}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The published object, or undefined when it does not exist. */
async function readPublished<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await orUndefined(p);
  } catch (e) {
    throw new Error(`cannot read the published configuration: ${describeError(e)}`, { cause: e });
  }
}

/** A one-line description of an API or network error (never a stack). */
export function describeError(e: unknown): string {
  const code = statusCode(e);
  if (isRecord(e) && code !== undefined) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    try {
      const msg = (JSON.parse(body) as { message?: string }).message;
      if (msg) return `${msg} (HTTP ${code})`;
    } catch {
      // not a Status body
    }
    return `HTTP ${code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function runShell(cmd: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', () => resolve(127));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}
