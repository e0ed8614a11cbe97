// Image reference patterns for sources, mirrors, scopes and registry hosts (SPEC §1).
//
// The `*_PATTERN` strings are the upstream openshift/api IDMS/ITMS CRD
// patterns, character for character: CRD schemas use them so that the API
// server accepts exactly what OpenShift accepts. The API server evaluates
// them with a linear-time engine (RE2).
//
// JavaScript's engine backtracks, and the upstream path-component group
// `(?:(?:[._]|__|[-]*)[a-z0-9]+)+` nests two unbounded quantifiers over the
// same characters: `quay.io/aaaaaaaaaaaaaaaaaaaaaaaaaa!` takes about a second
// and every further character doubles that. Code therefore never runs the
// upstream strings; it uses `*_RE`, which accept the same language written
// without ambiguity (each repetition starts with a separator that cannot
// belong to the previous one). test/unit/model/patterns.test.ts checks the
// two agree on generated inputs.

/** Host label: letters, digits and inner dashes (upstream allows upper case here). */
const LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';

/** Upstream `mirrors[]` pattern: `host[:port][/ns...][/repo]`. */
export const MIRROR_PATTERN =
  '^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?)(?:(?:/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$';

/** Upstream `source` pattern: the mirror form, or a `*.domain` wildcard host. */
export const SOURCE_PATTERN = `^\\*(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+$|${MIRROR_PATTERN}`;

/** Insecure/blocked scopes take the same forms as a source (wildcards included). */
export const SCOPE_PATTERN = SOURCE_PATTERN;

/** `host[:port]` only: RegistryAccess `hosts[].host`. */
export const HOST_PATTERN = '^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?$';

const HOST = `${LABEL}(?:\\.${LABEL})*(?::[0-9]+)?`;
/** One path component: alphanumeric runs joined by `.`, `_`, `__` or dashes. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const WILDCARD = `\\*(?:\\.${LABEL})+`;

/** Linear-time equivalents of the upstream patterns (see the file comment). */
export const MIRROR_RE = new RegExp(`^${HOST}(?:/${COMPONENT})*$`);
export const SOURCE_RE = new RegExp(`^(?:${WILDCARD}|${HOST}(?:/${COMPONENT})*)$`);
export const SCOPE_RE = SOURCE_RE;
export const HOST_RE = new RegExp(`^${HOST}$`);

/** Which grammar a value is checked against. */
export type ReferenceForm = 'source' | 'mirror' | 'scope' | 'host';

const FORM_RE: Record<ReferenceForm, RegExp> = {
  source: SOURCE_RE,
  mirror: MIRROR_RE,
  scope: SCOPE_RE,
  host: HOST_RE,
};

/** True when `value` is valid in `form` by the upstream grammar. */
export function isValidReference(value: string, form: ReferenceForm): boolean {
  return FORM_RE[form].test(value);
}

/** True when `value` is valid in `form` and can also work: referenceError says nothing. */
export function isUsableReference(value: string, form: ReferenceForm): boolean {
  return isValidReference(value, form) && limitError(value) === undefined;
}

/**
 * Why `value` is not a valid `form`, in words a user can act on, or
 * undefined when it is valid. Validity by the grammar is decided by the
 * regular expression alone (the diagnosis only picks the words); beyond it,
 * a value the grammar accepts is still refused when it cannot work (see
 * limitError).
 */
export function referenceError(value: string, form: ReferenceForm): string | undefined {
  if (isValidReference(value, form)) return limitError(value);
  return diagnose(value, form) ?? `does not match ${FORM_SHAPE[form]}`;
}

/** The longest repository name containers/image and containerd parse (distribution's NameTotalLengthMax). */
export const MAX_REFERENCE_LENGTH = 255;
/** DNS (RFC 1035, as Kubernetes' own DNS-1123 checks): at most 253 characters in a name, 63 in a label. */
export const MAX_HOST_NAME_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

/**
 * Better than upstream: what the upstream grammar accepts but no consumer
 * can use. Image references are at most 255 characters long, host names are
 * DNS names, ports fit in 16 bits. Host names must be lower case: registries
 * compare them case-insensitively, but containers/image matches prefixes
 * and containerd looks up certs.d directories as written, so `Quay.io/foo`
 * would match no pull of `quay.io/foo/...` and a RegistryAccess for
 * `Mirror.io` would not reach `mirror.io`.
 */
function limitError(value: string): string | undefined {
  // One pass over the host name (this runs for every reference of every input): no slices, no regular expressions.
  const start = value.startsWith('*.') ? 2 : 0;
  let end = start;
  let upper = false;
  let label = 0;
  let longest = 0;
  for (; end < value.length; end++) {
    const c = value.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3a /* : */) break;
    if (c === 0x2e /* . */) label = 0;
    else if (++label > longest) longest = label;
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  const hostEnd = value.charCodeAt(end) === 0x3a ? nextSlash(value, end) : end;
  if (upper) {
    const lower = value.slice(0, hostEnd).toLowerCase() + value.slice(hostEnd);
    return (
      `host names must be lower case (write ${quote(lower)}): registries compare host names case-insensitively, ` +
      `but containers/image and containerd compare them as written, so ${quote(value)} would match nothing`
    );
  }
  if (end - start > MAX_HOST_NAME_LENGTH) return `host name is ${end - start} characters long; a DNS name has at most ${MAX_HOST_NAME_LENGTH}`;
  if (longest > MAX_LABEL_LENGTH) {
    const long =
      value
        .slice(start, end)
        .split('.')
        .find((l) => l.length > MAX_LABEL_LENGTH) ?? '';
    return `host label ${quote(`${long.slice(0, 20)}...`)} is ${long.length} characters long; a DNS label has at most ${MAX_LABEL_LENGTH}`;
  }
  if (hostEnd > end) {
    const port = Number(value.slice(end + 1, hostEnd));
    if (port < 1 || port > 65535) return `port ${value.slice(end + 1, hostEnd)} is out of range (1-65535)`;
  }
  if (value.length > MAX_REFERENCE_LENGTH) {
    return `is ${value.length} characters long; an image reference is at most ${MAX_REFERENCE_LENGTH}, so no pull could use it`;
  }
  return undefined;
}

