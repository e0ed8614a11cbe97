// Helpers for the operator e2e tests: the operator as a child process
// (`node dist/src/cli/main.js controller`, so kill and restart behave as in a
// pod), readers for its outputs and statuses, and builders for inputs.
import { KubeConfig, type CoreV1Event, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { freePort, stopProcess, track } from '../../test/consumer/lib/proc.js';
import { isNotFound, waitUntil, type Kube } from '../lib/kube.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const GROUP = 'imagemirror.io';
export const VERSION = 'v1alpha1';
export const HS = 'hypershift.openshift.io/v1beta1';

/** One JSON log line (pino). */
export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface OperatorOptions {
  kubeconfig: string;
  namespace: string;
  args?: readonly string[];
}

/** The operator running as a child process, with its log and its HTTP ports. */
export class OperatorProcess {
  private buf = '';
  readonly startedAt = Date.now();

  private constructor(
    private readonly child: ChildProcess,
    readonly metricsPort: number,
    readonly probePort: number,
  ) {
    child.stdout?.on('data', (b: Buffer) => (this.buf += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (this.buf += b.toString('utf8')));
  }

  static async start(opts: OperatorOptions): Promise<OperatorProcess> {
    const [metricsPort, probePort] = [await freePort(), await freePort()];
    const args = [
      MAIN,
      'controller',
      '--kubeconfig',
      opts.kubeconfig,
      '--namespace',
      opts.namespace,
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      '--health-probe-bind-address',
      `127.0.0.1:${probePort}`,
      '--log-level',
      'debug',
      ...(opts.args ?? []),
    ];
    const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    return new OperatorProcess(child, metricsPort, probePort);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  lines(): LogLine[] {
    return this.buf
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }

  /** The whole log as text (for "never contains" checks). */
  text(): string {
    return this.buf;
  }

  tail(n = 40): string {
    return this.buf.split('\n').slice(-n).join('\n');
  }

  async readyz(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.probePort}/readyz`).catch(() => undefined);
    return res?.status ?? 0;
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitUntil('the operator to be ready', async () => (await this.readyz()) === 200, { timeoutMs, intervalMs: 50 });
  }

  async metricsText(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /** Sum of a metric's samples whose labels include `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumSamples(await this.metricsText(), name, labels);
  }

  /** Resident set size from /proc (Linux). */
  rssBytes(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /** SIGKILL: no cleanup, the Lease is left to expire. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM and wait: the graceful path (drain, release the Lease). Resolves with the exit code. */
  async stop(): Promise<number | null> {
    await stopProcess(this.child, 10_000);
    return this.child.exitCode;
  }
}

export function sumSamples(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

// ---------------------------------------------------------------- reading results

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface RmcStatus {
  contentHash?: string;
  outputs?: { configMap: string; secret?: string };
  sources?: number;
  contributors?: Array<{ kind: string; name: string; namespace?: string; generation?: number; location?: string }>;
  warnings?: Array<{ code: string; source: string }>;
  conditions?: Condition[];
  observedGeneration?: number;
  /** NodePool targets: the published config key and a held change of it. */
  delivery?: {
    configHash?: string;
    configChangedTime?: string;
    pendingConfigHash?: string;
    pendingSince?: string;
    publishAfter?: string;
    approvalRequired?: boolean;
  };
  containerdWarnings?: Array<{ code: string; renderer: string; source: string }>;
  containerdWarningCount?: number;
}

export interface CustomObject {
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  status?: RmcStatus;
}

export async function readRmc(k: Kube, namespace: string, name: string): Promise<CustomObject | undefined> {
  try {
    return (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'renderedmirrorconfigs', namespace, name })) as CustomObject;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readClusterObject(k: Kube, plural: string, name: string): Promise<CustomObject> {
  return (await k.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural, name })) as CustomObject;
}

export function condition(status: RmcStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export async function readConfigMap(k: Kube, namespace: string, name: string): Promise<V1ConfigMap | undefined> {
  try {
    return await k.core.readNamespacedConfigMap({ namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readSecret(k: Kube, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await k.core.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Waits until the target's status says Ready=True with a hash, and returns it. */
export async function waitReady(k: Kube, namespace: string, name: string, opts: { timeoutMs?: number; notHash?: string } = {}): Promise<CustomObject> {
  return waitUntil(
    `RenderedMirrorConfig ${namespace}/${name} Ready${opts.notHash ? ' with a new hash' : ''}`,
    async () => {
      const rmc = await readRmc(k, namespace, name);
      const ready = condition(rmc?.status, 'Ready');
      if (ready?.status !== 'True' || !rmc?.status?.contentHash) return undefined;
      if (opts.notHash && rmc.status.contentHash === opts.notHash) return undefined;
      return rmc;
    },
    { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 50 },
  );
}

/** Waits until the target is Degraded with `reason`, and returns the status object. */
export async function waitDegraded(k: Kube, namespace: string, name: string, reason: string, timeoutMs = 30_000): Promise<CustomObject> {
  return waitUntil(
    `RenderedMirrorConfig ${namespace}/${name} Degraded ${reason}`,
    async () => {
      const rmc = await readRmc(k, namespace, name);
      const d = condition(rmc?.status, 'Degraded');
      return d?.status === 'True' && d.reason === reason ? rmc : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

export interface RegistriesConf {
  registry?: Array<{
    location?: string;
    prefix?: string;
    blocked?: boolean;
    insecure?: boolean;
    'mirror-by-digest-only'?: boolean;
    mirror?: Array<{ location: string; 'pull-from-mirror'?: string; insecure?: boolean }>;
  }>;
}

export function registriesConf(cm: V1ConfigMap | undefined): RegistriesConf {
  const text = cm?.data?.['registries.conf'];
  if (text === undefined) throw new Error(`ConfigMap ${cm?.metadata?.name} has no registries.conf`);
  return parseToml(text) as RegistriesConf;
}

/** `location -> [mirror locations]` of a parsed registries.conf. */
export function mirrorsByLocation(conf: RegistriesConf): Record<string, string[]> {
  return Object.fromEntries((conf.registry ?? []).map((r) => [r.location ?? r.prefix ?? '', (r.mirror ?? []).map((m) => m.location)]));
}

/** Events about objects named `name` in `namespace`; only those about a `kind` when given (a NodePool and its RenderedMirrorConfig share a name). */
export async function eventsAbout(k: Kube, namespace: string, name: string, kind?: string): Promise<CoreV1Event[]> {
  const fieldSelector = `involvedObject.name=${name}${kind ? `,involvedObject.kind=${kind}` : ''}`;
  return (await k.core.listNamespacedEvent({ namespace, fieldSelector })).items;
}

// ---------------------------------------------------------------- building inputs

export function idmsDoc(name: string, entries: Array<{ source: string; mirrors: string[]; mirrorSourcePolicy?: string }>): string {
  const lines = ['apiVersion: config.openshift.io/v1', 'kind: ImageDigestMirrorSet', `metadata: {name: ${name}}`, 'spec:', '  imageDigestMirrors:'];
  for (const e of entries) {
    lines.push(`  - source: ${e.source}`, `    mirrors: [${e.mirrors.join(', ')}]`);
    if (e.mirrorSourcePolicy) lines.push(`    mirrorSourcePolicy: ${e.mirrorSourcePolicy}`);
  }
  return `${lines.join('\n')}\n`;
}

export function itmsDoc(name: string, entries: Array<{ source: string; mirrors: string[] }>): string {
  const lines = ['apiVersion: config.openshift.io/v1', 'kind: ImageTagMirrorSet', `metadata: {name: ${name}}`, 'spec:', '  imageTagMirrors:'];
  for (const e of entries) lines.push(`  - source: ${e.source}`, `    mirrors: [${e.mirrors.join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** Creates or replaces a custom object (cluster-scoped when `namespace` is undefined). */
export async function putCustom(k: Kube, plural: string, apiVersion: string, body: CustomObject & { kind: string }): Promise<void> {
  const [group = '', version = ''] = apiVersion.split('/');
  const ns = body.metadata.namespace;
  const full = { apiVersion, ...body };
  try {
    const cur = (
      ns
        ? await k.custom.getNamespacedCustomObject({ group, version, plural, namespace: ns, name: body.metadata.name })
        : await k.custom.getClusterCustomObject({ group, version, plural, name: body.metadata.name })
    ) as CustomObject;
    full.metadata = { ...full.metadata, ...(cur.metadata.resourceVersion ? { resourceVersion: cur.metadata.resourceVersion } : {}) };
    if (ns) await k.custom.replaceNamespacedCustomObject({ group, version, plural, namespace: ns, name: body.metadata.name, body: full });
    else await k.custom.replaceClusterCustomObject({ group, version, plural, name: body.metadata.name, body: full });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    if (ns) await k.custom.createNamespacedCustomObject({ group, version, plural, namespace: ns, body: full });
    else await k.custom.createClusterCustomObject({ group, version, plural, body: full });
  }
}

export async function deleteCustom(k: Kube, plural: string, apiVersion: string, name: string, namespace?: string): Promise<void> {
  const [group = '', version = ''] = apiVersion.split('/');
  try {
    if (namespace) await k.custom.deleteNamespacedCustomObject({ group, version, plural, namespace, name });
    else await k.custom.deleteClusterCustomObject({ group, version, plural, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function putConfigMap(k: Kube, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const body: V1ConfigMap = { metadata: { name, namespace }, data };
  try {
    await k.core.replaceNamespacedConfigMap({ namespace, name, body });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await k.core.createNamespacedConfigMap({ namespace, body });
  }
}

export async function putSecret(k: Kube, namespace: string, name: string, type: string, stringData: Record<string, string>): Promise<void> {
  const body: V1Secret = { metadata: { name, namespace }, type, stringData };
  try {
    await k.core.replaceNamespacedSecret({ namespace, name, body });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await k.core.createNamespacedSecret({ namespace, body });
  }
}

export async function createNamespace(k: Kube, name: string): Promise<void> {
  await k.core.createNamespace({ body: { metadata: { name } } });
}

/** A kubeconfig file in `dir` for the ServiceAccount: the admin's server and CA, a TokenRequest token as the user. */
export async function serviceAccountKubeconfig(k: Kube, sa: { namespace: string; name: string }, dir: string): Promise<string> {
  const req = await k.core.createNamespacedServiceAccountToken({ ...sa, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = req.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${sa.namespace}/${sa.name} returned no token`);
  const cluster = k.kc.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: cluster.name, server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: sa.name, token }],
    contexts: [{ name: sa.name, cluster: cluster.name, user: sa.name }],
    currentContext: sa.name,
  });
  const file = path.join(dir, `${sa.name}.kubeconfig`);
  await writeFile(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}
