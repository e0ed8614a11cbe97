// Checks that containerd reads the hosts.toml files the agent writes: its
// CRI registry `config_path` must name the directory. containerd re-reads
// hosts.toml on every pull, so no restart is ever needed for file changes;
// only a config_path change needs one, which is the operator's call, not ours.
//
// containerd 2.x (config version 3) pulls for the CRI through its transfer
// service unless `use_local_image_pull = true`, and that path takes
// config_path as ONE directory: a `:`-separated list, including 2.x's own
// default "/etc/containerd/certs.d:/etc/docker/certs.d" when config_path is
// unset, matches no directory and every hosts.toml is ignored (verified on
// containerd 2.4.2 with crictl: the pull went to the source). 1.x, and 2.x with
// use_local_image_pull, split the list.
import { readdir, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { errCode, hostPath } from './state.js';
import { isRecord } from '../common/values.js';

export const DEFAULT_CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const DEFAULT_CERTS_DIR = '/etc/containerd/certs.d';

export const CONTAINERD_2_DEFAULT_CONFIG_PATH = '/etc/containerd/certs.d:/etc/docker/certs.d';

export type ContainerdReason =
  | 'ConfigPathSet'
  | 'ConfigPathDefault'
  | 'ConfigPathNotSet'
  | 'ConfigPathMismatch'
  | 'ConfigPathListIgnored'
  | 'ConfigNotFound'
  | 'ConfigInvalid';

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

/** What the merged config files say, as far as the check needs it. */
interface Effective {
  configPath?: { value: string; from: string };
  /** Config version of the main file (1 when unset), which picks 1.x or 2.x semantics. */
  version: number;
  localPull: boolean;
}

/**
 * Decides from the main config and its imports (in containerd's merge order:
 * main first, imports after, later values win) whether containerd's CRI
 * pulls read hosts.toml files from `certsDir`. Pure.
 */
export function evaluateContainerdConfig(docs: readonly ConfigDoc[], certsDir: string): ContainerdCheck {
  const eff: Effective = { version: 1, localPull: false };
  for (const [i, doc] of docs.entries()) {
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(doc.text) as Record<string, unknown>;
    } catch (e) {
      const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      return { status: 'Unknown', reason: 'ConfigInvalid', message: `containerd config ${doc.path} is not valid TOML: ${first}` };
    }
    if (i === 0 && typeof parsed.version === 'number') eff.version = parsed.version;
    const found = lookupConfigPath(parsed);
    if (found !== undefined) eff.configPath = { value: found, from: doc.path };
    const local = lookup(parsed, ['plugins', 'io.containerd.cri.v1.images', 'use_local_image_pull']);
    if (typeof local === 'boolean') eff.localPull = local;
  }
  return decide(eff, docs[0]?.path ?? '(none)', certsDir);
}

function decide(eff: Effective, main: string, certsDir: string): ContainerdCheck {
  const v3 = eff.version >= 3;
  const set = eff.configPath !== undefined && eff.configPath.value !== '';
  if (!set && !v3) {
    return {
      status: 'False',
      reason: 'ConfigPathNotSet',
      message: `containerd config ${main} does not set the CRI registry config_path, so containerd ignores ${certsDir}; set config_path = "${certsDir}" and restart containerd once`,
    };
  }
  const value = set ? eff.configPath!.value : CONTAINERD_2_DEFAULT_CONFIG_PATH;
  const from = set ? `config_path in ${eff.configPath!.from}` : `containerd 2.x's default, config_path unset in ${main}`;
  const dirs = value
    .split(':')
    .filter(Boolean)
    .map((d) => posix.normalize(d).replace(/(.)\/$/, '$1'));
  if (!dirs.includes(certsDir)) {
    return {
      status: 'False',
      reason: 'ConfigPathMismatch',
      message: `containerd config_path is ${JSON.stringify(value)} (${from}), which does not include ${certsDir} where the agent writes; add it and restart containerd once`,
    };
  }
  if (v3 && dirs.length > 1 && !eff.localPull) {
    return {
      status: 'False',
      reason: 'ConfigPathListIgnored',
      message:
        `containerd config_path is the list ${JSON.stringify(value)} (${from}); containerd 2.x pulls for the CRI through its transfer service, ` +
        `which reads config_path as one directory, so it ignores ${certsDir}; set config_path = "${certsDir}" in ` +
        `[plugins."io.containerd.cri.v1.images".registry] (or use_local_image_pull = true) and restart containerd once`,
    };
  }
  if (!set) return { status: 'True', reason: 'ConfigPathDefault', message: `containerd reads ${certsDir} (${from}, with use_local_image_pull = true)` };
  return { status: 'True', reason: 'ConfigPathSet', message: `containerd reads ${certsDir} (${from})` };
}

/** The config_path under the key of the document's own version, or of any version when unset. */
function lookupConfigPath(doc: Record<string, unknown>): string | undefined {
  const version = typeof doc.version === 'number' ? doc.version : undefined;
  const keys = version !== undefined && CONFIG_PATH_KEYS[version] ? [CONFIG_PATH_KEYS[version]] : Object.values(CONFIG_PATH_KEYS);
  for (const path of keys) {
    const node = lookup(doc, path);
    if (typeof node === 'string') return node;
  }
  return undefined;
}

function lookup(doc: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (const k of path) node = isRecord(node) ? node[k] : undefined;
  return node;
}

/** Reads containerd's config (and its `imports`) under `root` and evaluates it. */
export async function checkContainerd(root: string, configFile: string, certsDir = DEFAULT_CERTS_DIR): Promise<ContainerdCheck> {
  const main = await readDoc(root, configFile);
  if (!main) {
    return {
      status: 'Unknown',
      reason: 'ConfigNotFound',
      message: `containerd config ${configFile} not found: without it containerd 1.x ignores ${certsDir}, and 2.x ignores it for CRI pulls (its default config_path is a list, which the transfer service does not split); on nodes without containerd pass an empty --containerd-config`,
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