function nextSlash(value: string, from: number): number {
  const slash = value.indexOf('/', from);
  return slash < 0 ? value.length : slash;
}

const FORM_SHAPE: Record<ReferenceForm, string> = {
  source: 'host[:port][/namespace...][/repo] or *.domain',
  mirror: 'host[:port][/namespace...][/repo]',
  scope: 'host[:port][/namespace...][/repo] or *.domain',
  host: 'host[:port]',
};

function diagnose(value: string, form: ReferenceForm): string | undefined {
  if (value === '') return 'must not be empty';
  if (/[\s\x00-\x1f\x7f]/.test(value)) return 'must not contain whitespace or control characters';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value)) {
    return `must not contain a URI scheme ("${value.slice(0, value.indexOf('://') + 3)}"); write ${FORM_SHAPE[form]}`;
  }
  if (value.startsWith('/')) return 'must start with a registry host name, not "/"';
  if (value.includes('@')) return 'must not contain a digest ("@sha256:..."); mirrors apply to whole repositories';
  if (value.includes('*')) return wildcardError(value, form);
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const path = slash < 0 ? undefined : value.slice(slash + 1);
  const hostError = diagnoseHost(host, path === undefined);
  if (hostError) return hostError;
  if (path === undefined) return undefined;
  if (form === 'host') return 'must be host[:port] without a path';
  return diagnosePath(path);
}

function wildcardError(value: string, form: ReferenceForm): string {
  if (form === 'mirror' || form === 'host') return 'wildcards ("*") are allowed only in sources and scopes';
  if (!value.startsWith('*.')) return '"*" is allowed only as the leading "*." of a wildcard host (*.example.com)';
  if (value.includes('/') || value.includes(':')) {
    return 'a wildcard source must be a host name only (*.example.com), without port or path';
  }
  return diagnoseLabels(value.slice(2)) ?? 'a wildcard source must be *.domain';
}

function diagnoseHost(host: string, hostOnly: boolean): string | undefined {
  const colon = host.indexOf(':');
  const name = colon < 0 ? host : host.slice(0, colon);
  if (name === '') return 'must start with a registry host name';
  const labelError = diagnoseLabels(name);
  if (labelError) return labelError;
  if (colon < 0) return undefined;
  const port = host.slice(colon + 1);
  if (/^[0-9]+$/.test(port)) return undefined;
  if (port === '') return 'port after ":" must not be empty';
  return hostOnly ? `port "${port}" must be a number (tags are not allowed)` : `port "${port}" must be a number`;
}

function diagnoseLabels(name: string): string | undefined {
  const bad = /[^a-zA-Z0-9.-]/.exec(name);
  if (bad) return `host name contains ${JSON.stringify(bad[0])}; allowed: letters, digits, "-" and "."`;
  for (const label of name.split('.')) {
    if (label === '') return 'host name has an empty label (leading, trailing or double ".")';
    if (label.startsWith('-') || label.endsWith('-')) {
      return `host label "${label}" must not start or end with "-"`;
    }
  }
  return undefined;
}

function diagnosePath(path: string): string | undefined {
  const parts = path.split('/');
  for (const [i, part] of parts.entries()) {
    if (part === '') return 'path has an empty component ("//" or a trailing "/")';
    if (part === '.' || part === '..') return `path component "${part}" is not allowed`;
    if (part.includes(':')) {
      return i === parts.length - 1 ? 'must not contain a tag (":tag"); mirrors apply to whole repositories' : `path component "${part}" must not contain ":"`;
    }
    const error = diagnoseComponent(part);
    if (error) return error;
  }
  return undefined;
}

function diagnoseComponent(part: string): string | undefined {
  if (/[A-Z]/.test(part)) return 'path components must be lower case';
  const bad = /[^a-z0-9._-]/.exec(part);
  if (bad) {
    return `path component contains ${JSON.stringify(bad[0])}; allowed: a-z, 0-9, ".", "_", "__" and "-"`;
  }
  if (!/^[a-z0-9]/.test(part) || !/[a-z0-9]$/.test(part)) {
    return `path component "${part}" must start and end with a lower-case letter or digit`;
  }
  for (const sep of part.match(/[._-]+/g) ?? []) {
    if (!/^(?:\.|_|__|-+)$/.test(sep)) {
      return `path component "${part}" has an invalid separator "${sep}" (use ".", "_", "__" or dashes)`;
    }
  }
  return undefined;
}

/**
 * Quotes a user value for a message: JSON escapes make newlines and quotes
 * visible, and long values are cut so one bad field cannot flood a log.
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const cut = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return typeof value === 'string' ? JSON.stringify(cut) : cut;
}
