// What the agent should do on a node, decided purely from the published
// output (files.json, ConfigMap and Secret data) and the files it owns now.
// No I/O: apply.ts carries the plan out.
//
// Any error rejects the whole plan, so a bad publication never leaves a node
// with half of a new configuration: the previous files stay.
import { posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { FilesManifestEntry } from '../render/types.js';
import { formatOf, withMarker, type FileFormat } from './marker.js';
import { byteOrder, isRecord } from '../common/values.js';
import { CONTENT_HASH_ANNOTATION, FILES_MANIFEST_KEY, outputContentHash } from '../contract.js';

/** A place the agent may write: one file, or anything below a directory. */
export interface AllowedRoot {
  path: string;
  kind: 'file' | 'dir';
}

/** Where node files may go (shared contract); nothing else is ever written. */
export const DEFAULT_ALLOWED_ROOTS: readonly AllowedRoot[] = [
  { path: '/etc/containers/registries.conf.d', kind: 'dir' },
  { path: '/etc/containers/certs.d', kind: 'dir' },
  { path: '/etc/containers/auth.json', kind: 'file' },
  { path: '/etc/containerd/certs.d', kind: 'dir' },
];

export interface PlanInput {
  /** `ConfigMap ns/name`, used in every message. */
  configMapRef: string;
  /** `Secret ns/name`. */
  secretRef: string;
  /** ConfigMap data; undefined when the ConfigMap does not exist. */
  configMapData: Readonly<Record<string, string>> | undefined;
  /** Secret data, already base64-decoded; undefined when the Secret does not exist. */
  secretData: Readonly<Record<string, string>> | undefined;
  allowedRoots: readonly AllowedRoot[];
  /** Node paths the agent owns now (state file). */
  owned: readonly string[];
  /** The ConfigMap's content hash annotation: when present, what is published must hash to it (outputContentHash). */
  contentHash?: string | undefined;
}

export interface PlannedWrite {
  key: string;
  path: string;
  mode: number;
  from: FilesManifestEntry['from'];
  format: FileFormat;
  /** Content as installed, marker included. */
  content: string;
}

export interface Plan {
  /** Sorted so that PEM files come before the hosts.toml that references them, then by path. */
  writes: PlannedWrite[];
  /** Owned paths no longer published, TOML first (so no hosts.toml names a removed CA), then by path. */
  removals: string[];
  /** Owned paths outside the allowed roots (a tampered state file): never removed. */
  ignoredOwned: string[];
}

export const PLAN_ERROR_REASONS = [
  'ManifestMissing',
  'ManifestInvalid',
  'KeyMissing',
  'PathNotAllowed',
  'DuplicatePath',
  'InvalidMode',
  'UnsupportedFileType',
  'InvalidContent',
  'ContentHashMismatch',
] as const;
export type PlanErrorReason = (typeof PLAN_ERROR_REASONS)[number];

export interface PlanError {
  reason: PlanErrorReason;
  /** Full sentence naming object, key, field and value. */
  message: string;
  key?: string;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; errors: PlanError[] };

/**
 * Computes the plan. When the ConfigMap does not exist the target publishes
 * nothing, and every owned file is removed.
 */
export function computePlan(input: PlanInput): PlanResult {
  const manifest = readManifest(input);
  if (!manifest.ok) return manifest;
  const errors: PlanError[] = [...hashMismatch(input, manifest.value)];
  const writes: PlannedWrite[] = [];
  const seen = new Map<string, string>();
  for (const [key, raw] of Object.entries(manifest.value).sort(([a], [b]) => byteOrder(a, b))) {
    const w = planOne(input, key, raw, errors);
    if (!w) continue;
    const other = seen.get(w.path);
    if (other !== undefined) {
      errors.push(err(input, 'DuplicatePath', key, `path ${JSON.stringify(w.path)}: also the path of key ${JSON.stringify(other)}`));
      continue;
    }
    seen.set(w.path, key);
    writes.push(w);
  }
  errors.push(...nestedPaths(input, writes));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, plan: buildPlan(writes, input) };
}

/** A file path that is also a directory of another file cannot be installed. */
function nestedPaths(input: PlanInput, writes: readonly PlannedWrite[]): PlanError[] {
  return writes.flatMap((outer) => {
    const inner = writes.find((w) => w.path.startsWith(`${outer.path}/`));
    if (!inner) return [];
    return [
      err(
        input,
        'DuplicatePath',
        outer.key,
        `path ${JSON.stringify(outer.path)}: is also a directory of ${JSON.stringify(inner.path)} (key ${JSON.stringify(inner.key)})`,
      ),
    ];
  });
}

