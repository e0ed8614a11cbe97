// The API server the fleet benchmarks run against: the local control plane
// (e2e/controlplane, started here and stopped after) or an existing cluster
// from --kubeconfig. Only the local one has an audit log to count writes.
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
