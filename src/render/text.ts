// Where the registries.conf writer puts its text: constant pieces of the
// format and TOML basic strings. A 10,000-entry file is 4.5 MB made of some
// 200,000 pieces; keeping them as strings until the end (one `join` of them
// all, chunks of them, or entries encoded into a buffer one by one) cost
// more than choosing what to write, and kept megabytes of partial strings
// alive for the garbage collector to copy. AsciiText writes every piece into
// one byte array instead (constants encoded once, values copied character by
// character while they are checked) and makes a single string at the end;
// text that is not all ASCII (never a valid registry name) goes to StringText.
import { tomlString } from './toml.js';

/** A constant piece of text, with its bytes (ASCII). */
export interface Literal {
  readonly text: string;
  readonly bytes: Uint8Array;
}

export function literal(text: string): Literal {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new Error(`literal ${JSON.stringify(text)} is not ASCII`);
    bytes[i] = c;
  }
  return { text, bytes };
}

export interface TextSink {
  literal(piece: Literal): void;
  /** A TOML basic string: `value` in quotes, escaped where TOML needs it. */
  quoted(value: string): void;
}

/** Thrown by AsciiText for a character outside ASCII: the caller writes the text again to a StringText. */
export class NotAscii extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** PLAIN[c] is 1 for the characters a TOML basic string holds as they are: printable ASCII but quote and backslash. */
const PLAIN = new Uint8Array(0x80);
for (let c = 0x20; c < 0x7f; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;

/**
 * The byte array of the last AsciiText, reused by the next: a fresh one of
 * megabytes per file cost page faults and zeroed pages from the system on
 * every rendering. Kept only up to this size. The text is copied into its
 * string at the end, so nothing rendered ever refers to it.
 */
const KEPT_BYTES = 16 * 1024 * 1024;
let spare: Uint8Array | undefined;

export class AsciiText implements TextSink {
  private bytes: Uint8Array;
  private length = 0;
  /** The last value quoted without escapes, and where its opening quote is. */
  private lastValue: string | undefined;
  private lastAt = 0;

  constructor(expectedLength: number) {
    const wanted = Math.max(expectedLength, 1024);
    // Taken, so that a second AsciiText at the same time (never the case today) gets its own.
    const reused = spare !== undefined && spare.length >= wanted ? spare : undefined;
    spare = undefined;
    // Not zero-filled: only the bytes written are read.
    this.bytes = reused ?? Buffer.allocUnsafe(wanted);
  }

  literal(piece: Literal): void {
    const n = piece.bytes.length;
    if (this.length + n > this.bytes.length) this.grow(n);
    this.bytes.set(piece.bytes, this.length);
    this.length += n;
  }

  quoted(value: string): void {
    const n = value.length;
    if (this.length + n + 2 > this.bytes.length) this.grow(n + 2);
    const bytes = this.bytes;
    const at = this.length;
    // The same string as the last value written plainly (an entry's prefix and location): its bytes again.
    if (value === this.lastValue) {
      bytes.copyWithin(at, this.lastAt, this.lastAt + n + 2);
      this.length = at + n + 2;
      return;
    }
    bytes[at] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      // Printable ASCII without a quote or backslash needs no escape (tomlString's fast path).
      if (c > 0x7f || PLAIN[c] === 0) {
        this.escaped(tomlString(value));
        return;
      }
      bytes[at + 1 + i] = c;
    }
    bytes[at + 1 + n] = QUOTE;
    this.length = at + n + 2;
    this.lastValue = value;
    this.lastAt = at;
  }

  /** `text` (an escaped string), if it is all ASCII. */
  private escaped(text: string): void {
    const n = text.length;
    if (this.length + n > this.bytes.length) this.grow(n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) throw new NotAscii();
      this.bytes[this.length + i] = c;
    }
    this.length += n;
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + needed));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** The text; the writer is done and gives its bytes to the next one. */
  text(): string {
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1');
    if (this.bytes.length <= KEPT_BYTES && (spare === undefined || spare.length < this.bytes.length)) spare = this.bytes;
    return text;
  }
}

/** Any text: the pieces, joined once at the end. */
export class StringText implements TextSink {
  private readonly pieces: string[] = [];

  literal(piece: Literal): void {
    this.pieces.push(piece.text);
  }

  quoted(value: string): void {
    this.pieces.push(tomlString(value));
  }

  text(): string {
    return this.pieces.join('');
  }
}
