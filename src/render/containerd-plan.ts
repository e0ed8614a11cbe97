// What containerd can do with the mirror model (SPEC §4): one directory per
// registry host, each an ordered list of endpoints plus a root `server`.
// containerd maps HOSTS, not repositories, so everything finer than a host
// is either expressed exactly (a mirror that keeps the source path), widened
// to the whole host (reported as HostWideWidening), or left out (reported as
// NotExpressible). Failing closed: a block is widened rather than dropped;
// an insecure setting is dropped rather than widened.
//
// This file produces the model side (`HostDirPlan`, `MirrorHost`);
// hosts-toml.ts maps it onto the file format.
import { byteOrder, hostPort, isInside, isWildcard, repoPath } from '../merge/scope.js';
import type { HostAccess, MirrorModel, RegistryRule, WarningCode } from '../model/types.js';
import { combineMirrors, sharesMirror } from './mirrors.js';
import { RuleWarnings } from './warnings.js';
import { assertHostPort, DEFAULT_DIR, hostDir, MAX_FILE_NAME_LENGTH } from './paths.js';

export type Capability = 'pull' | 'resolve';

/** One endpoint containerd may contact for a registry host. */
export interface MirrorHost {
  /** `scheme://host` or `scheme://host/v2/prefix`. */
  url: string;
  /** Logical `host[:port]`: selects the access settings and names their files. */
  host: string;
  overridePath: boolean;
  /** Absent: containerd's default, every capability (the source itself). */
  capabilities?: Capability[];
  skipVerify: boolean;
  access?: HostAccess;
}

export interface HostDirPlan {
  dir: string;
  /** The registry host (`host[:port]`) the directory configures; absent for `_default`. */
  host?: string;
  /** Root `server`; absent for `_default`, where containerd uses the pulled host. */
  server?: MirrorHost;
  hosts: MirrorHost[];
}

interface Context {
  insecure: ReadonlySet<string>;
  access: ReadonlyMap<string, HostAccess>;
  defaultMirror: string | undefined;
}

/** An endpoint being collected, with the pools that use it and who asked first. */
interface Table {
  endpoint: MirrorHost;
  digest: boolean;
  tag: boolean;
  source: string;
  mirror: string;
  /** Used by the host-level rule itself: trying it for every repository is exact. */
  hostLevel: boolean;
  /** The start of the HostWideWidening message, shared by every source this endpoint widens. */
  widening: string | undefined;
  /** Not an endpoint of the host-level rule: used for a repository, it widens (collectTables). */
  widens: boolean | undefined;
}

/** `rank`: the index in model.rules of the rule whose source the warning names, when the caller knows it (-1 otherwise). */
/**
 * Where the plan's warnings go. A class, not a closure made per rendering: the
 * optimized planner inlined the closure it first saw and bailed out (deopt)
 * on every later rendering, each of which brought a new one.
 */
class Warn {
  constructor(readonly warnings: RuleWarnings) {}

  /** `rank`: the index in model.rules of the rule whose source the warning names, when the caller knows it (-1 otherwise). */
  warn(code: WarningCode, source: string, message: string, mirror?: string, rank = -1): void {
    // Two literal shapes rather than a property added later: tens of thousands of these are kept.
    this.warnings.add(mirror ? { code, renderer: 'containerd', source, message, mirror } : { code, renderer: 'containerd', source, message }, rank);
  }
}

export interface ContainerdPlan {
  dirs: HostDirPlan[];
  /** In the order they were found; `sorted()` for the order of render(). */
  warnings: RuleWarnings;
}

export function planContainerd(model: MirrorModel): ContainerdPlan {
  // One pass over the rules: at most one warning per mirror of a rule (HostWideWidening, NotExpressible), one per
  // table (TagOnlyApproximated) and a few per rule; and whether the rules are in strict order (as the merge makes them).
  const rules = model.rules;
  let mirrors = 0;
  let inOrder = true;
  for (let i = 0; i < rules.length; i++) {
    mirrors += rules[i]!.digestMirrors.length + rules[i]!.tagMirrors.length;
    if (i > 0 && !(rules[i - 1]!.source < rules[i]!.source)) inOrder = false;
  }
  // Room for all of them: a store past the end made the optimized planner bail out on every rendering.
  const warnings = new RuleWarnings(rules, 2 * mirrors + rules.length + 64, inOrder);
  const warn = new Warn(warnings);
  const context: Context = {
    insecure: new Set(model.insecureScopes),
    access: new Map(model.access.map((a) => [a.host, a])),
    defaultMirror: model.defaultMirror?.mirror,
  };
  const byHost = groupByHost(model, inOrder, warn);
  const dirs: HostDirPlan[] = [];
  const hosts = [...byHost.keys()].sort(byteOrder);
  // An index loop: for-of here made the optimized planner bail out on every rendering.
  for (let i = 0; i < hosts.length; i++) {
    const plan = planHost(hosts[i]!, byHost.get(hosts[i]!)!, context, warn);
    if (plan) dirs.push(plan);
  }
  if (context.defaultMirror) dirs.push({ dir: DEFAULT_DIR, hosts: [withCapabilities(defaultTable(context))] });
  return { dirs, warnings };
}

