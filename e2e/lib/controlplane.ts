// Starts and stops the local control plane (etcd + kube-apiserver built from
// source, see e2e/controlplane/) from Node by running its shell scripts, so a
// test run and `make controlplane` share one implementation.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ControlPlane {
  /** Directory holding certificates, etcd data, logs and pid files. */
  readonly stateDir: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfigPath: string;
  /** JSON lines, one per write to configmaps, secrets, imagemirror.io and hypershift.openshift.io. */
  readonly auditLogPath: string;
  readonly apiServerLogPath: string;
  readonly etcdLogPath: string;
}

export interface StartOptions {
  /** Defaults to a fresh directory under os.tmpdir(). */
  readonly stateDir?: string;
  /** Stop the control plane when this process exits, even by SIGKILL (default true). */
  readonly stopWithProcess?: boolean;
}

const STATE_DIR_PREFIX = 'image-mirror-cp-';

/** The repository root: the nearest ancestor of this file with the Makefile and e2e/controlplane. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'e2e', 'controlplane', 'up.sh'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find e2e/controlplane/up.sh above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function script(name: string): string {
  return path.join(repoRoot(), 'e2e', 'controlplane', name);
}

/** Runs a control-plane script; resolves with its stdout, rejects with its stderr tail. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => reject(new Error(`cannot run ${file}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(stdout.trim());
      const tail = stderr.trim().split('\n').slice(-25).join('\n');
      reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

export function controlPlaneIn(stateDir: string): ControlPlane {
  return {
    stateDir,
    kubeconfigPath: path.join(stateDir, 'kubeconfig'),
    auditLogPath: path.join(stateDir, 'audit.log'),
    apiServerLogPath: path.join(stateDir, 'kube-apiserver.log'),
    etcdLogPath: path.join(stateDir, 'etcd.log'),
  };
}

/** Starts etcd and kube-apiserver (building them first when the cache lacks them). */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), STATE_DIR_PREFIX)));
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.stopWithProcess !== false) env.CONTROLPLANE_OWNER_PID = String(process.pid);
  const kubeconfigPath = (await run(script('up.sh'), [stateDir], env)).split('\n').pop() ?? '';
  const cp = controlPlaneIn(path.dirname(kubeconfigPath));
  if (cp.kubeconfigPath !== kubeconfigPath) throw new Error(`up.sh printed an unexpected kubeconfig path "${kubeconfigPath}"`);
  return cp;
}

/**
 * The kubectl built with the control plane (e2e/controlplane/build.sh, the
 * same Kubernetes version), for tests that need kubectl's own behaviour
 * (server-side apply and its conflicts).
 */
export async function kubectlPath(): Promise<string> {
  const bin = process.env.CONTROLPLANE_BIN || (await run(script('build.sh'), [])).split('\n').pop() || '';
  return path.join(bin, 'kubectl');
}

/** Stops both servers; purge (default) also removes the state directory with its logs. */
export async function stopControlPlane(cp: ControlPlane, options: { purge?: boolean } = {}): Promise<void> {
  const args = [cp.stateDir, '--quiet'];
  if (options.purge !== false) args.push('--purge');
  await run(script('down.sh'), args);
}

/** Stops kube-apiserver only; etcd keeps the cluster state. */
export async function stopApiServer(cp: ControlPlane): Promise<void> {
  await run(script('apiserver.sh'), [cp.stateDir, 'stop']);
}

/** Starts kube-apiserver again with its saved command line and waits for /readyz. */
export async function startApiServer(cp: ControlPlane): Promise<void> {
  await run(script('apiserver.sh'), [cp.stateDir, 'start']);
}

/** Stop and start kube-apiserver: same ports, certificates and data. */
export async function restartApiServer(cp: ControlPlane): Promise<void> {
  await run(script('apiserver.sh'), [cp.stateDir, 'restart']);
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '';
    return fields.length > 0 && !fields.startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Removes control planes of earlier runs whose owning process is gone but
 * whose cleanup never ran (the owner and its watchdog both killed).
 */
export async function sweepStaleControlPlanes(): Promise<string[]> {
  const swept: string[] = [];
  const entries = await readdir(os.tmpdir()).catch(() => [] as string[]);
  for (const name of entries.filter((e) => e.startsWith(STATE_DIR_PREFIX))) {
    const dir = path.join(os.tmpdir(), name);
    if (!(await isStale(dir))) continue;
    await stopControlPlane(controlPlaneIn(dir));
    swept.push(dir);
  }
  return swept;
}

async function isStale(dir: string): Promise<boolean> {
  const ownerFile = path.join(dir, 'owner.pid');
  if (existsSync(ownerFile)) return !pidAlive(readPid(ownerFile));
  // No owner: started by hand or still starting; only an old one with no live server counts.
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || Date.now() - info.mtimeMs < 3600_000) return false;
  return !['etcd.pid', 'kube-apiserver.pid'].some((f) => pidAlive(readPid(path.join(dir, f))));
}

function readPid(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return 0;
  }
}
