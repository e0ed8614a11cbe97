// Which input objects asked for what explain found in the rendered files:
// the rule a reference matched, each mirror, each access setting. This
// reads the gathered inputs (the same MergeInputs the merge takes), never
// the model, so an endpoint in a file that no input asks for shows up with
// no contributor instead of being explained away. Pure.
import { hostPort, isInside, isWildcard, mostSpecific, remainder, repoPath } from '../merge/scope.js';
import type { MergeInputs, MirrorEntry, Pool } from '../model/types.js';
import { serverHost } from './reference.js';
import { contributor, type Contributor } from './types.js';

const POOL_WORD: Record<Pool, string> = { digest: 'digest', tag: 'tag' };

/** Entries that add a real mirror (SPEC §2.2: the others are dropped before the merge). */
function kept(inputs: MergeInputs): MirrorEntry[] {
  return inputs.entries.filter((e) => e.mirrors.some((m) => m !== e.source));
}

function sourcesOf(entries: readonly MirrorEntry[], pool: Pool): Set<string> {
  return new Set(entries.filter((e) => e.pool === pool).map((e) => e.source));
}

/** The objects that make `prefix` a rule of its own: a source, a scope, a default-mirror registry. */
export function ruleContributors(inputs: MergeInputs, prefix: string): Contributor[] {
  const out: Contributor[] = [];
  for (const e of kept(inputs)) if (e.source === prefix) out.push(contributor(e.origin, e.field, `${POOL_WORD[e.pool]} mirrors of ${e.source}`));
  for (const s of inputs.insecure) if (s.scope === prefix) out.push(contributor(s.origin, s.field, `insecure scope ${s.scope}`));
  for (const s of inputs.blocked) if (s.scope === prefix) out.push(contributor(s.origin, s.field, `blocked scope ${s.scope}`));
  for (const a of inputs.access) {
    if (a.host === prefix && (a.plainHTTP || a.insecureSkipVerify))
      out.push(contributor(a.origin, a.field, a.plainHTTP ? 'plain HTTP host' : 'TLS not verified'));
  }
  const dm = inputs.defaultMirror;
  if (dm?.registries.includes(prefix)) out.push(contributor(dm.origin, dm.field, `default mirror registry ${prefix}`));
  return dedupe(out);
}

/**
 * The entries whose mirror, re-rooted at `prefix` (SPEC §2.5: the most
 * specific source of each pool that encloses it), is `location`; plus the
 * default mirror when it serves `prefix`.
 */
export function mirrorContributors(inputs: MergeInputs, prefix: string, location: string, pools: readonly Pool[]): Contributor[] {
  const entries = kept(inputs);
  const out: Contributor[] = [];
  for (const pool of pools) {
    const from = mostSpecific(sourcesOf(entries, pool), prefix);
    if (from === undefined) continue;
    const rest = remainder(prefix, from);
    for (const e of entries) {
      if (e.pool !== pool || e.source !== from || !e.mirrors.some((m) => m + rest === location)) continue;
      out.push(contributor(e.origin, e.field, `${POOL_WORD[pool]} mirror of ${e.source}${e.policy === 'NeverContactSource' ? ' (NeverContactSource)' : ''}`));
    }
  }
  const dm = inputs.defaultMirror;
  const registry = dm ? mostSpecific(new Set(dm.registries), prefix) : undefined;
  if (dm && registry !== undefined && dm.mirror + remainder(prefix, registry) === location) {
    out.push(contributor(dm.origin, dm.field, `default mirror for ${registry}`));
  }
  return dedupe(out);
}

/** Why `prefix` is never contacted: NeverContactSource on the source it takes mirrors from, or a blocked scope. */
export function blockContributors(inputs: MergeInputs, prefix: string): Contributor[] {
  const entries = kept(inputs);
  const out: Contributor[] = [];
  for (const pool of ['digest', 'tag'] as const) {
    const from = mostSpecific(sourcesOf(entries, pool), prefix);
    for (const e of entries) {
      if (e.pool === pool && e.source === from && e.policy === 'NeverContactSource') {
        out.push(contributor(e.origin, e.field, `NeverContactSource for ${e.source}`));
      }
    }
  }
  for (const s of inputs.blocked) {
    if (isInside(new Set([s.scope]), prefix)) out.push(contributor(s.origin, s.field, `blocked scope ${s.scope}`));
  }
  return dedupe(out);
}

