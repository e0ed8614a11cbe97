// Mocha root hooks for the e2e suite. With $KUBECONFIG set the tests use that
// cluster; otherwise one local control plane (etcd + kube-apiserver, see
// docs/controlplane.md) is started for the whole run and stopped after it.
// Either way the project's CRDs are installed before the first test.
import type { Context } from 'mocha';
import path from 'node:path';
import { AuditLog } from './lib/audit.js';
import { repoRoot, startControlPlane, stopControlPlane, sweepStaleControlPlanes, type ControlPlane } from './lib/controlplane.js';
import { applyAll, connect, readYamlDir, type Kube } from './lib/kube.js';

let local: ControlPlane | undefined;
let kubeconfig: string | undefined;

/** Kubeconfig of the cluster under test. */
export function kubeconfigPath(): string {
  if (!kubeconfig) throw new Error('the e2e root hook has not run: load dist/e2e/hooks.js with mocha --require');
  return kubeconfig;
}

/** A fresh client set for the cluster under test. */
export function kube(): Kube {
  return connect(kubeconfigPath());
}

/**
 * The local control plane, or undefined when the tests run against
 * $KUBECONFIG. Fault tests (restartApiServer) and audit-log checks need it
 * and should skip without it.
 */
export function localControlPlane(): ControlPlane | undefined {
  return local;
}

/** The audit log of the local control plane, undefined against another cluster. */
export function auditLog(): AuditLog | undefined {
  return local ? new AuditLog(local.auditLogPath) : undefined;
}

/** The project's CRDs: crds/*.yaml and crds/hypershift-compat/*.yaml. */
export async function installCrds(k: Kube): Promise<number> {
  const root = repoRoot();
  const docs = [...(await readYamlDir(path.join(root, 'crds'))), ...(await readYamlDir(path.join(root, 'crds', 'hypershift-compat')))];
  const { applied, failed } = await applyAll(k, docs);
  if (failed.length > 0) throw new Error(`installing CRDs failed:\n${failed.map((f) => f.error).join('\n')}`);
  return applied.length;
}

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    // A cold build of the control plane takes minutes; a cached one starts in seconds.
    this.timeout(30 * 60_000);
    if (process.env.KUBECONFIG) {
      kubeconfig = process.env.KUBECONFIG;
    } else {
      await sweepStaleControlPlanes();
      local = await startControlPlane();
      kubeconfig = local.kubeconfigPath;
      process.env.KUBECONFIG = kubeconfig;
    }
    await installCrds(kube());
  },

  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    if (!local) return;
    const cp = local;
    local = undefined;
    if (process.env.KUBECONFIG === cp.kubeconfigPath) delete process.env.KUBECONFIG;
    // KEEP_CONTROLPLANE=1 keeps logs and audit.log for a post-mortem.
    await stopControlPlane(cp, { purge: process.env.KEEP_CONTROLPLANE !== '1' });
    if (process.env.KEEP_CONTROLPLANE === '1') console.log(`control plane logs kept in ${cp.stateDir}`);
  },
};
