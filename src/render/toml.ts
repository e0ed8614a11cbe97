// A tiny TOML writer for the two formats we emit. Layout (comments, table
// order, blank lines) is ours to choose, so the files read like hand-written
// examples and are byte-stable; every rendered file is parsed back with
// smol-toml before it is published (render/index.ts).
import { invariant } from './errors.js';

export type TomlInline = string | boolean | readonly TomlInline[];

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/** A TOML basic string: quotes, backslashes and control characters escaped. */
export function tomlString(value: string): string {
  // Fast path: nothing to escape (every registry name and URL).
  if (isSafe(value)) return `"${value}"`;
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    invariant(code < 0xd800 || code > 0xdfff, `string ${JSON.stringify(value)} is not valid Unicode`);
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * A string value and its closing quote, written after text that ends with
 * the opening quote: a value that needs no escaping (every registry name)
 * is used as it is, with nothing built but the quote appended.
 */
export function quotedRest(value: string): string {
  return isSafe(value) ? `${value}"` : tomlString(value).slice(1);
}

/**
 * Nothing to escape: no quote, backslash, control character (U+0000 to U+001F,
 * U+007F) or surrogate. A loop rather than a regular expression: this runs
 * for every value of a large registries.conf.
 */
function isSafe(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** A key: bare when TOML allows it, quoted otherwise (URLs, dotted hosts). */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

export function tomlValue(value: TomlInline): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `[${value.map(tomlValue).join(', ')}]`;
}

/** `key = value` lines for the defined entries of `pairs`, in the given order. */
export function tomlLines(pairs: ReadonlyArray<readonly [string, TomlInline | undefined]>): string[] {
  return pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v!)}`);
}
