// Validation of one object (SPEC §1): its schema (schemas.ts, run by ajv),
// then the checks a schema cannot express. Every ajv error becomes a
// Problem naming the field path, quoting the value and saying why.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { kindOf, schemaOf, type KnownKind, type SchemaKey } from './kinds.js';
import { isUsableReference, quote, referenceError, type ReferenceForm } from './patterns.js';
import { FORMATS, MESSAGE_KEYWORD, SCHEMAS } from './schemas.js';
import type { KubeObject } from './source.js';
import type { MirrorEntry, MirrorSourcePolicy, Origin, Pool, Problem, Reason, ScopeEntry } from './types.js';
import { isRecord } from '../common/values.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addKeyword({ keyword: MESSAGE_KEYWORD, schemaType: 'string' });
const FORM_OF_FORMAT = new Map<string, ReferenceForm>();
for (const [form, name] of Object.entries(FORMATS) as [ReferenceForm, string][]) {
  ajv.addFormat(name, { type: 'string', validate: (s: string) => isUsableReference(s, form) });
  FORM_OF_FORMAT.set(name, form);
}

const compiled = new Map<SchemaKey, ValidateFunction>();

function validatorFor(key: SchemaKey): ValidateFunction {
  let fn = compiled.get(key);
  if (!fn) {
    fn = ajv.compile(SCHEMAS[key]);
    compiled.set(key, fn);
  }
  return fn;
}

/**
 * All problems of one object: schema errors, then the checks a schema
 * cannot express (written defensively: they also run on malformed objects
 * so that one pass reports everything).
 * Objects of kinds we do not know have no problems here: parse.ts decides
 * whether they are allowed at all.
 */
export function validateObject(obj: KubeObject, origin: Origin): Problem[] {
  const { schema, semantic } = validateObjectParts(obj, origin);
  return [...schema, ...semantic];
}

/**
 * validateObject in two parts: `schema` problems (the object's shape), and
 * `semantic` ones (checks beyond the schema). An object with semantic
 * problems only has the shape the extraction functions below expect.
 */
export function validateObjectParts(obj: KubeObject, origin: Origin): { schema: Problem[]; semantic: Problem[] } {
  const kind = kindOf(obj);
  const schemaKey = schemaOf(obj);
  if (!kind || !schemaKey) return { schema: [], semantic: [] };
  const validate = validatorFor(schemaKey);
  const ctx: ErrorContext = { origin, kind, sensitive: kind === 'Secret' };
  const schema = validate(obj) ? [] : dedupe((validate.errors ?? []).map((e) => toProblem(e, ctx)));
  return { schema, semantic: semanticProblems(obj, kind, origin) };
}

interface ErrorContext {
  origin: Origin;
  kind: KnownKind;
  /** Never quote values (Secret data). */
  sensitive: boolean;
}

const NOUN: Record<ReferenceForm, { noun: string; reason: Reason }> = {
  source: { noun: 'source', reason: 'InvalidSource' },
  mirror: { noun: 'mirror', reason: 'InvalidMirror' },
  scope: { noun: 'scope', reason: 'InvalidScope' },
  host: { noun: 'host', reason: 'InvalidAccess' },
};