/** The rules of one registry host, most specific first, with their indices in model.rules. */
interface HostRules {
  rules: RegistryRule[];
  ranks: number[];
}

/**
 * Rules by source host (most specific first); hosts with access settings get
 * an entry too. `inOrder`: model.rules are in strict byte order of source.
 */
function groupByHost(model: MirrorModel, inOrder: boolean, warn: Warn): Map<string, HostRules> {
  const indices = new Map<string, number[]>();
  let [host, list] = ['', [] as number[]];
  model.rules.forEach((rule, i) => {
    const source = rule.source;
    if (isWildcard(source)) {
      // A wildcard that is only a default-mirror registry is covered by _default.
      if (!hasSettings(rule)) return;
      warn.warn('NotExpressible', source, `containerd has no wildcard host directories: ${source} is not rendered for containerd`, undefined, i);
      return;
    }
    // Sorted rules of one host mostly follow each other: the host of the one before, without a slice and a lookup.
    if (host === '' || !inHost(source, host)) {
      host = hostPort(source);
      const known = indices.get(host);
      if (known) list = known;
      else {
        assertHostPort(host);
        list = [];
        indices.set(host, list);
      }
    }
    list.push(i);
  });
  for (const a of model.access) if (!indices.has(a.host)) indices.set(a.host, []);
  const byHost = new Map<string, HostRules>();
  const all = model.rules;
  indices.forEach((ranks, h) => {
    if (inOrder) byLengthDescending(ranks, all);
    else ranks.sort((a, b) => all[b]!.source.length - all[a]!.source.length || byteOrder(all[a]!.source, all[b]!.source));
    byHost.set(h, { rules: ranks.map((i) => all[i]!), ranks });
  });
  return byHost;
}

/** `hostPort(source) === host`, read in place. */
function inHost(source: string, host: string): boolean {
  const SLASH = 0x2f;
  return startsWithAt(source, host) && (source.length === host.length || source.charCodeAt(host.length) === SLASH);
}

/**
 * Sorts rule indices by source length, longest first, keeping their order
 * otherwise (a counting sort): for rules in byte order, the order
 * (length descending, then byte order) without comparing sources.
 */
function byLengthDescending(ranks: number[], all: readonly RegistryRule[]): void {
  if (ranks.length < 2) return;
  let longest = 0;
  for (const i of ranks) longest = Math.max(longest, all[i]!.source.length);
  const start = new Int32Array(longest + 2);
  // Position by (longest - length): longest first.
  for (const i of ranks) start[longest - all[i]!.source.length + 1]! += 1;
  for (let k = 0; k <= longest; k++) start[k + 1]! += start[k]!;
  const sorted = new Array<number>(ranks.length);
  for (const i of ranks) sorted[start[longest - all[i]!.source.length]!++] = i;
  for (let k = 0; k < sorted.length; k++) ranks[k] = sorted[k]!;
}

function hasSettings(r: RegistryRule): boolean {
  return r.digestMirrors.length + r.tagMirrors.length > 0 || r.blocked || r.insecure || r.neverContactSource;
}

function planHost(host: string, { rules, ranks }: HostRules, context: Context, warn: Warn): HostDirPlan | undefined {
  if (hostDir(host).length > MAX_FILE_NAME_LENGTH) {
    // containerd looks the directory up by the host's name: it cannot be shortened.
    warn.warn(
      'NotExpressible',
      host,
      `containerd reads ${host} from certs.d/${hostDir(host).slice(0, 40)}..., a directory name of ` +
        `${hostDir(host).length} characters, longer than the ${MAX_FILE_NAME_LENGTH} a file name may have: ${host} is not configured for containerd`,
    );
    return undefined;
  }
  const tables = collectTables(host, rules, ranks, context, warn);
  if (context.defaultMirror && hostPort(context.defaultMirror) !== host) addTable(tables, defaultTable(context));
  const hosts: MirrorHost[] = [];
  tables.forEach((t) => hosts.push(withCapabilities(t)));
  const server = chooseServer(host, rules, hosts, context, warn);
  warnInsecureRepositories(host, rules, context, warn);
  if (hosts.length > 0) return { dir: hostDir(host), host, server, hosts };
  // containerd 1.6 ignores a hosts.toml without host tables, so a host that
  // needs settings but has no mirror lists itself as its only endpoint.
  const needsFile = context.access.has(host) || isInside(context.insecure, host);
  return needsFile ? { dir: hostDir(host), host, server, hosts: [server] } : undefined;
}

