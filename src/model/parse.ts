// Text -> Kubernetes objects: multi-document YAML, JSON and `kind: List`.
//
// Only the envelope is checked here (a mapping with apiVersion, kind and
// metadata.name, of a kind the caller accepts); field contents are checked
// by validate.ts. Nothing throws to callers: every failure is a Problem.
import { CORE_SCHEMA, EVENT_ID, constructFromEvents, mergeTag, parseEvents, type Event } from 'js-yaml';
import { KIND_NAMES, apiVersionsOf, isNamespaced, knownKind, type KnownKind } from './kinds.js';
import type { KubeObject } from './source.js';
import type { Problem, Reason } from './types.js';
import { quote } from './patterns.js';
import { isRecord } from '../common/values.js';

/** A document larger than a ConfigMap may hold (1 MiB) is refused. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Aliases allowed per document; manifests rarely use any. */
export const MAX_ALIASES = 1000;
/**
 * Aliases share nodes, so a small document can stand for a huge value
 * ("billion laughs"). A document whose expanded value would exceed this is
 * refused before anything walks it.
 */
export const MAX_EXPANDED_BYTES = 2 * MAX_DOCUMENT_BYTES;

export interface ParseOptions {
  /** Where the text came from, for messages: a file path or `ConfigMap ns/name key config`. */
  location: string;
  /** Kinds to return; default: every kind of kinds.ts. */
  kinds?: readonly KnownKind[];
  /**
   * Documents of other kinds: `error` (UnsupportedKind, for files given to
   * the CLI) or `ignore` (NodePool config ConfigMaps, SPEC §1).
   */
  otherKinds: 'error' | 'ignore';
}

export interface ParseResult {
  objects: KubeObject[];
  problems: Problem[];
}

// Where each parsed object came from. A WeakMap keeps KubeObject plain data
// (objects from the API server simply have no entry).
const locations = new WeakMap<object, string>();

/** Where a parsed object came from (`file.yaml:12, document 2`), if it was parsed from text. */
export function locationOf(obj: KubeObject): string | undefined {
  return locations.get(obj);
}

