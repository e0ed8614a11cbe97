// The mirror model: what inputs mean once parsed, what the merge produces,
// and the problems both report. Everything here is plain data (no classes,
// no I/O) so that the merge and the renderers stay pure functions.
//
// Semantics: docs/SPEC.md (a copy of the design spec). Section numbers
// in comments below refer to it.

/** `mirrorSourcePolicy`; an unset policy counts as AllowContactingSource. */
export type MirrorSourcePolicy = 'AllowContactingSource' | 'NeverContactSource';

/** Digest pulls use IDMS/ICSP/imageContentSources mirrors, tag pulls ITMS mirrors (§2.1). */
export type Pool = 'digest' | 'tag';

/**
 * Where a piece of input came from: an API object, possibly embedded in a
 * ConfigMap key or read from a file. Used in every message and in status.
 */
export interface Origin {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  /**
   * Where the document was read from when it is not itself an API object of
   * the cluster: a file path (CLI), or `ConfigMap ns/name key idms.yaml`.
   */
  location?: string;
}

/** One `{source, mirrors, mirrorSourcePolicy}` entry after parsing (§1). */
export interface MirrorEntry {
  pool: Pool;
  source: string;
  mirrors: readonly string[];
  /** undefined = unset (counts as AllowContactingSource). */
  policy?: MirrorSourcePolicy;
  origin: Origin;
  /** Field path of the entry inside its object, e.g. `spec.imageDigestMirrors[2]`. */
  field: string;
}

/** An insecure or blocked scope from `Image`/`configuration.image`/RegistryAccess (§1, §2.6). */
export interface ScopeEntry {
  scope: string;
  origin: Origin;
  field: string;
}

/**
 * How to reach one registry host (§5), with secret material already resolved.
 * `host` is `host[:port]`.
 */
export interface HostAccess {
  host: string;
  /** PEM bundle of CAs to trust for this host. */
  caPEM?: string;
  /** Basic credentials. Secret: only ever rendered into the output Secret. */
  auth?: { username: string; password: string };
  /** Client certificate. The key is secret: only ever rendered into the output Secret. */
  clientCert?: { certPEM: string; keyPEM: string };
  insecureSkipVerify?: boolean;
  plainHTTP?: boolean;
  origin: Origin;
  field: string;
}

/**
 * A mirror for every registry (§4 "Global mirror"): containerd's
 * `_default/hosts.toml`. registries.conf has no catch-all, so it is expanded
 * to the explicit `registries` list when one is given, and reported otherwise.
 */
export interface DefaultMirror {
  /** `host[:port][/prefix]` */
  mirror: string;
  registries: readonly string[];
  origin: Origin;
  field: string;
}

/** Everything the merge needs for one target, gathered before any decision (STYLE.md 2). */
export interface MergeInputs {
  entries: readonly MirrorEntry[];
  insecure: readonly ScopeEntry[];
  blocked: readonly ScopeEntry[];
  access: readonly HostAccess[];
  defaultMirror?: DefaultMirror;
  /** Every object that contributed anything, for status. */
  contributors: readonly Origin[];
}

/**
 * One source or scope after the merge: the unit that becomes a
 * `[[registry]]` in registries.conf.
 */
export interface RegistryRule {
  /** `host[:port][/path]` or `*.domain`. */
  source: string;
  /** Mirrors for digest pulls, in merge order, inherited per pool (§2.5). */
  digestMirrors: readonly string[];
  /** Mirrors for tag pulls, in merge order, inherited per pool (§2.5). */
  tagMirrors: readonly string[];
  /** NeverContactSource on this source or the enclosing one it inherits from (§2.4, §2.6). */
  neverContactSource: boolean;
  /** Listed in a blocked scope (the source itself is blocked). */
  blocked: boolean;
  /** The source location is inside an insecure scope. */
  insecure: boolean;
}

export interface MirrorModel {
  /** Sorted by `source` in byte order. */
  rules: readonly RegistryRule[];
  /** Insecure scopes, sorted, for marking mirrors insecure at render time. */
  insecureScopes: readonly string[];
  /** Sorted by host. */
  access: readonly HostAccess[];
  defaultMirror?: DefaultMirror;
  /** Sorted, de-duplicated. */
  contributors: readonly Origin[];
}

/** Condition reasons and problem codes. Literal union: see STYLE.md 7. */
export const REASONS = [
  'InvalidYAML',
  'InvalidDocument',
  'UnsupportedKind',
  'DocumentTooLarge',
  'InvalidSource',
  'InvalidMirror',
  'InvalidScope',
  'DuplicateMirror',
  'PolicyConflict',
  'SourceIsOwnMirror',
  'MissingReference',
  'InvalidReference',
  'InvalidAccess',
  'DuplicateAccess',
  'OutputTooLarge',
  'OutputNameConflict',
  'OutputRejected',
  'OutputTypeConflict',
  'UnreadableReference',
  'EmptyInput',
  'InternalError',
] as const;

export type Reason = (typeof REASONS)[number];

/**
 * A user mistake, precise enough to fix without reading code: which object,
 * which field, what value, and why.
 */
export interface Problem {
  reason: Reason;
  message: string;
  origin?: Origin;
  field?: string;
  value?: unknown;
}

/** Something rendered inexactly or not at all; never fatal (§4). */
export type WarningCode =
  | 'NotExpressible'
  | 'HostWideWidening'
  | 'TagOnlyApproximated'
  | 'NoCatchAllInRegistriesConf'
  | 'CredentialsOmitted'
  | 'EmptyInput'
  | 'WildcardPort'
  | 'InvalidAnnotation'
  | 'AmbiguousReference';

export interface RenderWarning {
  code: WarningCode;
  /** The consumer the warning is about; `inputs` for one about the inputs themselves (gather). */
  renderer: 'containerd' | 'registries.conf' | 'machineconfig' | 'inputs';
  source: string;
  mirror?: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: Problem[] };

/** Formats an origin as `kind namespace/name` (plus location when set). */
export function describeOrigin(o: Origin): string {
  const id = o.namespace ? `${o.namespace}/${o.name}` : o.name;
  return o.location ? `${o.kind} ${id} (${o.location})` : `${o.kind} ${id}`;
}

/** Formats a problem as one line: `<origin>: <field>: <message>`. */
export function formatProblem(p: Problem): string {
  const parts: string[] = [];
  if (p.origin) parts.push(describeOrigin(p.origin));
  if (p.field) parts.push(p.field);
  parts.push(p.message);
  return `${parts.join(': ')} [${p.reason}]`;
}
