// A fast, sound check that a rendered registries.conf is valid TOML, for
// the common case. Parsing 10,000 entries back with smol-toml takes several
// times longer than rendering them; this accepts only the exact subset that
// renderRegistriesConf writes, all of which is valid TOML: comment lines,
// blank lines, and tables made of a `[[registry]]` or `[[registry.mirror]]`
// header followed by the writer's keys in the writer's order, each at most
// once, with unescaped strings or booleans as values. Anything else (an
// escaped string, a new key, another order) is not rejected here:
// render/index.ts then parses the file back in full, as before.
//
// The file is read a table at a time with sticky regular expressions, in
// place: a 10,000-entry file has 50,000 tables and over 100,000 lines, and
// slicing each out cost more than matching it.

/** A TOML basic string without escapes, or a boolean. */
const VALUE = String.raw`(?:"[^"\\\u0000-\u001f\u007f\ud800-\udfff]*"|true|false)`;

/** The header line, then each key line at most once, in this order. None of these keys is `registry` or `mirror`. */
function table(header: string, keys: readonly string[]): string {
  const escaped = header.replace(/[[\].]/g, '\\$&');
  return `${escaped}\\n${keys.map((k) => `(?:${k} = ${VALUE}\\n)?`).join('')}`;
}

const REGISTRY_TABLE = table('[[registry]]', ['prefix', 'location', 'blocked', 'insecure', 'mirror-by-digest-only']);
const MIRROR_TABLE = table('[[registry.mirror]]', ['location', 'insecure', 'pull-from-mirror']);
const MIRROR = new RegExp(MIRROR_TABLE, 'y');
/**
 * A registry table and the mirror tables after it, each after a blank line:
 * what the loop below would accept table by table (a registry table, a
 * newline, MIRROR, ...), in one match per entry instead of one per table.
 * The optional key lines match greedily, so the registry table ends where
 * it would on its own.
 */
const ENTRY = new RegExp(`${REGISTRY_TABLE}(?:\\n${MIRROR_TABLE})*`, 'y');
/** TOML comments allow tab but no other control character. */
const COMMENT = /#[^\u0000-\u0008\u000a-\u001f\u007f\ud800-\udfff]*\n/y;
const NEWLINE = 0x0a;
const HASH = 0x23;

/** True only when `content` lies in the subset above (and so is valid TOML). */
export function isPlainRegistriesConf(content: string): boolean {
  let inRegistry = false; // a mirror table is valid only inside a registry
  for (let at = 0; at < content.length; ) {
    const first = content.charCodeAt(at);
    let next: number | undefined;
    if (first === NEWLINE) next = at + 1;
    else if (first === HASH) next = matchAt(COMMENT, content, at);
    // biome-ignore lint/suspicious/noAssignInExpressions: one match decides both the branch and where the next line starts
    else if ((next = matchAt(ENTRY, content, at)) !== undefined) inRegistry = true;
    else if (inRegistry) next = matchAt(MIRROR, content, at);
    if (next === undefined) return false;
    at = next;
  }
  return true;
}

/** Where the sticky `pattern` stops matching `content` from `at`, if it matches there. */
function matchAt(pattern: RegExp, content: string, at: number): number | undefined {
  pattern.lastIndex = at;
  return pattern.test(content) ? pattern.lastIndex : undefined;
}
