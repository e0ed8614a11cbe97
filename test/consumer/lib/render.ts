// Runs the real CLI (`bin/image-mirror render`) on input documents and
// hands back the directory tree it wrote, as a node would have it under /.
import { existsSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import type { Doc } from './inputs.js';
import { run, tempDir, type RunResult } from './proc.js';

/** Repository root, from dist/test/consumer/lib/render.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The CLI under test; IMAGE_MIRROR_CLI runs the suite against another build of it. */
const CLI = process.env.IMAGE_MIRROR_CLI ?? join(REPO_ROOT, 'bin', 'image-mirror');
const CLI_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface Rendered {
  /** The --out directory: holds `etc/containers/...` and `etc/containerd/...`. */
  out: string;
  /** `<out>/etc/containerd/certs.d`: what `ctr --hosts-dir` gets. */
  hostsDir: string;
  result: RunResult;
  /** With `machineConfig: true` (and a target): the file `--machineconfig` wrote. */
  machineConfig?: string;
}

// Rendered trees are read until the end of a test file; they are removed
// when the test process exits.
const renderDirs: string[] = [];
process.once('exit', () => {
  for (const d of renderDirs) rmSync(d, { recursive: true, force: true });
});

function cliBuilt(): boolean {
  return process.env.IMAGE_MIRROR_CLI !== undefined || existsSync(CLI_MAIN);
}

/** Writes `docs` as one multi-document YAML file and runs `image-mirror render` on it. */
export interface RenderOptions {
  /** `--target ns/nodepool`. */
  target?: string;
  /** Also write the NodePool's MachineConfig (`--machineconfig`), as the operator publishes it. */
  machineConfig?: boolean;
}

export async function render(docs: readonly Doc[], opts: RenderOptions = {}): Promise<Rendered> {
  if (!cliBuilt()) throw new Error(`${CLI_MAIN} is missing: build first (npx tsc -p .)`);
  const dir = await tempDir('render');
  renderDirs.push(dir);
  const input = join(dir, 'input.yaml');
  await writeFile(input, docs.map((d) => dump(d)).join('---\n'));
  const out = join(dir, 'out');
  const args = [CLI, 'render', '--out', out];
  if (opts.target) args.push('--target', opts.target);
  const machineConfig = opts.machineConfig ? join(dir, 'machineconfig.json') : undefined;
  if (machineConfig) args.push('--machineconfig', machineConfig);
  args.push(input);
  const result = await run(process.execPath, args, { timeoutMs: 30_000 });
  return { out, hostsDir: join(out, 'etc', 'containerd', 'certs.d'), result, ...(machineConfig ? { machineConfig } : {}) };
}

/** Like `render`, but throws with the CLI's output unless it exits 0. */
export async function renderOk(docs: readonly Doc[], opts: RenderOptions = {}): Promise<Rendered> {
  const r = await render(docs, opts);
  if (r.result.code !== 0) {
    throw new Error(`image-mirror render exited ${r.result.code}\n${r.result.stderr}${r.result.stdout}`);
  }
  return r;
}

/** Every file the CLI wrote, path relative to --out -> content (for failure messages). */
export async function listing(out: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files[relative(out, p)] = await readFile(p, 'utf8');
    }
  };
  if (existsSync(out)) await walk(out);
  return files;
}

/** The rendered tree as text, for assertion messages. */
export async function describeRendered(out: string): Promise<string> {
  const files = await listing(out);
  return Object.entries(files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, text]) => `--- ${path}\n${redact(path, text)}`)
    .join('\n');
}

/** Test credentials are still credentials: keep them out of test output. */
function redact(path: string, text: string): string {
  if (path.endsWith('auth.json')) return '(credentials, not shown)';
  return text.replace(/(authorization\s*=\s*)(\[?)"[^"]*"/gi, '$1$2"<redacted>"');
}