/**
 * Every expressible mirror of the host's rules, in order, duplicates merged.
 * Most mirrors of a host share a few endpoints, so a table is built per
 * endpoint URL, never per mirror.
 */
function collectTables(host: string, rules: readonly RegistryRule[], ranks: readonly number[], context: Context, warn: Warn): Map<string, Table> {
  const collector = new TableCollector(host, hostLevelUrls(host, rules, context), context, warn);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const [digest, tag] = [rule.digestMirrors, rule.tagMirrors];
    if (digest.length + tag.length === 0) continue;
    collector.rank = ranks[i]!;
    collector.use = 0;
    const hostLevel = rule.source === host;
    const sourcePath = repoPath(rule.source);
    if (sharesMirror(digest, tag)) {
      for (const use of combineMirrors(digest, tag)) collector.add(rule.source, hostLevel, sourcePath, use.location, use.digest, use.tag);
    } else {
      // combineMirrors' order for pools without a shared mirror, without a MirrorUse per mirror.
      // Index loops: the lists are often the merge's shared frozen empty list, which for-of iterates with an allocation.
      for (let j = 0; j < digest.length; j++) collector.add(rule.source, hostLevel, sourcePath, digest[j]!, true, false);
      for (let j = 0; j < tag.length; j++) collector.add(rule.source, hostLevel, sourcePath, tag[j]!, false, true);
    }
  }
  const tables = collector.tables;
  for (const t of tables.values()) {
    // The source listed as its own mirror serves digest pulls anyway.
    if (t.tag && !t.digest && t.mirror !== t.source) {
      warn.warn(
        'TagOnlyApproximated',
        t.source,
        `containerd cannot restrict a mirror to tag pulls: ${t.mirror} ` + `(tag pulls only, for ${t.source}) is also used for pulls by digest`,
        t.mirror,
      );
    }
  }
  return tables;
}

/** Roots looked up by a scan before a Map: a host's mirrors share a few roots. */
const SCANNED_ROOTS = 8;

/** The tables of one host being collected, mirror by mirror. */
class TableCollector {
  readonly tables = new Map<string, Table>();
  /** Tables by mirror root (see tableByRoot): the first few in a list, the rest in a Map. */
  private readonly roots: string[] = [];
  private readonly rootTables: Table[] = [];
  private readonly byRoot = new Map<string, Table>();
  /** The index in model.rules of the rule being added (for RuleWarnings). */
  rank = -1;
  /** Which of its rule's mirrors tableByRoot is looking up, and per place the root and table found last. */
  use = 0;
  private readonly guessRoots: string[] = [];
  private readonly guessTables: Table[] = [];
  /** The rule whose widening messages end with `tail`. */
  private tailSource: string | undefined;
  private tail = '';

  constructor(
    private readonly host: string,
    private readonly hostWide: ReadonlySet<string>,
    private readonly context: Context,
    private readonly warn: Warn,
  ) {}

  add(source: string, hostLevel: boolean, sourcePath: string, location: string, digest: boolean, tag: boolean): void {
    const prefix = mirrorPrefix(sourcePath, location);
    if (prefix === undefined) {
      this.warn.warn('NotExpressible', source, notExpressible(source, location), location, this.rank);
      return;
    }
    // By root only where the root alone decides the endpoint: a repository-scoped source, and no
    // insecure scope (one could cover some mirrors of a root and not others).
    const table =
      hostLevel || this.context.insecure.size > 0
        ? tableFor(this.tables, source, location, prefix, this.context)
        : this.tableByRoot(source, location, sourcePath, prefix);
    table.digest ||= digest;
    table.tag ||= tag;
    if (hostLevel) {
      claimForHost(table, source, location);
      return;
    }
    table.widens ??= !this.hostWide.has(table.endpoint.url);
    if (table.widens) this.warnWidening(table, source, location);
  }

