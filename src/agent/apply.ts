// Carries a plan out under a root directory (`/` on a node, `/host` in a
// DaemonSet, a temporary directory in tests).
//
// Invariants:
// - every write is atomic: a temporary file in the same directory, fsync,
//   rename, then fsync of the directory; a reader (containerd re-reads
//   hosts.toml on every pull) sees the old or the new file, never a mix;
// - a file that exists without the marker is never written or removed;
// - no path component below the root may be a symbolic link;
// - unchanged content is not written (the mtime stays), a wrong mode is fixed
//   with chmod alone;
// - the state file lists every written file before it is written, so a crash
//   never leaves an owned file the next run does not know about.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import { formatOf, hasMarker, type FileFormat } from './marker.js';
import type { Plan, PlannedWrite } from './plan.js';
import { errCode, hostPath, serializeState, type AgentState } from './state.js';
import { byteOrder } from '../common/values.js';

export interface ApplyOptions {
  root: string;
  /** Node path of the state file. */
  statePath: string;
  /** Recorded in the state file. */
  source?: string | undefined;
  contentHash?: string | undefined;
}

export interface ApplyReport {
  written: string[];
  modeFixed: string[];
  unchanged: string[];
  removed: string[];
  removedDirs: string[];
  /** Files present without the marker (or not regular files): left alone. */
  foreign: { path: string; why: string }[];
  errors: { path: string; message: string }[];
}

export function changed(r: ApplyReport): boolean {
  return r.written.length + r.modeFixed.length + r.removed.length + r.removedDirs.length > 0;
}

type Existing = { kind: 'absent' } | { kind: 'foreign'; why: string } | { kind: 'ours'; content: string; mode: number };

/** Applies `plan`, returns what happened and the new state (already saved). */
export async function applyPlan(plan: Plan, state: AgentState, opts: ApplyOptions): Promise<{ report: ApplyReport; state: AgentState }> {
  const report: ApplyReport = { written: [], modeFixed: [], unchanged: [], removed: [], removedDirs: [], foreign: [], errors: [] };
  const files = new Set(state.files.filter((p) => !plan.ignoredOwned.includes(p)));
  const dirs = new Set(state.dirs);
  const save = (): Promise<void> => saveState(opts, { files: [...files], dirs: [...dirs], source: opts.source, contentHash: opts.contentHash });

  for (const w of plan.writes) files.add(w.path);
  await save();
  for (const w of plan.writes) {
    // After an I/O error the path stays listed: whatever is there is retried next time.
    const outcome = await attempt(report, w.path, () => writeOne(opts.root, w, dirs, report));
    if (outcome === 'foreign') files.delete(w.path);
  }
  for (const p of plan.removals) {
    const outcome = await attempt(report, p, () => removeOne(opts.root, p, report));
    if (outcome !== 'kept') files.delete(p);
  }
  await removeEmptyDirs(opts.root, dirs, report);
  await save();
  return { report, state: { files: [...files].sort(), dirs: [...dirs].sort(), source: opts.source, contentHash: opts.contentHash } };
}

/** Runs one step, turning an I/O failure into a report entry so other files still get done. */
async function attempt<T extends string>(report: ApplyReport, path: string, step: () => Promise<T>): Promise<T | 'kept'> {
  try {
    return await step();
  } catch (e) {
    report.errors.push({ path, message: e instanceof Error ? e.message : String(e) });
    return 'kept';
  }
}

async function writeOne(root: string, w: PlannedWrite, dirs: Set<string>, report: ApplyReport): Promise<'ours' | 'foreign'> {
  await refuseSymlinks(root, w.path);
  const existing = await inspect(root, w.path, w.format);
  if (existing.kind === 'foreign') {
    report.foreign.push({ path: w.path, why: existing.why });
    return 'foreign';
  }
  if (existing.kind === 'ours' && existing.content === w.content) {
    if (existing.mode === w.mode) report.unchanged.push(w.path);
    else {
      await chmod(hostPath(root, w.path), w.mode);
      report.modeFixed.push(w.path);
    }
    return 'ours';
  }
  await makeParents(root, posix.dirname(w.path), dirs);
  await atomicWrite(hostPath(root, w.path), w.content, w.mode);
  report.written.push(w.path);
  return 'ours';
}

async function removeOne(root: string, nodePath: string, report: ApplyReport): Promise<'removed' | 'gone' | 'foreign'> {
  await refuseSymlinks(root, nodePath);
  const format = formatOf(nodePath);
  const existing: Existing = format ? await inspect(root, nodePath, format) : { kind: 'foreign', why: 'unknown file type' };
  if (existing.kind === 'absent') return 'gone';
  if (existing.kind === 'foreign') {
    report.foreign.push({ path: nodePath, why: existing.why });
    return 'foreign';
  }
  await unlink(hostPath(root, nodePath));
  await fsyncDir(dirname(hostPath(root, nodePath)));
  report.removed.push(nodePath);
  return 'removed';
}

/** What is at `nodePath` now, as far as ownership goes. */
async function inspect(root: string, nodePath: string, format: FileFormat): Promise<Existing> {
  const p = hostPath(root, nodePath);
  let st: Stats;
  try {
    st = await lstat(p);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return { kind: 'absent' };
    throw e;
  }
  if (!st.isFile()) return { kind: 'foreign', why: st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file' };
  const content = await readFile(p, 'utf8');
  if (!hasMarker(format, content)) return { kind: 'foreign', why: 'exists without the image-mirror marker' };
  return { kind: 'ours', content, mode: st.mode & 0o7777 };
}

/** Throws when a directory between the root and `nodePath` is a symbolic link. */
async function refuseSymlinks(root: string, nodePath: string): Promise<void> {
  const parts = nodePath.split('/').filter(Boolean);
  for (let i = 1; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    const st = await lstat(hostPath(root, dir)).catch((e: unknown) => {
      if (errCode(e) === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) return;
    if (st.isSymbolicLink()) throw new Error(`refusing to write below ${dir}: it is a symbolic link`);
    if (!st.isDirectory()) throw new Error(`refusing to write below ${dir}: it is not a directory`);
  }
}

/** Creates missing directories from the top down, recording each one created. */
async function makeParents(root: string, nodeDir: string, dirs: Set<string>): Promise<void> {
  const parts = nodeDir.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    try {
      await mkdir(hostPath(root, dir), { mode: 0o755 });
      dirs.add(dir);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
  }
}

/** Removes directories the agent created once they are empty, deepest first. */
async function removeEmptyDirs(root: string, dirs: Set<string>, report: ApplyReport): Promise<void> {
  const byDepth = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || byteOrder(a, b));
  for (const dir of byDepth) {
    const entries = await readdir(hostPath(root, dir)).catch((e: unknown) => (errCode(e) === 'ENOENT' ? undefined : ['?']));
    if (entries === undefined) dirs.delete(dir);
    else if (entries.length === 0) {
      // A mount point (EBUSY) or a read-only file system stays; it is retried on the next pass.
      const removed = await rmdir(hostPath(root, dir)).then(
        () => true,
        () => false,
      );
      if (removed) {
        dirs.delete(dir);
        report.removedDirs.push(dir);
      }
    }
  }
}

/** Writes `content` to `path` atomically with `mode`, whatever the umask. */
export async function atomicWrite(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${dirname(path)}/.${posix.basename(path)}.image-mirror-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function saveState(opts: ApplyOptions, s: AgentState): Promise<void> {
  const p = hostPath(opts.root, opts.statePath);
  await mkdir(dirname(p), { recursive: true, mode: 0o755 });
  await atomicWrite(p, serializeState(s), 0o644);
}
