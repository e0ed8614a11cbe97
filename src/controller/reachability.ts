// What the nodes of a target say about its mirrors: the per-node probe
// summaries the agents write (annotation imagemirror.io/mirror-probes,
// docs/adr/0002-node-probe-report.md) aggregated into the target's
// RenderedMirrorConfig ("3/3 nodes reach mirror.corp.example:5000") and the
// condition MirrorsReachable. Pure: node reports in, status fields out.
// Summaries carry no credential (the agent never writes one), and neither
// does anything here.
import { MIRROR_PROBES_ANNOTATION, NODEPOOL_LABEL } from '../contract.js';
import type { KubeObject, Target } from '../model/source.js';
import type { ConditionInput } from './conditions.js';
import type { ReachabilityReason } from './reasons.js';

/** The status lists at most this many mirrors (sorted, so the same ones every time). */
export const MAX_STATUS_MIRRORS = 50;
/** Node names given as examples per failure. */
const EXAMPLE_NODES = 3;

/** One node as the controller caches it: name, the label that picks its target, its probe summary. */
export interface NodeReport {
  name: string;
  /** Value of the NodePool label (`hypershift.openshift.io/nodePool`), when set. */
  pool?: string;
  /** The probe summary as stored; undefined when the node has none. */
  summary?: string;
}

/** The fields of a probe summary the aggregation reads (src/agent/probe/summary.ts writes them). */
interface SummaryMirror {
  mirror: string;
  runtimes: string[];
  reachable: boolean;
  errorClass?: string;
  message?: string;
}

export interface ReachabilityFailure {
  errorClass: string;
  message: string;
  /** How many reporting nodes fail this way. */
  nodes: number;
  /** The first node names (byte order). */
  examples: string[];
}

export interface MirrorReachability {
  mirror: string;
  runtimes: string[];
  /** Reporting nodes that probe this mirror. */
  nodes: number;
  reachable: number;
  failures?: ReachabilityFailure[];
}

export interface ReachabilityStatus {
  /** Nodes of the target; reporting ones sent a summary of the current content hash. */
  nodes: { total: number; reporting: number; stale: number; unreported: number };
  mirrors: MirrorReachability[];
  /** Mirrors left out past MAX_STATUS_MIRRORS. */
  omittedMirrors?: number;
}

/** What a Node cache keeps of a Node: nothing but what the aggregation reads. */
export function nodeReportOf(node: KubeObject): NodeReport {
  const r: NodeReport = { name: node.metadata.name };
  const pool = node.metadata.labels?.[NODEPOOL_LABEL];
  if (pool) r.pool = pool;
  const summary = (node.metadata as { annotations?: Record<string, string> }).annotations?.[MIRROR_PROBES_ANNOTATION];
  if (summary !== undefined) r.summary = summary;
  return r;
}

/**
 * The target whose output a node installs, as the agent decides it
 * (src/agent/target.ts): a node labelled with a NodePool installs that
 * NodePool's output, any other the cluster-wide one. A NodePool target is
 * matched by name: agents find their output by the label's value alone.
 */
export function nodeBelongsTo(node: NodeReport, target: Target): boolean {
  if (target.kind === 'Cluster') return node.pool === undefined;
  return node.pool === target.name;
}

function parse(text: string | undefined): { contentHash?: string; mirrors: SummaryMirror[] } | undefined {
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as { version?: unknown; contentHash?: unknown; mirrors?: unknown };
    if (s.version !== 1 || !Array.isArray(s.mirrors)) return undefined;
    const mirrors = s.mirrors.filter(
      (m): m is SummaryMirror => !!m && typeof m === 'object' && typeof m.mirror === 'string' && typeof m.reachable === 'boolean' && Array.isArray(m.runtimes),
    );
    return typeof s.contentHash === 'string' ? { contentHash: s.contentHash, mirrors } : { mirrors };
  } catch {
    return undefined;
  }
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Aggregates the summaries of a target's nodes. Only summaries of the
 * current content hash count as results: older ones describe files the
 * nodes no longer have (`stale`); a node without one is `unreported`.
 */
