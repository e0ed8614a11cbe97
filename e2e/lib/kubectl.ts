// kubectl, as users run it, for tests of what `kubectl get` and `kubectl
// describe` show (printer columns, Events). The binary is the one the
// control plane build puts in its cache (e2e/controlplane/build.sh prints the
// directory; a cached build answers at once).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './controlplane.js';

let binDir: Promise<string> | undefined;

function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${err.message}\n${stderr}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Runs kubectl against `kubeconfig`; resolves with its stdout, rejects with its stderr. */
export async function kubectl(kubeconfig: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  binDir ??= run(path.join(repoRoot(), 'e2e', 'controlplane', 'build.sh'), [], 15 * 60_000).then((out) => out.trim().split('\n').pop() ?? '');
  return run(path.join(await binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], timeoutMs);
}

/** The rows of `kubectl get` as objects keyed by the column headers (columns are split at runs of 2+ spaces). */
export function table(output: string): Array<Record<string, string>> {
  const [header, ...rows] = output.split('\n').filter((l) => l.trim() !== '');
  if (!header) return [];
  // Column starts from the header: a header cell may hold one space ("CONTENT HASH").
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index ?? 0 }));
  return rows.map((row) => Object.fromEntries(starts.map((c, i) => [c.name, row.slice(c.at, starts[i + 1]?.at ?? row.length).trim()])));
}
