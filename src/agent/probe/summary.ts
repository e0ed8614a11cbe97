// What the probes of one node say, decided purely from their results: the
// Node condition, the per-node summary the controller aggregates per target
// (annotation imagemirror.io/mirror-probes), and the Events of transitions.
// The summary carries no latency or time: it changes only when a result
// does, so a probe period costs no API write when nothing changed.
import type { Runtime } from '../../explain/types.js';
import type { ErrorClass, ProbeResult } from './probe.js';
import type { ProbeTarget } from './targets.js';

export const PROBE_CONDITION = 'ImageMirrorsReachable';
/** The summary lists at most this many mirrors and counts the rest (annotations share 256 KiB per object). */
export const MAX_SUMMARY_MIRRORS = 100;

export const PROBE_CONDITION_REASONS = ['AllMirrorsReachable', 'MirrorsUnreachable', 'ProbeImageNotResolved', 'NoMirrors'] as const;
export type ProbeConditionReason = (typeof PROBE_CONDITION_REASONS)[number];
export const PROBE_EVENT_REASONS = ['MirrorUnreachable', 'MirrorReachable', 'ProbeImageNotResolved'] as const;
export type ProbeEventReason = (typeof PROBE_EVENT_REASONS)[number];

/** One mirror as the node reaches it (one entry per distinct setting: the runtimes sharing it are listed). */
export interface MirrorStatus {
  mirror: string;
  runtimes: Runtime[];
  /** Registries it mirrors on this node (containerd host directories, registries.conf prefixes). */
  mirrorOf: string[];
  reachable: boolean;
  errorClass?: ErrorClass;
  message?: string;
  /** The probe image, when one is configured and this mirror is predicted to serve it. */
  image?: 'resolved' | 'missing' | 'error';
}

/**
 * The per-node report (docs/agent.md "Mirror probes"), version 1. The
 * controller reads it from each Node of a target to aggregate
 * "3/3 nodes reach mirror.corp.example:5000".
 */
export interface NodeProbeSummary {
  version: 1;
  /** The published content hash the probed files came from. */
  contentHash?: string;
  probeImage?: string;
  mirrors: MirrorStatus[];
  /** Mirrors left out past MAX_SUMMARY_MIRRORS. */
  omitted?: number;
}

export interface ProbeOutcome {
  target: ProbeTarget;
  result: ProbeResult;
}

export function summarize(outcomes: readonly ProbeOutcome[], contentHash: string | undefined, probeImage: string | undefined): NodeProbeSummary {
  const mirrors = outcomes
    .map(({ target, result }): MirrorStatus => {
      const m: MirrorStatus = { mirror: target.mirror, runtimes: [...target.runtimes], mirrorOf: [...target.mirrorOf], reachable: result.ok };
      if (result.errorClass) m.errorClass = result.errorClass;
      if (result.message) m.message = clip(result.message, 300);
      if (result.image) m.image = result.image.status;
      return m;
    })
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const s: NodeProbeSummary = { version: 1, mirrors: mirrors.slice(0, MAX_SUMMARY_MIRRORS) };
  if (mirrors.length > MAX_SUMMARY_MIRRORS) s.omitted = mirrors.length - MAX_SUMMARY_MIRRORS;
  if (contentHash) s.contentHash = contentHash;
  if (probeImage) s.probeImage = probeImage;
  return s;
}

function key(m: MirrorStatus): string {
  return `${m.mirror}\u0000${m.runtimes.join(',')}`;
}

export interface ProbeCondition {
  status: 'True' | 'False';
  reason: ProbeConditionReason;
  message: string;
}

export function conditionOf(s: NodeProbeSummary): ProbeCondition {
  const total = s.mirrors.length + (s.omitted ?? 0);
  if (total === 0) return { status: 'True', reason: 'NoMirrors', message: 'the installed files name no mirror' };
  const down = s.mirrors.filter((m) => !m.reachable);
  if (down.length > 0) {
    return {
      status: 'False',
      reason: 'MirrorsUnreachable',
      message: clip(`${down.length}/${total} mirror(s) unreachable from this node: ${down.map(line).join('; ')}`, 1000),
    };
  }
  const withImage = s.mirrors.filter((m) => m.image !== undefined);
  if (s.probeImage && withImage.length > 0 && !withImage.some((m) => m.image === 'resolved')) {
    return {
      status: 'False',
      reason: 'ProbeImageNotResolved',
      message: clip(`${s.probeImage} does not resolve on any mirror: ${withImage.map((m) => `${m.mirror} ${m.image}`).join('; ')}`, 1000),
    };
  }
  return {
    status: 'True',
    reason: 'AllMirrorsReachable',
    message: clip(`${total}/${total} mirror(s) reachable: ${s.mirrors.map((m) => m.mirror).join(', ')}`, 1000),
  };
}

function line(m: MirrorStatus): string {
  return `${m.mirror} (${m.runtimes.join(', ')}): ${m.message ?? m.errorClass ?? 'unreachable'}`;
}

export interface ProbeEvent {
  type: 'Normal' | 'Warning';
  reason: ProbeEventReason;
  message: string;
}

/** Events for changes since the previous summary: a mirror that became unreachable (or reachable again). */
export function transitions(prev: NodeProbeSummary | undefined, next: NodeProbeSummary): ProbeEvent[] {
  const before = new Map((prev?.mirrors ?? []).map((m) => [key(m), m]));
  const out: ProbeEvent[] = [];
  for (const m of next.mirrors) {
    const was = before.get(key(m));
    if (!m.reachable && (was === undefined || was.reachable || was.errorClass !== m.errorClass)) {
      out.push({ type: 'Warning', reason: 'MirrorUnreachable', message: line(m) });
    } else if (m.reachable && was !== undefined && !was.reachable) {
      out.push({ type: 'Normal', reason: 'MirrorReachable', message: `${m.mirror} (${m.runtimes.join(', ')}) is reachable again` });
    }
    if (m.image && m.image !== 'resolved' && was?.image !== m.image) {
      out.push({ type: 'Warning', reason: 'ProbeImageNotResolved', message: `${next.probeImage} on ${m.mirror}: ${m.image}` });
    }
  }
  return out;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}
