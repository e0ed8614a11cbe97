// API writes in an audit-log window, sorted into what the operator writes
// (outputs, their status, object status) and everything else.
import type { AuditEvent, AuditLog } from '../../e2e/lib/audit.js';
import { nodePoolOutputName } from '../../src/contract.js';

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface WriteCounts {
  /** Successful writes per output ConfigMap (`namespace/name`). */
  outputConfigMaps: Map<string, number>;
  outputSecrets: number;
  /** RenderedMirrorConfig status writes. */
  targetStatus: number;
  /** Status writes on IDMS/ITMS/RegistryAccess. */
  objectStatus: number;
  /** Everything else that succeeded (the benchmark's own writes included). */
  other: number;
  /** Writes the server refused (conflicts and the like). */
  failed: number;
  total: number;
}

export async function countWrites(audit: AuditLog, mark: number, exclude: (e: AuditEvent) => boolean = () => false): Promise<WriteCounts> {
  const counts: WriteCounts = { outputConfigMaps: new Map(), outputSecrets: 0, targetStatus: 0, objectStatus: 0, other: 0, failed: 0, total: 0 };
  for (const e of await audit.events(mark)) {
    if (!WRITE_VERBS.has(e.verb) || exclude(e)) continue;
    counts.total++;
    const code = e.responseStatus?.code ?? 0;
    if (code < 200 || code > 299) {
      counts.failed++;
      continue;
    }
    const ref = e.objectRef ?? {};
    const isOutput = (ref.name ?? '').endsWith(nodePoolOutputName('')) && !ref.subresource;
    if (ref.resource === 'configmaps' && isOutput) {
      const key = `${ref.namespace ?? ''}/${ref.name ?? ''}`;
      counts.outputConfigMaps.set(key, (counts.outputConfigMaps.get(key) ?? 0) + 1);
    } else if (ref.resource === 'secrets' && isOutput) counts.outputSecrets++;
    else if (ref.resource === 'renderedmirrorconfigs' && ref.subresource === 'status') counts.targetStatus++;
    else if (ref.apiGroup === 'imagemirror.io' && ref.subresource === 'status') counts.objectStatus++;
    else counts.other++;
  }
  return counts;
}

/** Min and max writes per output over `keys` (an output never written counts 0). */
export function perOutput(counts: WriteCounts, keys: readonly string[]): { min: number; max: number; sum: number } {
  const values = keys.map((k) => counts.outputConfigMaps.get(k) ?? 0);
  return { min: Math.min(...values), max: Math.max(...values), sum: values.reduce((a, b) => a + b, 0) };
}

/**
 * Mean time the API server spent on matching successful writes (audit
 * requestReceivedTimestamp -> stageTimestamp), in milliseconds, how many, and
 * when the last one completed (epoch milliseconds).
 */
export async function serverTime(audit: AuditLog, mark: number, pred: (e: AuditEvent) => boolean): Promise<{ count: number; meanMs: number; lastAt: number }> {
  let count = 0;
  let sum = 0;
  let lastAt = NaN;
  for (const e of await audit.events(mark)) {
    const code = e.responseStatus?.code ?? 0;
    if (!WRITE_VERBS.has(e.verb) || code < 200 || code > 299 || !pred(e)) continue;
    const received = (e as AuditEvent & { requestReceivedTimestamp?: string }).requestReceivedTimestamp;
    if (!received) continue;
    count++;
    const done = Date.parse(e.stageTimestamp);
    sum += done - Date.parse(received);
    if (!(done <= lastAt)) lastAt = done;
  }
  return { count, meanMs: count === 0 ? NaN : sum / count, lastAt };
}

export const isOutputConfigMapWrite = (e: AuditEvent): boolean =>
  e.objectRef?.resource === 'configmaps' && (e.objectRef.name ?? '').endsWith(nodePoolOutputName(''));
export const isTargetStatusWrite = (e: AuditEvent): boolean => e.objectRef?.resource === 'renderedmirrorconfigs' && e.objectRef.subresource === 'status';
