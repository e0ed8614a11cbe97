// The API server the fleet benchmarks run against: the local control plane
// (e2e/controlplane, started here and stopped after) or an existing cluster
// from --kubeconfig. Only the local one has an audit log to count writes.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog } from '../../e2e/lib/audit.js';
import { repoRoot, startControlPlane, stopControlPlane, type ControlPlane } from '../../e2e/lib/controlplane.js';
import { applyAll, connect, isAlreadyExists, readYamlDir, type Kube } from '../../e2e/lib/kube.js';

export interface BenchCluster {
  kubeconfig: string;
  kube: Kube;
  /** Undefined against an existing cluster. */
  audit?: AuditLog;
  /** The local control plane (to stop and start its API server); undefined against an existing cluster. */
  controlPlane?: ControlPlane;
  stop(): Promise<void>;
}

/** Starts the local control plane unless `kubeconfig` is given; installs the CRDs either way. */
export async function openCluster(kubeconfig: string | undefined): Promise<BenchCluster> {
  let cp: ControlPlane | undefined;
  if (!kubeconfig) {
    cp = await startControlPlane();
    kubeconfig = cp.kubeconfigPath;
  }
  const kube = connect(kubeconfig);
  await installCrds(kube);
  return {
    kubeconfig,
    kube,
    ...(cp ? { audit: new AuditLog(cp.auditLogPath), controlPlane: cp } : {}),
    stop: async () => {
      if (cp) await stopControlPlane(cp);
    },
  };
}

async function installCrds(k: Kube): Promise<void> {
  const root = repoRoot();
  const docs = [...(await readYamlDir(path.join(root, 'crds'))), ...(await readYamlDir(path.join(root, 'crds', 'hypershift-compat')))];
  const { failed } = await applyAll(k, docs);
  if (failed.length > 0) throw new Error(`installing CRDs failed:\n${failed.map((f) => f.error).join('\n')}`);
}

export async function ensureNamespace(k: Kube, name: string): Promise<void> {
  try {
    await k.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight; rejects on the first error. */
export async function inPool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `intervalMs` until it is true; throws after `timeoutMs` naming `what`. */
export async function pollUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** CPU seconds (user + system) the local control plane's processes have used so far; undefined against an existing cluster. */
export interface ServerCpu {
  apiServer: number;
  etcd: number;
}

export function serverCpu(cluster: BenchCluster): ServerCpu | undefined {
  const dir = cluster.controlPlane?.stateDir;
  if (!dir) return undefined;
  const of = (pidFile: string): number => {
    try {
      const pid = readFileSync(path.join(dir, pidFile), 'utf8').trim();
      return processCpuSeconds(Number(pid));
    } catch {
      return Number.NaN;
    }
  };
  return { apiServer: of('kube-apiserver.pid'), etcd: of('etcd.pid') };
}

/** CPU seconds of a process from /proc/<pid>/stat (utime + stime, in clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What a phase cost the control plane: the difference of two serverCpu readings. */
export function serverCpuSince(cluster: BenchCluster, before: ServerCpu | undefined): ServerCpu | undefined {
  const now = serverCpu(cluster);
  return now && before ? { apiServer: now.apiServer - before.apiServer, etcd: now.etcd - before.etcd } : undefined;
}
