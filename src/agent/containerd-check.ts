// Checks that containerd reads the hosts.toml files the agent writes: its
// CRI registry `config_path` must list the directory. containerd re-reads
// hosts.toml on every pull, so no restart is ever needed for file changes;
// only a config_path change needs one, which is the operator's call, not ours.
import { readdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { errCode, hostPath } from './state.js';
import { isRecord } from '../common/values.js';

export const DEFAULT_CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const DEFAULT_CERTS_DIR = '/etc/containerd/certs.d';

export type ContainerdReason = 'ConfigPathSet' | 'ConfigPathNotSet' | 'ConfigPathMismatch' | 'ConfigNotFound' | 'ConfigInvalid';

export interface ContainerdCheck {
  /** True: containerd reads the directory; False: it does not; Unknown: cannot tell. */
  status: 'True' | 'False' | 'Unknown';
  reason: ContainerdReason;
  message: string;
}

/** A containerd config file as read: its node path and text. */
export interface ConfigDoc {
  path: string;
  text: string;
}

/** `config_path` locations by config version (version 1 is the default when unset). */
const CONFIG_PATH_KEYS: Record<number, readonly string[]> = {
  1: ['plugins', 'cri', 'registry', 'config_path'],
  2: ['plugins', 'io.containerd.grpc.v1.cri', 'registry', 'config_path'],
  3: ['plugins', 'io.containerd.cri.v1.images', 'registry', 'config_path'],
};

/**
 * Decides from the main config and its imports (in containerd's merge order:
 * main first, imports after, later values win) whether `certsDir` is in
 * `config_path`. Pure.
 */
export function evaluateContainerdConfig(docs: readonly ConfigDoc[], certsDir: string): ContainerdCheck {
  let configPath: { value: string; from: string } | undefined;
  for (const doc of docs) {
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(doc.text) as Record<string, unknown>;
    } catch (e) {
      const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      return { status: 'Unknown', reason: 'ConfigInvalid', message: `containerd config ${doc.path} is not valid TOML: ${first}` };
    }
    const found = lookupConfigPath(parsed);
    if (found !== undefined) configPath = { value: found, from: doc.path };
  }
  const main = docs[0]?.path ?? '(none)';
  if (!configPath || configPath.value === '') {
    return {
      status: 'False',
      reason: 'ConfigPathNotSet',
      message: `containerd config ${main} does not set the CRI registry config_path, so containerd ignores ${certsDir}; set config_path = "${certsDir}" and restart containerd once`,
    };
  }
  const dirs = configPath.value
    .split(':')
    .filter(Boolean)
    .map((d) => posix.normalize(d).replace(/(.)\/$/, '$1'));
  if (dirs.includes(certsDir)) {
    return { status: 'True', reason: 'ConfigPathSet', message: `containerd reads ${certsDir} (config_path in ${configPath.from})` };
  }
  return {
    status: 'False',
    reason: 'ConfigPathMismatch',
    message: `containerd config_path is ${JSON.stringify(configPath.value)} (in ${configPath.from}), which does not include ${certsDir} where the agent writes; add it and restart containerd once`,
  };
}

/** The config_path under the key of the document's own version, or of any version when unset. */
function lookupConfigPath(doc: Record<string, unknown>): string | undefined {
  const version = typeof doc.version === 'number' ? doc.version : undefined;
  const keys = version !== undefined && CONFIG_PATH_KEYS[version] ? [CONFIG_PATH_KEYS[version]] : Object.values(CONFIG_PATH_KEYS);
  for (const path of keys) {
    let node: unknown = doc;
    for (const k of path) node = isRecord(node) ? node[k] : undefined;
    if (typeof node === 'string') return node;
  }
  return undefined;
}

/** Reads containerd's config (and its `imports`) under `root` and evaluates it. */
export async function checkContainerd(root: string, configFile: string, certsDir = DEFAULT_CERTS_DIR): Promise<ContainerdCheck> {
  const main = await readDoc(root, configFile);
  if (!main) {
    return {
      status: 'Unknown',
      reason: 'ConfigNotFound',
      message: `containerd config ${configFile} not found: containerd 2.x reads ${certsDir} by default, 1.x does not; on nodes without containerd pass an empty --containerd-config`,
    };
  }
  const docs: ConfigDoc[] = [main];
  for (const file of await importedFiles(root, configFile, main.text)) {
    const doc = await readDoc(root, file);
    if (doc) docs.push(doc);
  }
  return evaluateContainerdConfig(docs, certsDir);
}

async function readDoc(root: string, nodePath: string): Promise<ConfigDoc | undefined> {
  try {
    return { path: nodePath, text: await readFile(hostPath(root, nodePath), 'utf8') };
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw new Error(`cannot read containerd config ${nodePath}: ${String(e)}`, { cause: e });
  }
}

/** Files named by `imports` (relative to the config's directory; `*` in the last component only). */
async function importedFiles(root: string, configFile: string, text: string): Promise<string[]> {
  let imports: unknown;
  try {
    imports = (parseToml(text) as Record<string, unknown>).imports;
  } catch {
    return [];
  }
  if (!Array.isArray(imports)) return [];
  const out: string[] = [];
  for (const pattern of imports.filter((x): x is string => typeof x === 'string')) {
    const abs = posix.resolve(posix.dirname(configFile), pattern);
    if (!posix.basename(abs).includes('*')) {
      out.push(abs);
      continue;
    }
    const dir = posix.dirname(abs);
    const re = new RegExp(`^${posix.basename(abs).split('*').map(escapeRe).join('.*')}$`);
    const names = await readdir(hostPath(root, dir)).catch(() => [] as string[]);
    out.push(
      ...names
        .filter((n) => re.test(n))
        .sort()
        .map((n) => `${dir}/${n}`),
    );
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