/** RegistryAccess settings for `host` (CA, credentials, client certificate, TLS). */
export function accessContributors(inputs: MergeInputs, host: string): Contributor[] {
  const out: Contributor[] = [];
  for (const a of inputs.access) {
    if (a.host !== host) continue;
    const what = [
      a.caPEM !== undefined && 'CA',
      a.auth && 'credentials',
      a.clientCert && 'client certificate',
      a.insecureSkipVerify && 'insecureSkipVerify',
      a.plainHTTP && 'plainHTTP',
    ].filter(Boolean);
    if (what.length > 0) out.push(contributor(a.origin, a.field, what.join(', ')));
  }
  return out;
}

/** Insecure scopes that enclose `location`. */
export function insecureContributors(inputs: MergeInputs, location: string): Contributor[] {
  const out: Contributor[] = [];
  for (const s of inputs.insecure) if (isInside(new Set([s.scope]), location)) out.push(contributor(s.origin, s.field, `insecure scope ${s.scope}`));
  for (const a of inputs.access) {
    if ((a.plainHTTP || a.insecureSkipVerify) && isInside(new Set([a.host]), location)) {
      out.push(contributor(a.origin, a.field, a.plainHTTP ? `plain HTTP host ${a.host}` : `TLS not verified for ${a.host}`));
    }
  }
  return dedupe(out);
}

/**
 * The mirrors behind one containerd host table of registry host `host`:
 * `written` is the table key without its scheme (`mhost` or
 * `mhost/v2/prefix`). SPEC §4: mirror `mhost[/prefix]/p` of source `host/p`
 * is the table `mhost/v2/prefix`. `name` is the pulled repository: when no
 * contributing source encloses it, the table is tried for it only because
 * containerd configures whole hosts (`widenedFrom`).
 */
export function containerdTableContributors(
  inputs: MergeInputs,
  host: string,
  written: string,
  name: string,
): { contributors: Contributor[]; widenedFrom?: string[] } {
  const out: Contributor[] = [];
  const sources = new Set<string>();
  let exact = false;
  for (const e of kept(inputs)) {
    if (isWildcard(e.source) || hostPort(e.source) !== host) continue;
    for (const m of e.mirrors) {
      if (m === e.source || tableOf(e.source, m) !== written) continue;
      out.push(contributor(e.origin, e.field, `${POOL_WORD[e.pool]} mirror ${m} of ${e.source}`));
      sources.add(e.source);
      if (isInside(new Set([e.source]), name)) exact = true;
    }
  }
  const dm = inputs.defaultMirror;
  if (dm && tableOf('', dm.mirror) === written) {
    out.push(contributor(dm.origin, dm.field, 'default mirror'));
    exact = true;
  }
  const result: { contributors: Contributor[]; widenedFrom?: string[] } = { contributors: dedupe(out) };
  if (!exact && sources.size > 0) result.widenedFrom = [...sources].sort();
  return result;
}

/** The table (without scheme) that serves `mirror` for `source`, or undefined when it is not expressible. */
function tableOf(source: string, mirror: string): string | undefined {
  const path = repoPath(source);
  const mpath = repoPath(mirror);
  let prefix: string;
  if (path === '') prefix = mpath;
  else if (mpath === path) prefix = '';
  else if (mpath.endsWith(`/${path}`)) prefix = mpath.slice(0, mpath.length - path.length - 1);
  else return undefined;
  return serverHost(hostPort(mirror)) + (prefix ? `/v2/${prefix}` : '');
}

function dedupe(list: Contributor[]): Contributor[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    const key = JSON.stringify(c);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