function toProblem(err: ErrorObject, ctx: ErrorContext): Problem {
  const field = fieldPath(err.instancePath);
  const make = (reason: Reason, message: string, at = field, value: unknown = err.data): Problem => {
    const p: Problem = { reason, message, origin: ctx.origin, field: at };
    if (!ctx.sensitive && value !== undefined) p.value = value;
    return p;
  };
  const general: Reason = ctx.kind === 'RegistryAccess' ? 'InvalidAccess' : 'InvalidDocument';
  const custom = (err.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD];
  if (typeof custom === 'string') return make(general, custom);
  switch (err.keyword) {
    case 'format': {
      const form = FORM_OF_FORMAT.get(String(err.params.format)) ?? 'mirror';
      const value = String(err.data);
      return make(NOUN[form].reason, `invalid ${NOUN[form].noun} ${quote(value)}: ${referenceError(value, form)}`);
    }
    case 'uniqueItems':
      return duplicateProblem(err, field, make, general);
    case 'required': {
      const missing = String(err.params.missingProperty);
      return make(general, 'is required', joinField(field, missing), undefined);
    }
    case 'additionalProperties': {
      const extra = String(err.params.additionalProperty);
      const allowed = Object.keys((err.parentSchema?.properties as object | undefined) ?? {}).join(', ');
      return make(general, `unknown field (allowed: ${allowed})`, joinField(field, extra), undefined);
    }
    case 'type':
      return make(general, `must be ${article(String(err.params.type))}, got ${describe(err.data, ctx.sensitive)}`);
    case 'enum': {
      const allowed = (err.params.allowedValues as unknown[]).join(', ');
      return make(general, `invalid value ${ctx.sensitive ? '' : `${quote(err.data)} `}(allowed: ${allowed})`);
    }
    case 'minLength':
      return make(general, 'must not be empty');
    case 'maxItems': {
      const count = Array.isArray(err.data) ? err.data.length : 0;
      return make(
        general,
        `has ${count} items, more than the ${String(err.params.limit)} allowed (as in the CRD); split it into several objects, which are merged`,
        field,
        undefined,
      );
    }
    default:
      return make(general, err.message ?? `fails ${err.keyword}`);
  }
}

function duplicateProblem(
  err: ErrorObject,
  field: string,
  make: (reason: Reason, message: string, at?: string, value?: unknown) => Problem,
  general: Reason,
): Problem {
  // ajv reports the pair (i, j) with i < j: j repeats i.
  const { i, j } = err.params as { i: number; j: number };
  const value = (err.data as unknown[])[i];
  const leaf = field.slice(field.lastIndexOf('.') + 1);
  const isMirrors = leaf === 'mirrors';
  const message = `duplicate ${isMirrors ? 'mirror' : 'item'} ${quote(value)} (also ${leaf}[${i}])`;
  return make(isMirrors ? 'DuplicateMirror' : general, message, `${field}[${j}]`, value);
}

function article(type: string): string {
  const words: Record<string, string> = {
    array: 'a list',
    object: 'a mapping',
    string: 'a string',
    boolean: 'true or false',
    integer: 'an integer',
    number: 'a number',
  };
  return words[type] ?? type;
}