  /**
   * `tableFor` for a repository-scoped source when no scope is insecure: the
   * endpoint then depends only on the mirror's root (the mirror without the
   * source's path, `mhost/` or `mhost/prefix/`). Most mirrors of a host share
   * a few roots, and comparing the start of a mirror with each costs less
   * than building and hashing a slice (or the URL) per mirror.
   */
  private tableByRoot(source: string, location: string, sourcePath: string, prefix: string): Table {
    const length = location.length - sourcePath.length;
    // The mirror in the same place of the rule before mostly has the same root.
    const use = this.use++;
    const guess = this.guessRoots[use];
    if (guess !== undefined && guess.length === length && startsWithAt(location, guess)) return this.guessTables[use]!;
    let [root, table] = this.knownRoot(location, length);
    if (table === undefined) {
      root = location.slice(0, length);
      table = this.byRoot.get(root);
      if (!table) {
        table = tableFor(this.tables, source, location, prefix, this.context);
        if (this.roots.length < SCANNED_ROOTS) {
          this.roots.push(root);
          this.rootTables.push(table);
        } else this.byRoot.set(root, table);
      }
    }
    this.guessRoots[use] = root;
    this.guessTables[use] = table;
    return table;
  }

  /** The scanned root `location` starts with (its first `length` characters), and its table. */
  private knownRoot(location: string, length: number): [string, Table | undefined] {
    const roots = this.roots;
    for (let i = 0; i < roots.length; i++) {
      const root = roots[i]!;
      if (root.length === length && startsWithAt(location, root)) return [root, this.rootTables[i]!];
    }
    return ['', undefined];
  }

  /**
   * One warning per widened source and mirror (tens of thousands for a large
   * input, all kept in the output): the message shares its start per endpoint
   * and its end per source, so each adds only one joining piece rather than a
   * new copy of the whole text.
   */
  private warnWidening(table: Table, source: string, mirror: string): void {
    table.widening ??= `containerd tries ${table.endpoint.url} for every repository of ${this.host}, not only `;
    if (source !== this.tailSource) {
      this.tailSource = source;
      this.tail = source + WIDENING_END;
    }
    this.warn.warn('HostWideWidening', source, table.widening + this.tail, mirror, this.rank);
  }
}

/**
 * The endpoints of the host-level rule (`source` = the host itself): trying
 * them for every repository is what that rule asks for, not a widening. Known
 * before the rules are walked, as that rule is the least specific and comes last.
 */
function hostLevelUrls(host: string, rules: readonly RegistryRule[], context: Context): Set<string> {
  const urls = new Set<string>();
  const rule = rules.find((r) => r.source === host);
  if (!rule) return urls;
  for (const location of [...rule.digestMirrors, ...rule.tagMirrors]) {
    urls.add(endpointUrl(hostPort(location), repoPath(location), isInside(context.insecure, location)));
  }
  return urls;
}

const WIDENING_END = ' (other repositories get a 404 there and containerd moves on to the next endpoint)';

/** The table of the endpoint that serves `location`; created, unused by any pool, for the first mirror that needs it. */
function tableFor(tables: Map<string, Table>, source: string, location: string, prefix: string, context: Context): Table {
  const host = hostPort(location);
  const insecure = isInside(context.insecure, location);
  const url = endpointUrl(host, prefix, insecure);
  let table = tables.get(url);
  if (!table) {
    // Every field set here, so that all tables share one shape (fields added later made them polymorphic).
    const e = endpoint(host, prefix, insecure, context);
    table = { endpoint: e, digest: false, tag: false, source, mirror: location, hostLevel: false, widening: undefined, widens: undefined };
    tables.set(url, table);
  }
  return table;
}

/** Name the host-level source in messages: it is the one that asked for the whole host. */
function claimForHost(table: Table, source: string, mirror: string): void {
  if (table.hostLevel) return;
  table.hostLevel = true;
  table.source = source;
  table.mirror = mirror;
}

function addTable(tables: Map<string, Table>, table: Table): void {
  const existing = tables.get(table.endpoint.url);
  if (!existing) {
    tables.set(table.endpoint.url, table);
    return;
  }
  existing.digest ||= table.digest;
  existing.tag ||= table.tag;
  existing.endpoint.skipVerify ||= table.endpoint.skipVerify;
  if (table.hostLevel) claimForHost(existing, table.source, table.mirror);
}

/** Digest pulls need only "pull"; a tag must be resolved, so tag mirrors also get "resolve". */
function withCapabilities(t: Table): MirrorHost {
  return { ...t.endpoint, capabilities: t.tag ? ['pull', 'resolve'] : ['pull'] };
}

