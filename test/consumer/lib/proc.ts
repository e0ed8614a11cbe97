// Small process and filesystem helpers shared by the consumer-test harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Command line, for assertion messages. */
  command: string;
}

/**
 * Runs a program to completion and never throws on a non-zero exit: tests
 * assert on failures as often as on successes.
 */
export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        command: [cmd, ...args].join(' '),
      });
    });
  });
}

/** Runs a program and throws with its output when it fails (setup steps). */
export async function runOk(cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}\n${r.stdout}${r.stderr}`);
  return r;
}

/** A fresh temporary directory; the caller removes it with `removeDir`. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `imc-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once `child` has exited and its output streams are closed (so that
 * a `tailOf` holds its last words), with how it ended: "exited (code 1)".
 */
export function processGone(child: ChildProcess): Promise<string> {
  const how = (): string => (child.signalCode !== null ? `was killed by ${child.signalCode}` : `exited (code ${child.exitCode})`);
  if (child.exitCode === null && child.signalCode === null) {
    return new Promise((resolve) => child.once('close', () => resolve(how())));
  }
  // Already exited: 'close' may have come and gone; wait (briefly) only for streams still open.
  const open = [child.stdout, child.stderr].filter((s) => s !== null && !s.destroyed && !s.readableEnded);
  const drained = open.map((s) => new Promise<void>((r) => s?.once('close', () => r())));
  const brief = new Promise<void>((r) => setTimeout(r, 1_000).unref());
  return Promise.race([Promise.all(drained), brief]).then(how);
}

/**
 * Polls `check` every `intervalMs` until it returns true or `timeoutMs`
 * passes; an error from `check` counts as "not yet". Given the process that
 * should come up, the wait ends as soon as that process is gone, with how it
 * ended, instead of polling a dead daemon until the timeout.
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 50, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: string | undefined;
  const ended = child === undefined ? new Promise<never>(() => undefined) : processGone(child);
  void ended.then((how) => {
    gone = how;
  });
  for (;;) {
    const ok = await Promise.race([check().catch(() => false), ended.then(() => false)]);
    if (gone !== undefined) throw new Error(`the process ${gone} while waiting for ${what}`);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), ended]);
  }
}

const daemons = new Set<ChildProcess>();

/** One exit listener for all tracked children (one per child would pass Node's listener limit). */
let killOnExit = false;

/**
 * Remembers a long-running child so that it is killed when the test process
 * exits, even if mocha is interrupted before the `after` hooks run.
 */
export function track(child: ChildProcess): ChildProcess {
  if (!killOnExit) {
    killOnExit = true;
    process.once('exit', () => {
      for (const c of daemons) c.kill('SIGKILL');
    });
  }
  daemons.add(child);
  child.once('exit', () => daemons.delete(child));
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves once the process is gone. */
export function stopProcess(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Keeps the last `max` characters a child wrote, for error messages. */
export function tailOf(child: ChildProcess, max = 4_000): () => string {
  let buf = '';
  const keep = (b: Buffer): void => {
    buf = (buf + b.toString('utf8')).slice(-max);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => buf;
}
