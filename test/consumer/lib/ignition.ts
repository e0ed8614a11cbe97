// Installs the `spec.config.storage.files` of a MachineConfig the way
// Ignition does on first boot, so tests consume exactly what a NodePool's
// nodes would get: each path (absolute; parent directories created 0755),
// each mode (decimal, as in the JSON), each data URL decoded per RFC 2397
// (`;base64` or percent-encoded), `overwrite` honoured. Anything else Ignition
// could be asked for (append, compression, remote sources, links,
// directories, users) is rejected rather than ignored, so a MachineConfig
// that needs more than this helper does fails loudly here first.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, posix } from 'node:path';

export interface IgnitionFile {
  path: string;
  mode?: number;
  overwrite?: boolean;
  contents?: { source?: string; compression?: string; verification?: unknown };
  append?: unknown[];
  user?: unknown;
  group?: unknown;
}

export interface InstalledFile {
  path: string;
  mode: number;
  bytes: Buffer;
}

/** The files of a MachineConfig (its JSON/YAML already parsed), checked for what this helper supports. */
export function ignitionFiles(machineConfig: unknown): IgnitionFile[] {
  const mc = machineConfig as { kind?: string; spec?: { config?: { ignition?: { version?: string }; storage?: Record<string, unknown> } } };
  if (mc.kind !== 'MachineConfig') throw new Error(`not a MachineConfig: kind ${String(mc.kind)}`);
  const config = mc.spec?.config;
  if (!config?.ignition?.version?.startsWith('3.')) throw new Error(`unsupported ignition version ${String(config?.ignition?.version)}`);
  const storage = config.storage ?? {};
  for (const key of Object.keys(storage)) {
    if (key !== 'files') throw new Error(`storage.${key} is not supported by this helper`);
  }
  const files = (storage.files ?? []) as IgnitionFile[];
  for (const f of files) {
    const extra = Object.keys(f).filter((k) => !['path', 'mode', 'overwrite', 'contents'].includes(k));
    if (extra.length > 0) throw new Error(`${f.path}: ${extra.join(', ')} not supported by this helper`);
    if (f.contents?.compression || f.contents?.verification) throw new Error(`${f.path}: compressed or verified contents not supported`);
  }
  return files;
}

/** Decodes an RFC 2397 data URL (the only source Ignition can use without the network). */
export function decodeDataUrl(source: string): Buffer {
  const m = /^data:([^,]*),(.*)$/s.exec(source);
  const [, mediaType = '', data = ''] = m ?? [];
  if (!m) throw new Error(`not a data URL: ${source.slice(0, 40)}...`);
  return mediaType.split(';').includes('base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'utf8');
}

/**
 * Writes every file under `resolve(path)` (the machine path where the node's
 * `path` lives) and returns what it wrote. Ignition's default mode for a new
 * file is 0644; `overwrite: false` on an existing file fails, as Ignition does.
 */
export async function applyIgnitionFiles(machineConfig: unknown, resolve: (nodePath: string) => string): Promise<InstalledFile[]> {
  const out: InstalledFile[] = [];
  for (const f of ignitionFiles(machineConfig)) {
    if (!posix.isAbsolute(f.path) || posix.normalize(f.path) !== f.path) throw new Error(`ignition path must be absolute and normal: ${f.path}`);
    const target = resolve(f.path);
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists && f.overwrite !== true) throw new Error(`${f.path} exists and overwrite is not true`);
    const bytes = f.contents?.source === undefined ? Buffer.alloc(0) : decodeDataUrl(f.contents.source);
    const mode = f.mode ?? 0o644;
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, bytes, { mode });
    await chmod(target, mode); // writeFile's mode is subject to the umask; Ignition's is not
    out.push({ path: f.path, mode, bytes });
  }
  return out;
}
