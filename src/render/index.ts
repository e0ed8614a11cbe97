// Everything a node of one target needs, from its mirror model: pure (no
// I/O, no clock), byte-stable, files sorted by key. Every TOML file is parsed
// back before it is returned: containerd silently ignores a hosts.toml it
// cannot parse, so a file that does not parse must never be published.
import { createHash } from 'node:crypto';
import { parse } from 'smol-toml';
import { byteOrder } from '../merge/scope.js';
import type { MirrorModel } from '../model/types.js';
import { renderAccessFiles } from './access-files.js';
import { renderContainerdSorted } from './containerd.js';
import { InternalError, invariant } from './errors.js';
import { assertKey, keyFor, PUBLIC_MODE, REGISTRIES_CONF_KEY, REGISTRIES_CONF_PATH } from './paths.js';
import { renderRegistriesConf } from './registries-conf.js';
import { isPlainRegistriesConf } from './registries-conf-check.js';
import { sortedAfter, sortedWarnings } from './warnings.js';
import type { NodeFile, RenderOutput } from './types.js';

export { renderAccessFiles } from './access-files.js';
export { renderContainerd } from './containerd.js';
export { InternalError } from './errors.js';
export { renderRegistriesConf } from './registries-conf.js';

export function render(model: MirrorModel): RenderOutput {
  const registriesConf = renderRegistriesConf(model);
  const containerd = renderContainerdSorted(model);
  const access = renderAccessFiles(model);
  const files: NodeFile[] = [
    {
      key: REGISTRIES_CONF_KEY,
      path: REGISTRIES_CONF_PATH,
      mode: PUBLIC_MODE,
      content: registriesConf.content,
      secret: false,
    },
    ...containerd.files,
    ...access.files,
  ];
  const unique = withUniqueKeys(files).sort((a, b) => byteOrder(a.key, b.key));
  checkFiles(unique);
  // The same order as one sort of every warning: warnings of different renderers never compare equal, and
  // each part keeps the order of its own equal warnings. containerd's many come in order.
  const others = [...registriesConf.warnings, ...access.warnings];
  const warnings = containerd.strict ? sortedAfter(containerd.warnings, others) : sortedWarnings([...containerd.warnings, ...others]);
  return { files: unique, warnings };
}

/**
 * Keys join names with dots, so two paths can map to one key (directory
 * `x` with `y.z.crt` and directory `x.y` with `z.crt`). The manifest maps
 * keys to paths, so any unique key works: the later path (in byte order)
 * gets a suffix derived from its path, which keeps keys stable.
 */
function withUniqueKeys(files: readonly NodeFile[]): NodeFile[] {
  const seen = new Set<string>();
  return [...files]
    .sort((a, b) => byteOrder(a.path, b.path))
    .map((f) => {
      if (!seen.has(f.key)) {
        seen.add(f.key);
        return f;
      }
      const key = keyFor(`${f.key}-${createHash('sha256').update(f.path).digest('hex').slice(0, 8)}`, f.path);
      seen.add(key);
      return { ...f, key };
    });
}

function checkFiles(files: readonly NodeFile[]): void {
  const paths = new Set<string>();
  for (const [i, f] of files.entries()) {
    assertKey(f.key);
    invariant(i === 0 || files[i - 1]!.key !== f.key, `two files share the key ${JSON.stringify(f.key)}`);
    invariant(!paths.has(f.path) && f.path.startsWith('/etc/') && !f.path.includes('/../'), `bad path ${JSON.stringify(f.path)}`);
    paths.add(f.path);
    // Input is read as certificates only (model/pem.ts); this keeps any future path from publishing a key.
    invariant(f.secret || !f.content.includes('PRIVATE KEY-----'), `${f.path} is not secret but holds a private key`);
    if (f.path === REGISTRIES_CONF_PATH || f.path.endsWith('.toml')) parseBack(f);
  }
}

function parseBack(f: NodeFile): void {
  // The fast check accepts only valid TOML; whatever it does not accept is parsed in full.
  if (f.path === REGISTRIES_CONF_PATH && isPlainRegistriesConf(f.content)) return;
  try {
    parse(f.content);
  } catch (e) {
    throw new InternalError(`internal error: rendered ${f.path} is not valid TOML: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A short human-readable summary of a model (CLI output, debugging): one
 * line per rule with its mirrors per pool and its flags.
 */
export function renderModelSummary(model: MirrorModel): string {
  const lines = model.rules.map((r) => {
    const flags = [r.neverContactSource && 'never-contact-source', r.blocked && 'blocked', r.insecure && 'insecure'].filter(Boolean);
    const parts = [r.source];
    if (r.digestMirrors.length > 0) parts.push(`digest: ${r.digestMirrors.join(', ')}`);
    if (r.tagMirrors.length > 0) parts.push(`tag: ${r.tagMirrors.join(', ')}`);
    if (flags.length > 0) parts.push(`[${flags.join(', ')}]`);
    return parts.join('  ');
  });
  if (model.defaultMirror) {
    const listed = model.defaultMirror.registries.length > 0 ? ` (registries.conf: ${model.defaultMirror.registries.join(', ')})` : '';
    lines.push(`*  default mirror: ${model.defaultMirror.mirror}${listed}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '(no mirrors, scopes or default mirror)\n';
}