/**
 * A publication whose content does not hash to its annotation was changed
 * after the operator wrote it (or is half written): nothing of it is
 * installed. The Secret counts when files.json takes keys from it, as it does
 * for the operator; a missing Secret is reported as KeyMissing instead.
 */
function hashMismatch(input: PlanInput, manifest: Record<string, unknown>): PlanError[] {
  if (input.contentHash === undefined || input.configMapData === undefined) return [];
  const usesSecret = Object.values(manifest).some((e) => isRecord(e) && e.from === 'Secret');
  if (usesSecret && input.secretData === undefined) return [];
  const actual = outputContentHash(input.configMapData, usesSecret ? input.secretData : undefined);
  if (actual === input.contentHash) return [];
  const what = usesSecret ? `the data of ${input.configMapRef} and ${input.secretRef}` : `the data of ${input.configMapRef}`;
  return [
    {
      reason: 'ContentHashMismatch',
      message:
        `${input.configMapRef}: annotation ${CONTENT_HASH_ANNOTATION} is ${input.contentHash}, but ${what} hashes to ${actual}: ` +
        'changed after the operator published it; nothing is installed until it matches again',
    },
  ];
}

function buildPlan(writes: PlannedWrite[], input: PlanInput): Plan {
  const wanted = new Set(writes.map((w) => w.path));
  const stale = [...new Set(input.owned)].filter((p) => !wanted.has(p));
  const removable = stale.filter((p) => checkPath(p, input.allowedRoots) === undefined);
  return {
    writes: writes.sort((a, b) => formatRank(a.format, 'write') - formatRank(b.format, 'write') || byteOrder(a.path, b.path)),
    removals: removable.sort((a, b) => rankOfPath(a, 'remove') - rankOfPath(b, 'remove') || byteOrder(a, b)),
    ignoredOwned: stale.filter((p) => !removable.includes(p)).sort(byteOrder),
  };
}

function formatRank(f: FileFormat | undefined, op: 'write' | 'remove'): number {
  const pemFirst = f === 'pem' ? 0 : 1;
  return op === 'write' ? pemFirst : 1 - pemFirst;
}

function rankOfPath(p: string, op: 'write' | 'remove'): number {
  return formatRank(formatOf(p), op);
}

type ManifestResult = { ok: true; value: Record<string, unknown> } | { ok: false; errors: PlanError[] };

function readManifest(input: PlanInput): ManifestResult {
  if (input.configMapData === undefined) return { ok: true, value: {} };
  const text = input.configMapData[FILES_MANIFEST_KEY];
  if (text === undefined) {
    return { ok: false, errors: [err(input, 'ManifestMissing', FILES_MANIFEST_KEY, 'key missing: the ConfigMap has no file list')] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, errors: [err(input, 'ManifestInvalid', FILES_MANIFEST_KEY, `not valid JSON: ${why}`)] };
  }
  if (!isRecord(parsed)) {
    return { ok: false, errors: [err(input, 'ManifestInvalid', FILES_MANIFEST_KEY, 'must be a JSON object mapping keys to {path, mode, from}')] };
  }
  return { ok: true, value: parsed };
}

/** Validates one files.json entry and resolves its content; pushes errors and returns undefined on failure. */
function planOne(input: PlanInput, key: string, raw: unknown, errors: PlanError[]): PlannedWrite | undefined {
  const at = `files.json[${JSON.stringify(key)}]`;
  if (!isRecord(raw)) {
    errors.push(err(input, 'ManifestInvalid', key, `${at}: must be an object {path, mode, from}, got ${JSON.stringify(raw)}`));
    return undefined;
  }
  const before = errors.length;
  const { path, mode, from } = raw;
  if (from !== 'ConfigMap' && from !== 'Secret') {
    errors.push(err(input, 'ManifestInvalid', key, `${at}.from: ${JSON.stringify(from)}: must be "ConfigMap" or "Secret"`));
  }
  const pathError = checkPath(path, input.allowedRoots);
  if (pathError) errors.push(err(input, 'PathNotAllowed', key, `${at}.path: ${JSON.stringify(path)}: ${pathError}`));
  const modeValue = parseMode(mode);
  if (typeof modeValue === 'string') errors.push(err(input, 'InvalidMode', key, `${at}.mode: ${JSON.stringify(mode)}: ${modeValue}`));
  if (errors.length > before) return undefined;
  return resolveContent(input, key, path as string, modeValue as number, from as FilesManifestEntry['from'], errors);
}

