// Helpers for the chain tests: the agent as a child process, and the
// objects the operator publishes for a target.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CONTENT_HASH_KEY, outputContentHash } from '../../src/contract.js';
import { run, stopProcess, track, type RunResult } from '../../test/consumer/lib/proc.js';

/** The real CLI entry point, so the agent runs exactly as `image-mirror agent`. */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** One JSON log line of the agent (pino). */
export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** The agent running in watch mode, its log kept for assertions and failure messages. */
export class AgentProcess {
  private buf = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (b: Buffer) => (this.buf += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (this.buf += b.toString('utf8')));
  }

  static start(args: readonly string[]): AgentProcess {
    return new AgentProcess(track(spawn(process.execPath, [MAIN, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })));
  }

  lines(): LogLine[] {
    return this.buf
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }

  /** The last few log lines, for assertion messages. */
  tail(n = 30): string {
    return this.buf.split('\n').slice(-n).join('\n');
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** SIGTERM and wait; resolves with the exit code (0 after a clean stop). */
  async stop(): Promise<number | null> {
    await stopProcess(this.child, 5_000);
    return this.child.exitCode;
  }
}

/** `agent --once ARGS`: exit code and log. */
export function agentOnce(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [MAIN, 'agent', '--once', ...args], { timeoutMs: 60_000 });
}

export interface FileSpec {
  key: string;
  path: string;
  content: string;
  secret?: boolean;
}

/**
 * The ConfigMap and Secret an operator publishes for `files` (shared contract), with the content hash the
 * operator would write (src/contract.ts: the agent installs nothing that does not match it).
 */
export function publication(namespace: string, name: string, files: readonly FileSpec[]): { cm: V1ConfigMap; secret: V1Secret; hash: string } {
  const manifest: Record<string, { path: string; mode: string; from: 'ConfigMap' | 'Secret' }> = {};
  const data: Record<string, string> = {};
  const secretFiles: Record<string, string> = {};
  for (const f of files) {
    manifest[f.key] = { path: f.path, mode: f.secret ? '0600' : '0644', from: f.secret ? 'Secret' : 'ConfigMap' };
    if (f.secret) secretFiles[f.key] = f.content;
    else data[f.key] = f.content;
  }
  data['files.json'] = JSON.stringify(manifest);
  const hasSecret = Object.keys(secretFiles).length > 0;
  const plain: Record<string, string> = hasSecret ? { ...secretFiles, [CONTENT_HASH_KEY]: randomBytes(32).toString('hex') } : {};
  const hash = outputContentHash(data, hasSecret ? plain : undefined);
  const secretData = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const metadata = {
    name,
    namespace,
    labels: { 'imagemirror.io/output': 'true', 'imagemirror.io/target': 'cluster' },
    annotations: { 'imagemirror.io/content-hash': hash },
  };
  return { cm: { metadata, data }, secret: { metadata, type: 'Opaque', data: secretData }, hash };
}
