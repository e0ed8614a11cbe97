// The agent's state file: which node paths it owns and which directories it
// created, so it can remove what is no longer published. Files also carry a
// marker (marker.ts); the state file says where to look, the marker proves
// ownership. When the state file is lost the marker lets the agent find its
// files again.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatOf, hasMarker } from './marker.js';
import type { AllowedRoot } from './plan.js';
import { isRecord } from '../common/values.js';

export const DEFAULT_STATE_PATH = '/var/lib/image-mirror/owned.json';

export interface AgentState {
  /** Node paths of files the agent wrote, sorted. */
  files: string[];
  /** Node paths of directories the agent created, sorted. */
  dirs: string[];
  /** Output the files came from (`ConfigMap ns/name`) and its content hash, for people reading the file. */
  source?: string | undefined;
  contentHash?: string | undefined;
}

export type LoadedState = { state: AgentState; recovered?: string };

/** Host path of a node path under `root`. */
export function hostPath(root: string, nodePath: string): string {
  return join(root, nodePath);
}

/**
 * Reads the state file. When it is missing or unreadable, rebuilds the file
 * list from the markers found under the allowed roots and says so in
 * `recovered`.
 */
export async function loadState(root: string, statePath: string, roots: readonly AllowedRoot[]): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(hostPath(root, statePath), 'utf8');
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw new Error(`cannot read state file ${statePath}: ${String(e)}`, { cause: e });
    return { state: { files: await discoverOwned(root, roots), dirs: [] }, recovered: `state file ${statePath} not found` };
  }
  const parsed = parseState(text);
  if (parsed) return { state: parsed };
  return { state: { files: await discoverOwned(root, roots), dirs: [] }, recovered: `state file ${statePath} is not valid; rebuilt from markers` };
}

function parseState(text: string): AgentState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || !isStringArray(v.files) || !isStringArray(v.dirs)) return undefined;
  const state: AgentState = { files: [...v.files].sort(), dirs: [...v.dirs].sort() };
  if (typeof v.source === 'string') state.source = v.source;
  if (typeof v.contentHash === 'string') state.contentHash = v.contentHash;
  return state;
}

export function serializeState(s: AgentState): string {
  return `${JSON.stringify({ version: 1, ...s, files: [...s.files].sort(), dirs: [...s.dirs].sort() }, null, 2)}\n`;
}

/** Files carrying the marker under the allowed roots (three levels deep covers every contract path). */
export async function discoverOwned(root: string, roots: readonly AllowedRoot[]): Promise<string[]> {
  const found: string[] = [];
  for (const r of roots) {
    if (r.kind === 'file') {
      if (await isMarkedFile(root, r.path)) found.push(r.path);
    } else {
      await walk(root, r.path, 3, found);
    }
  }
  return found.sort();
}

async function walk(root: string, dir: string, depth: number, found: string[]): Promise<void> {
  if (depth === 0) return;
  let names: string[];
  try {
    names = await readdir(hostPath(root, dir));
  } catch {
    return;
  }
  for (const name of names.sort()) {
    const p = `${dir}/${name}`;
    const st = await lstat(hostPath(root, p)).catch(() => undefined);
    if (st?.isDirectory()) await walk(root, p, depth - 1, found);
    else if (st?.isFile() && (await isMarkedFile(root, p))) found.push(p);
  }
}

async function isMarkedFile(root: string, nodePath: string): Promise<boolean> {
  const format = formatOf(nodePath);
  if (!format) return false;
  const st = await lstat(hostPath(root, nodePath)).catch(() => undefined);
  if (!st?.isFile()) return false;
  const content = await readFile(hostPath(root, nodePath), 'utf8').catch(() => '');
  return hasMarker(format, content);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function errCode(e: unknown): string | undefined {
  return isRecord(e) && typeof e.code === 'string' ? e.code : undefined;
}