function describe(v: unknown, sensitive: boolean): string {
  const type = v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`;
  if (sensitive || v === null || typeof v === 'object') return type;
  return `${type} ${quote(v)}`;
}

/** JSON pointer `/spec/imageDigestMirrors/1/mirrors/0` -> `spec.imageDigestMirrors[1].mirrors[0]`. */
export function fieldPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => joinField(acc, seg), '');
}

function joinField(base: string, seg: string): string {
  if (/^(0|[1-9][0-9]*)$/.test(seg)) return `${base}[${seg}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) return base ? `${base}.${seg}` : seg;
  return `${base}[${JSON.stringify(seg)}]`;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Checks beyond the schema. They run whatever the shape, so they test types
// before use; the extraction functions further down run only on objects
// that passed validation, and their casts describe what ajv verified.

interface EntryShape {
  source: string;
  mirrors?: string[];
  mirrorSourcePolicy?: MirrorSourcePolicy;
}

function spec(obj: KubeObject): Record<string, unknown> {
  return (obj.spec ?? {}) as Record<string, unknown>;
}

function semanticProblems(obj: KubeObject, kind: KnownKind, origin: Origin): Problem[] {
  const problems: Problem[] = [];
  const s = isRecord(obj.spec) ? obj.spec : {};
  if (kind === 'IDMS' || kind === 'ITMS') {
    const field = entryField(kind);
    const entries = Array.isArray(s[field]) ? (s[field] as unknown[]) : [];
    entries.forEach((e, i) => problems.push(...ownMirrorProblems(e, `spec.${field}[${i}]`, origin)));
  }
  const list = ENTRY_LISTS[kind];
  if (list && Array.isArray(s[list])) {
    (s[list] as unknown[]).forEach((e, i) => problems.push(...bareHostMirrorProblems(e, `spec.${list}[${i}]`, origin)));
  }
  if (isRecord(s.nodePoolSelector) && (kind === 'IDMS' || kind === 'ITMS' || kind === 'RegistryAccess')) {
    const reason: Reason = kind === 'RegistryAccess' ? 'InvalidAccess' : 'InvalidDocument';
    problems.push(...selectorProblems(s.nodePoolSelector, 'spec.nodePoolSelector', origin, reason));
  }
  return problems;
}

/** The list of mirror entries in each kind's spec. */
const ENTRY_LISTS: Partial<Record<KnownKind, string>> = {
  IDMS: 'imageDigestMirrors',
  ITMS: 'imageTagMirrors',
  ICSP: 'repositoryDigestMirrors',
  HostedCluster: 'imageContentSources',
};

/**
 * A mirror without a path for a source with one cannot work: containers/image
 * replaces the source with the mirror, so `example.com/ns/app:v1` becomes
 * `m1.mirror:v1`, not a repository at all, and the whole pull fails
 * ("repository name must be canonical", "invalid reference format") before
 * any registry is asked. containerd cannot express such a pair either.
 */
function bareHostMirrorProblems(e: unknown, field: string, origin: Origin): Problem[] {
  if (!isRecord(e) || typeof e.source !== 'string' || !e.source.includes('/') || !Array.isArray(e.mirrors)) return [];
  // Most entries have none: look for a bare mirror before checking anything else.
  if (!e.mirrors.some((m) => typeof m === 'string' && !m.includes('/'))) return [];
  if (!isUsableReference(e.source, 'source')) return []; // the source's own problem says enough
  const source = e.source;
  const path = source.slice(source.indexOf('/'));
  return e.mirrors.flatMap((m, j): Problem[] => {
    if (typeof m !== 'string' || m.includes('/') || !isUsableReference(m, 'mirror')) return [];
    return [
      {
        reason: 'InvalidMirror',
        message:
          `mirror ${quote(m)} is a bare host, but source ${quote(source)} names a repository path: containers/image would ` +
          `rewrite ${source}:tag to ${m}:tag, which is not a repository, and fail every pull through this entry; ` +
          `give the mirror the path it serves (for example ${quote(m + path)})`,
        origin,
        field: `${field}.mirrors[${j}]`,
        value: m,
      },
    ];
  });
}

/** NeverContactSource while the source is one of its own mirrors: the source would be contacted as a mirror. */
function ownMirrorProblems(e: unknown, field: string, origin: Origin): Problem[] {
  if (!isRecord(e) || e.mirrorSourcePolicy !== 'NeverContactSource' || !Array.isArray(e.mirrors)) return [];
  const at = e.mirrors.indexOf(e.source);
  if (typeof e.source !== 'string' || at < 0) return [];
  return [
    {
      reason: 'SourceIsOwnMirror',
      message: `source ${quote(e.source)} is listed as its own mirror while mirrorSourcePolicy is NeverContactSource; remove it from mirrors or allow contacting the source`,
      origin,
      field: `${field}.mirrors[${at}]`,
      value: e.source,
    },
  ];
}

/** Kubernetes LabelSelector rules: In/NotIn need values, Exists/DoesNotExist take none. */
function selectorProblems(sel: Record<string, unknown>, field: string, origin: Origin, reason: Reason): Problem[] {
  const problems: Problem[] = [];
  const exprs = Array.isArray(sel.matchExpressions) ? (sel.matchExpressions as unknown[]) : [];
  exprs.forEach((expr, i) => {
    if (!isRecord(expr)) return;
    const count = Array.isArray(expr.values) ? expr.values.length : 0;
    const needs = expr.operator === 'In' || expr.operator === 'NotIn';
    const takesNone = expr.operator === 'Exists' || expr.operator === 'DoesNotExist';
    if ((needs && count > 0) || (takesNone && count === 0) || (!needs && !takesNone)) return;
    problems.push({
      reason,
      message: needs ? `operator ${String(expr.operator)} needs at least one value` : `operator ${String(expr.operator)} takes no values`,
      origin,
      field: `${field}.matchExpressions[${i}].values`,
    });
  });
  return problems;
}

function entryField(kind: 'IDMS' | 'ITMS'): 'imageDigestMirrors' | 'imageTagMirrors' {
  return kind === 'IDMS' ? 'imageDigestMirrors' : 'imageTagMirrors';
}

// ---------------------------------------------------------------------------
// Reading valid objects into the model.

/**
 * The mirror entries of a valid IDMS, ITMS or ICSP, or of a HostedCluster's
 * `imageContentSources` (digest pool, no policy). Other kinds: none.
 */
export function mirrorEntriesOf(obj: KubeObject, origin: Origin): MirrorEntry[] {
  const kind = kindOf(obj);
  if (kind === 'IDMS' || kind === 'ITMS') {
    const field = entryField(kind);
    return toEntries(spec(obj)[field], `spec.${field}`, kind === 'IDMS' ? 'digest' : 'tag', origin, true);
  }
  if (kind === 'ICSP') return toEntries(spec(obj).repositoryDigestMirrors, 'spec.repositoryDigestMirrors', 'digest', origin, false);
  if (kind === 'HostedCluster') return toEntries(spec(obj).imageContentSources, 'spec.imageContentSources', 'digest', origin, false);
  return [];
}

function toEntries(list: unknown, field: string, pool: Pool, origin: Origin, withPolicy: boolean): MirrorEntry[] {
  return ((list ?? []) as EntryShape[]).map((e, i) => {
    const entry: MirrorEntry = { pool, source: e.source, mirrors: [...(e.mirrors ?? [])], origin, field: `${field}[${i}]` };
    if (withPolicy && e.mirrorSourcePolicy) entry.policy = e.mirrorSourcePolicy;
    return entry;
  });
}

export interface Scopes {
  insecure: ScopeEntry[];
  blocked: ScopeEntry[];
}

/**
 * Insecure and blocked scopes of a valid Image (`spec.registrySources`),
 * HostedCluster (`spec.configuration.image.registrySources`) or
 * RegistryAccess (`spec.insecureRegistries`/`blockedRegistries`).
 */
export function scopesOf(obj: KubeObject, origin: Origin): Scopes {
  const kind = kindOf(obj);
  const s = spec(obj);
  if (kind === 'RegistryAccess') return readScopes(s, 'spec', origin);
  if (kind === 'Image') return readScopes(s.registrySources, 'spec.registrySources', origin);
  if (kind === 'HostedCluster') {
    const image = ((s.configuration ?? {}) as Record<string, unknown>).image as Record<string, unknown> | undefined;
    return readScopes(image?.registrySources, 'spec.configuration.image.registrySources', origin);
  }
  return { insecure: [], blocked: [] };
}

function readScopes(holder: unknown, field: string, origin: Origin): Scopes {
  const h = (holder ?? {}) as { insecureRegistries?: string[]; blockedRegistries?: string[] };
  const read = (list: string[] | undefined, name: string): ScopeEntry[] => (list ?? []).map((scope, i) => ({ scope, origin, field: `${field}.${name}[${i}]` }));
  return { insecure: read(h.insecureRegistries, 'insecureRegistries'), blocked: read(h.blockedRegistries, 'blockedRegistries') };
}
