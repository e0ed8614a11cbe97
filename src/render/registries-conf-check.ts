// A fast, sound check that a rendered registries.conf is valid TOML, for
// the common case. Parsing 10,000 entries back with smol-toml takes several
// times longer than rendering them; this accepts only the exact subset that
// formatRegistriesConf writes (comments, `[[registry]]`, `[[registry.mirror]]`,
// known keys once per table, unescaped strings and booleans), all of which is
// valid TOML. Anything else (an escaped string, a new key) is not rejected
// here: render/index.ts then parses the file back in full, as before.

/** The keys formatRegistriesConf writes; none is `registry` or `mirror`, so no key clashes with a table. */
const KEY_VALUE =
  /^(?:prefix|location|blocked|insecure|mirror-by-digest-only|pull-from-mirror) = (?:"[^"\\\u0000-\u001f\u007f\ud800-\udfff]*"|true|false)$/;
/** TOML comments allow tab but no other control character. */
const COMMENT = /^#[^\u0000-\u0008\u000a-\u001f\u007f\ud800-\udfff]*$/;

/** True only when `content` lies in the subset above (and so is valid TOML). */
export function isPlainRegistriesConf(content: string): boolean {
  let keys: string[] | undefined; // keys of the current table; undefined before the first table
  let inRegistry = false;
  for (let start = 0; start < content.length; ) {
    const newline = content.indexOf('\n', start);
    const end = newline < 0 ? content.length : newline;
    const line = content.slice(start, end);
    start = end + 1;
    if (line === '') continue;
    if (line === '[[registry]]' || (line === '[[registry.mirror]]' && inRegistry)) {
      inRegistry = true;
      keys = [];
    } else if (line.charCodeAt(0) === 0x23 /* # */) {
      if (!COMMENT.test(line)) return false;
    } else {
      if (keys === undefined || !KEY_VALUE.test(line)) return false;
      const key = line.slice(0, line.indexOf(' '));
      if (keys.includes(key)) return false;
      keys.push(key);
    }
  }
  return true;
}