function notExpressible(source: string, mirror: string): string {
  return (
    `containerd maps whole registry hosts and keeps the repository path: mirror ${mirror} does not end with ` +
    `"/${repoPath(source)}", so it cannot serve ${source}; it is left out of the containerd configuration`
  );
}

/**
 * The path prefix a mirror puts before the source's repository path
 * (`sourcePath`), or undefined when the mirror does not keep that path.
 */
function mirrorPrefix(sourcePath: string, location: string): string | undefined {
  if (sourcePath === '') return repoPath(location);
  // `mhost/sourcePath` or `mhost/prefix/sourcePath`, read in place (this runs for every mirror).
  const slash = location.length - sourcePath.length - 1;
  if (slash < 0 || location.charCodeAt(slash) !== 0x2f /* / */ || !location.endsWith(sourcePath)) return undefined;
  const hostEnd = location.indexOf('/');
  return hostEnd === slash ? '' : location.slice(hostEnd + 1, slash);
}

/**
 * `text.startsWith(start)`, compared character by character: for the short
 * host and root names compared once per rule or mirror, measured about 10%
 * faster over the planner than the call.
 */
function startsWithAt(text: string, start: string): boolean {
  const n = start.length;
  if (n > text.length) return false;
  for (let i = 0; i < n; i++) if (text.charCodeAt(i) !== start.charCodeAt(i)) return false;
  return true;
}

function endpointUrl(host: string, prefix: string, insecure: boolean): string {
  // docker.io is a name, not a server: containerd itself maps it the same way.
  const server = host === 'docker.io' ? 'registry-1.docker.io' : host;
  return (insecure ? 'http://' : 'https://') + server + (prefix ? `/v2/${prefix}` : '');
}

function endpoint(host: string, prefix: string, insecure: boolean, context: Context): MirrorHost {
  const e: MirrorHost = { url: endpointUrl(host, prefix, insecure), host, overridePath: prefix !== '', skipVerify: insecure };
  const access = context.access.get(host);
  if (access) e.access = access;
  return e;
}

function defaultTable(context: Context): Table {
  const location = context.defaultMirror!;
  const e = endpoint(hostPort(location), repoPath(location), isInside(context.insecure, location), context);
  return { endpoint: e, digest: true, tag: true, source: '*', mirror: location, hostLevel: true, widening: undefined, widens: undefined };
}

/**
 * AllowContactingSource: the source itself. NeverContactSource (or a blocked
 * source that has mirrors): the last mirror, with its own capabilities, so
 * that containerd has no endpoint left that reaches the source.
 */
function chooseServer(host: string, rules: readonly RegistryRule[], hosts: readonly MirrorHost[], context: Context, warn: Warn): MirrorHost {
  const hasMirrors = (r: RegistryRule): boolean => r.digestMirrors.length + r.tagMirrors.length > 0;
  for (const r of rules.filter((r) => r.blocked && !hasMirrors(r))) {
    warn.warn('NotExpressible', r.source, `containerd cannot block a registry without a mirror: ${r.source} stays reachable for containerd`);
  }
  const blocking = rules.filter((r) => r.neverContactSource || (r.blocked && hasMirrors(r)));
  if (blocking.length === 0) return endpoint(host, '', isInside(context.insecure, host), context);
  if (hosts.length === 0) {
    for (const r of blocking) {
      warn.warn('NotExpressible', r.source, `no mirror of ${r.source} can be expressed for containerd, so it cannot be kept from contacting ${host}`);
    }
    return endpoint(host, '', isInside(context.insecure, host), context);
  }
  if (!blocking.some((r) => r.source === host)) {
    for (const r of blocking) {
      warn.warn(
        'HostWideWidening',
        r.source,
        `containerd never contacts ${host} for any repository, not only ${r.source}: ` + 'a source can only be blocked for a whole host',
      );
    }
  }
  return { ...hosts[hosts.length - 1]! };
}

/** containerd sets TLS per host: an insecure repository scope is not widened to the host (fail closed). */
function warnInsecureRepositories(host: string, rules: readonly RegistryRule[], context: Context, warn: Warn): void {
  if (isInside(context.insecure, host)) return;
  for (const r of rules.filter((r) => r.insecure)) {
    warn.warn(
      'NotExpressible',
      r.source,
      `containerd configures TLS per host: ${r.source} is insecure for containers/image only; ` + `containerd keeps verifying ${host}`,
    );
  }
}