function resolveContent(
  input: PlanInput,
  key: string,
  path: string,
  mode: number,
  from: FilesManifestEntry['from'],
  errors: PlanError[],
): PlannedWrite | undefined {
  const format = formatOf(path);
  if (!format) {
    errors.push(
      err(
        input,
        'UnsupportedFileType',
        key,
        `files.json[${JSON.stringify(key)}].path: ${JSON.stringify(path)}: unsupported file type (expected .toml, .conf, .crt, .cert, .key, .pem or .json)`,
      ),
    );
    return undefined;
  }
  const data = from === 'Secret' ? input.secretData : input.configMapData;
  const content = data?.[key];
  if (content === undefined) {
    const holder = from === 'Secret' ? input.secretRef : input.configMapRef;
    const why = data === undefined ? `${holder} does not exist` : `${holder} has no such key`;
    errors.push({ reason: 'KeyMissing', key, message: `${input.configMapRef}: files.json lists key ${JSON.stringify(key)} from ${from}, but ${why}` });
    return undefined;
  }
  const bad = checkContent(format, content);
  if (bad) {
    // Only the reason is quoted: the content may be a credential.
    const holder = from === 'Secret' ? input.secretRef : input.configMapRef;
    errors.push({ reason: 'InvalidContent', key, message: `${holder}: key ${JSON.stringify(key)} (${path}): ${bad}` });
    return undefined;
  }
  return { key, path, mode, from, format, content: withMarker(format, content) };
}

/** Why `content` is not a valid file of `format`, or undefined. */
export function checkContent(format: FileFormat, content: string): string | undefined {
  if (content.includes('\u0000')) return 'contains a NUL byte';
  switch (format) {
    case 'toml':
      try {
        parseToml(content);
        return undefined;
      } catch (e) {
        return `invalid TOML${tomlPosition(e)}: ${tomlReason(e)}`;
      }
    case 'json':
      return checkJson(content);
    case 'pem':
      return /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/.test(content) ? undefined : 'no PEM block (-----BEGIN ...-----) found';
  }
}

/**
 * smol-toml messages quote lines of the input after the first line, and the
 * input may be a credential: keep the first line and the position only.
 */
function tomlReason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n', 1)[0]!.replace(/^Invalid TOML document: /, '');
}

function tomlPosition(e: unknown): string {
  return isRecord(e) && typeof e.line === 'number' && typeof e.column === 'number' ? ` at line ${e.line}, column ${e.column}` : '';
}

function checkJson(content: string): string | undefined {
  try {
    return isRecord(JSON.parse(content)) ? undefined : 'invalid JSON: must be an object';
  } catch {
    // JSON.parse messages can quote the input, which may hold credentials.
    return 'invalid JSON';
  }
}

/**
 * Why `path` may not be written, or undefined. Paths must be absolute and
 * already normal (no `.`/`..`/`//`, no trailing slash), free of control
 * characters and backslashes, without hidden components (the agent's own
 * temporary files start with a dot), and inside an allowed root.
 * Symbolic links on the node are checked when applying.
 */
export function checkPath(path: unknown, roots: readonly AllowedRoot[]): string | undefined {
  if (typeof path !== 'string' || path === '') return 'must be a non-empty string';
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'contains a control character, NUL or backslash';
  if (!path.startsWith('/')) return 'must be absolute';
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '..' || p === '.')) return 'must not contain "." or ".." components';
  if (posix.normalize(path) !== path || path.endsWith('/')) return 'must be in normal form (no "//", no trailing "/")';
  if (parts.some((p) => p.startsWith('.'))) return 'must not contain hidden (dot) components';
  const inside = roots.some((r) => (r.kind === 'file' ? path === r.path : path.startsWith(`${r.path}/`)));
  if (!inside) return `outside the allowed roots (${roots.map((r) => (r.kind === 'dir' ? `${r.path}/` : r.path)).join(', ')})`;
  return undefined;
}

/**
 * Parses an octal mode string like "0644". Accepts read/write bits only,
 * with the owner able to read: these are configuration files, never
 * executables, and set-id or sticky bits make no sense on them.
 * Returns the mode or a reason string.
 */
export function parseMode(mode: unknown): number | string {
  if (typeof mode !== 'string' || !/^0?[0-7]{3}$/.test(mode)) return 'must be an octal string like "0644"';
  const value = Number.parseInt(mode, 8);
  if ((value & 0o111) !== 0) return 'execute bits are not allowed on configuration files';
  if ((value & 0o400) === 0) return 'the owner must be able to read the file';
  return value;
}

function err(input: PlanInput, reason: PlanErrorReason, key: string, detail: string): PlanError {
  return { reason, key, message: `${input.configMapRef}: ${key === FILES_MANIFEST_KEY ? `${FILES_MANIFEST_KEY}: ` : ''}${detail}` };
}