/** True when `text` holds no YAML document: empty, blank, comments and `---`/`...` markers only. */
export function holdsNoDocuments(text: string): boolean {
  return /^(?:[ \t]*(?:(?:---|\.\.\.)(?:[ \t]+#.*)?)?[ \t]*(?:#.*)?(?:\r?\n|$))*$/.test(text);
}

/** Parses one text (a file, a ConfigMap value) into objects and problems. */
export function parseObjects(text: string, opts: ParseOptions): ParseResult {
  const out: ParseResult = { objects: [], problems: [] };
  for (const doc of splitDocuments(text, opts.location, out.problems)) {
    acceptDocument(doc, opts, out);
  }
  return out;
}

/** One document of a text, before its envelope is checked. */
interface RawDocument {
  value: unknown;
  /** `file.yaml:12` or `file.yaml:12, document 2`. */
  location: string;
}

function splitDocuments(text: string, location: string, problems: Problem[]): RawDocument[] {
  const json = tryJSON(text);
  if (json.ok) {
    if (byteLength(text) > MAX_DOCUMENT_BYTES) {
      problems.push(tooLarge(`${location}:1`, byteLength(text)));
      return [];
    }
    return [{ value: json.value, location: `${location}:1` }];
  }
  let events: Event[];
  try {
    events = parseEvents(text, { filename: location });
  } catch (err) {
    problems.push(yamlProblem(err, location, location));
    return [];
  }
  return constructDocuments(text, events, location, problems);
}

function tryJSON(text: string): { ok: true; value: unknown } | { ok: false } {
  // JSON is YAML too, but JSON.parse is faster and tolerates tab indentation.
  if (!/^\s*[[{]/.test(text)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

function constructDocuments(text: string, events: Event[], location: string, problems: Problem[]): RawDocument[] {
  const slices = sliceDocuments(events);
  const all = constructAll(text, events);
  const lines = new LineIndex(text);
  const docs: RawDocument[] = [];
  let next = 0; // index of the next non-empty slice after the current one
  for (const [i, slice] of slices.entries()) {
    if (slice.start < 0) continue; // empty document
    const where = `${location}:${lines.lineOf(slice.start)}${slices.length > 1 ? `, document ${i + 1}` : ''}`;
    for (next = Math.max(next, i + 1); next < slices.length && slices[next]!.start < 0; next++);
    const end = next < slices.length ? slices[next]!.start : text.length;
    const size = byteLength(text.slice(slice.start, end));
    if (size > MAX_DOCUMENT_BYTES) {
      problems.push(tooLarge(where, size));
      continue;
    }
    const value = all ? checkExpansion(all[i], slice, where, problems) : constructOne(text, slice, { base: location, where }, problems);
    if (value !== undefined) docs.push({ value, location: where });
  }
  return docs;
}

/**
 * Constructs every document in one call (each call has a fixed cost, which
 * matters for files with thousands of documents); undefined when one of
 * them fails, and then each is constructed alone to place the error.
 */
function constructAll(text: string, events: Event[]): unknown[] | undefined {
  try {
    return constructFromEvents(events, { source: text, schema: SCHEMA, maxAliases: MAX_ALIASES });
  } catch {
    return undefined;
  }
}

interface EventSlice {
  events: Event[];
  /** Offset of the document's first node, -1 when the document is empty. */
  start: number;
  hasAlias: boolean;
}

function sliceDocuments(events: Event[]): EventSlice[] {
  const slices: EventSlice[] = [];
  for (const ev of events) {
    if (ev.type === EVENT_ID.DOCUMENT) {
      slices.push({ events: [ev], start: -1, hasAlias: false });
      continue;
    }
    const cur = slices[slices.length - 1];
    if (!cur) continue;
    cur.events.push(ev);
    if (ev.type === EVENT_ID.ALIAS) cur.hasAlias = true;
    if (cur.start < 0) cur.start = firstOffset(ev);
  }
  return slices;
}

function firstOffset(ev: Event): number {
  const candidates: number[] = [];
  if (ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) candidates.push(ev.start, ev.anchorStart, ev.tagStart);
  if (ev.type === EVENT_ID.SCALAR) candidates.push(ev.valueStart, ev.anchorStart, ev.tagStart);
  const found = candidates.filter((n) => n >= 0);
  return found.length ? Math.min(...found) : -1;
}

function constructOne(text: string, slice: EventSlice, { base, where }: { base: string; where: string }, problems: Problem[]): unknown {
  let value: unknown;
  try {
    [value] = constructFromEvents(slice.events, { source: text, schema: SCHEMA, maxAliases: MAX_ALIASES });
  } catch (err) {
    const msg = errorText(err);
    problems.push(
      /maxAliases/.test(msg) ? problem('DocumentTooLarge', `${where}: document uses more than ${MAX_ALIASES} YAML aliases`) : yamlProblem(err, base, where),
    );
    return undefined;
  }
  return checkExpansion(value, slice, where, problems);
}

/** The value, or undefined after a problem when aliases expand it beyond MAX_EXPANDED_BYTES. */
function checkExpansion(value: unknown, slice: EventSlice, where: string, problems: Problem[]): unknown {
  if (slice.hasAlias && expandedSize(value, MAX_EXPANDED_BYTES) > MAX_EXPANDED_BYTES) {
    problems.push(problem('DocumentTooLarge', `${where}: document expands to more than ${mib(MAX_EXPANDED_BYTES)} through YAML aliases`));
    return undefined;
  }
  return value;
}

/**
 * Approximate JSON size of `value`, counting shared (aliased) nodes every
 * time they appear; stops counting once `budget` is exceeded, so a
 * billion-laughs value costs at most `budget` steps.
 */
export function expandedSize(value: unknown, budget: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= budget) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      stack.push(...v);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(child);
      }
      size += 2;
    } else size += String(v).length;
  }
  return size;
}

function acceptDocument(doc: RawDocument, opts: ParseOptions, out: ParseResult): void {
  const { value, location } = doc;
  if (value === null || value === undefined) return;
  if (isRecord(value) && isListKind(value)) {
    const items = value.items;
    if (!Array.isArray(items)) {
      out.problems.push(problem('InvalidDocument', `${location}: ${String(value.kind)} has no items list`));
      return;
    }
    items.forEach((item, i) => acceptObject(item, `${location}, items[${i}]`, opts, out));
    return;
  }
  acceptObject(value, location, opts, out);
}

function isListKind(v: Record<string, unknown>): boolean {
  return typeof v.kind === 'string' && (v.kind === 'List' || (v.kind.endsWith('List') && 'items' in v));
}

function acceptObject(value: unknown, location: string, opts: ParseOptions, out: ParseResult): void {
  if (!isRecord(value)) {
    out.problems.push(
      problem('InvalidDocument', `${location}: ${describeValue(value)} is not an object (expected a mapping with apiVersion, kind and metadata)`),
    );
    return;
  }
  const envelope = checkEnvelope(value, location, opts);
  if (envelope === 'ignore') return;
  if (typeof envelope !== 'string') {
    out.problems.push(envelope);
    return;
  }
  const obj = value as KubeObject;
  // As with kubectl: namespaced objects default to `default`, cluster-scoped ones have none.
  if (!isNamespaced(envelope)) delete obj.metadata.namespace;
  else obj.metadata.namespace ||= 'default';
  locations.set(obj, location);
  out.objects.push(obj);
}

/** The known kind of an acceptable object, 'ignore', or the problem with it. */
function checkEnvelope(v: Record<string, unknown>, location: string, opts: ParseOptions): KnownKind | 'ignore' | Problem {
  const { apiVersion, kind, metadata } = v;
  if (!isNonEmptyString(apiVersion)) return badField(location, v, 'apiVersion', apiVersion);
  if (!isNonEmptyString(kind)) return badField(location, v, 'kind', kind);
  // Directories meant for `kubectl apply` carry the namespaces their objects
  // live in; those say nothing about mirrors and are not a mistake.
  if (apiVersion === 'v1' && kind === 'Namespace') return 'ignore';
  const known = knownKind(apiVersion, kind);
  if (!known || (opts.kinds && !opts.kinds.includes(known))) {
    return opts.otherKinds === 'ignore' ? 'ignore' : unsupported(apiVersion, kind, location, opts);
  }
  if (!isRecord(metadata)) return badField(location, v, 'metadata', metadata);
  if (!isNonEmptyString(metadata.name)) return badField(location, v, 'metadata.name', metadata.name);
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    return badField(location, v, 'metadata.namespace', metadata.namespace);
  }
  return known;
}

/** The field path is part of the message: without an origin, formatProblem would print it first. */
function badField(location: string, v: Record<string, unknown>, field: string, value: unknown): Problem {
  const what = isNonEmptyString(v.kind) ? `${v.kind} document` : 'document';
  const text = value === undefined ? `${location}: ${what} has no ${field}` : `${location}: ${what} has an invalid ${field} ${quote(value)}`;
  return problem('InvalidDocument', text);
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function unsupported(apiVersion: string, kind: string, location: string, opts: ParseOptions): Problem {
  const versions = apiVersionsOf(kind);
  const allowed = opts.kinds ? ` here (allowed: ${opts.kinds.map((k) => KIND_NAMES[k]).join(', ')})` : '';
  const hint = versions.length && !opts.kinds ? `; ${kind} is read from apiVersion ${versions.join(' or ')}` : '';
  return {
    ...problem('UnsupportedKind', `${location}: kind ${kind} of apiVersion ${apiVersion} is not supported${allowed}${hint}`),
    value: `${apiVersion}/${kind}`,
  };
}

/** A js-yaml error as a Problem at `base:line:column` (or `where` without a mark). */
function yamlProblem(err: unknown, base: string, where: string): Problem {
  const { mark, reason } = (isRecord(err) || err instanceof Error ? err : {}) as {
    mark?: { line: number; column: number };
    reason?: unknown;
  };
  const text = typeof reason === 'string' ? reason : errorText(err);
  const at = mark ? `${base}:${mark.line + 1}:${mark.column + 1}` : where;
  return problem('InvalidYAML', `${at}: invalid YAML: ${text}`);
}

function tooLarge(where: string, size: number): Problem {
  return problem('DocumentTooLarge', `${where}: document is ${mib(size)}, over the ${mib(MAX_DOCUMENT_BYTES)} limit of a ConfigMap`);
}

function problem(reason: Reason, message: string): Problem {
  return { reason, message };
}

/** The first line of an error's message: never its stack. */
function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'a sequence';
  if (typeof v === 'string') return `the string ${quote(v)}`;
  return `the ${typeof v} ${quote(v)}`;
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 2)} MiB`;
}

/** Offset -> 1-based line, for offsets asked in increasing order. */
class LineIndex {
  private offset = 0;
  private line = 1;
  constructor(private readonly text: string) {}
  lineOf(offset: number): number {
    if (offset < this.offset) {
      this.offset = 0;
      this.line = 1;
    }
    for (; this.offset < offset; this.offset++) if (this.text.charCodeAt(this.offset) === 10) this.line++;
    return this.line;
  }
}