export function aggregateReachability(nodes: readonly NodeReport[], contentHash: string | undefined): ReachabilityStatus {
  const counts = { total: nodes.length, reporting: 0, stale: 0, unreported: 0 };
  const perMirror = new Map<string, { mirror: string; runtimes: string[]; nodes: number; reachable: number; failures: Map<string, ReachabilityFailure> }>();
  for (const node of [...nodes].sort((a, b) => byteOrder(a.name, b.name))) {
    const s = parse(node.summary);
    if (!s) {
      counts.unreported++;
      continue;
    }
    if (!contentHash || s.contentHash !== contentHash) {
      counts.stale++;
      continue;
    }
    counts.reporting++;
    for (const m of s.mirrors) {
      const runtimes = [...m.runtimes].map(String).sort(byteOrder);
      const key = `${m.mirror}\u0000${runtimes.join(',')}`;
      let agg = perMirror.get(key);
      if (!agg) {
        agg = { mirror: m.mirror, runtimes, nodes: 0, reachable: 0, failures: new Map() };
        perMirror.set(key, agg);
      }
      agg.nodes++;
      if (m.reachable) {
        agg.reachable++;
        continue;
      }
      const errorClass = m.errorClass ?? 'unknown';
      const message = m.message ?? '';
      const fkey = `${errorClass}\u0000${message}`;
      const f = agg.failures.get(fkey) ?? { errorClass, message, nodes: 0, examples: [] };
      f.nodes++;
      if (f.examples.length < EXAMPLE_NODES) f.examples.push(node.name);
      agg.failures.set(fkey, f);
    }
  }
  const all = [...perMirror.entries()].sort(([a], [b]) => byteOrder(a, b)).map(([, a]) => a);
  const mirrors = all.slice(0, MAX_STATUS_MIRRORS).map((a): MirrorReachability => {
    const m: MirrorReachability = { mirror: a.mirror, runtimes: a.runtimes, nodes: a.nodes, reachable: a.reachable };
    if (a.failures.size > 0)
      m.failures = [...a.failures.values()].sort((x, y) => y.nodes - x.nodes || byteOrder(x.errorClass, y.errorClass) || byteOrder(x.message, y.message));
    return m;
  });
  const status: ReachabilityStatus = { nodes: counts, mirrors };
  if (all.length > MAX_STATUS_MIRRORS) status.omittedMirrors = all.length - MAX_STATUS_MIRRORS;
  return status;
}

/** The MirrorsReachable condition of a target, from its aggregate. */
export function reachabilityCondition(r: ReachabilityStatus): ConditionInput<ReachabilityReason> {
  const n = r.nodes;
  const type = 'MirrorsReachable';
  if (n.total === 0) return { type, status: 'Unknown', reason: 'NoNodes', message: 'no node installs this output (or none runs the node agent)' };
  if (n.reporting === 0) {
    const why = [n.stale > 0 ? `${n.stale} report(s) describe an older output` : '', n.unreported > 0 ? `${n.unreported} without a report` : '']
      .filter(Boolean)
      .join(', ');
    return { type, status: 'Unknown', reason: 'NotReported', message: `0/${n.total} node(s) reported probes of the current output (${why})` };
  }
  const pending = n.reporting < n.total ? `; ${n.total - n.reporting} of ${n.total} node(s) not reported yet for this output` : '';
  const failing = r.mirrors.filter((m) => m.reachable < m.nodes);
  if (failing.length > 0) {
    const parts = failing.slice(0, 5).map((m) => {
      const f = m.failures?.[0];
      const example = f ? ` (${f.nodes} node(s): ${f.message || f.errorClass}; ${f.examples.join(', ')}${f.nodes > f.examples.length ? ', ...' : ''})` : '';
      return `${m.mirror}: ${m.reachable}/${m.nodes} node(s) reach it${example}`;
    });
    if (failing.length > 5) parts.push(`and ${failing.length - 5} more mirror(s)`);
    return { type, status: 'False', reason: 'MirrorUnreachable', message: `${parts.join('; ')}${pending}` };
  }
  if (r.mirrors.length === 0)
    return { type, status: 'True', reason: 'NoMirrors', message: `${n.reporting}/${n.total} node(s) reported: no mirror to probe${pending}` };
  const shown = r.mirrors.slice(0, 5).map((m) => `${m.reachable}/${m.nodes} node(s) reach ${m.mirror}`);
  const more = r.mirrors.length + (r.omittedMirrors ?? 0) - shown.length;
  if (more > 0) shown.push(`and ${more} more mirror(s)`);
  return { type, status: 'True', reason: 'AllMirrorsReachable', message: `${shown.join('; ')}${pending}` };
}
