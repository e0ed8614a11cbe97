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

const SAFE = /^[^"\\\u0000-\u001f\u007f\ud800-\udfff]*$/;

/** A TOML basic string: quotes, backslashes and control characters escaped. */
export function tomlString(value: string): string {
  // Fast path: nothing to escape (every registry name and URL).
  if (SAFE.test(value)) return `"${value}"`;
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
