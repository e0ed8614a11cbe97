// One rollout per intent (docs/hypershift.md "One rollout per change"): every
// change of the `config` key of an output that NodePool.spec.config lists
// rolls that NodePool's nodes, so such a change is held before it is
// published:
// - for a settle window (--nodepool-config-settle, default 5 s), restarted
//   by every further change of the key and capped at MAX_HOLD_FACTOR windows
//   from the first, so that a burst of input changes (a GitOps sync applying
//   objects one after another) is published as one change;
// - or, where approval is required (--nodepool-config-approval or the
//   NodePool annotation imagemirror.io/config-approval: required), until the
//   annotation imagemirror.io/approve-config names the pending change.
// Meanwhile the other keys (the node agent's, which roll nothing) are
// published as usual, next to the `config` key as it is stored.
//
// The pending state lives in the status (status.delivery), so a restarted or
// new leader continues the same window. `decideConfig` is pure; the caller
// reads the stored `config` key when it has to keep it.
import type { KubeObject } from '../model/source.js';
import { contentHash, type RenderedData } from '../pipeline.js';
import { MACHINE_CONFIG_KEY } from '../render/machineconfig.js';
import { formatTime } from './conditions.js';
import type { EventText } from './events.js';
import type { Writer } from './kube.js';
import {
  APPROVE_CONFIG_ANNOTATION,
  approvalFix,
  CONFIG_APPROVAL_ANNOTATION,
  configHash,
  configListing,
  type DeliveryStatus,
  type NodePoolOptions,
  rolloutEffect,
  short,
  storedConfigHash,
} from './nodepool-delivery.js';
import type { TargetSources } from './reconcile.js';

/** A burst never holds a change longer than this many settle windows after its first change. */
export const MAX_HOLD_FACTOR = 6;

export interface GateInput {
  np: KubeObject;
  /** The ConfigMap holding the output, as `ns/name` (messages). */
  where: string;
  /** The `config` key as rendered now. */
  desired: string;
  /** `configHash` of the stored `config` key; undefined when no output (or no such key) is stored. */
  storedConfigHash: string | undefined;
  /** NodePool.spec.config lists the output: a change of `config` rolls the nodes. */
  referenced: boolean;
  /** status.delivery as stored. */
  previous: DeliveryStatus | undefined;
  options: Pick<NodePoolOptions, 'settleMs' | 'approval'>;
  now: Date;
}

export type GateDecision =
  /** Publish the rendered `config` key (`rolls`: it changes the key of a delivered output). */
  | { publish: 'desired'; rolls: boolean; events: EventText[] }
  /** Keep the stored `config` key; `pending` goes into status.delivery; pass again after `dueInMs` (none while waiting for approval). */
  | {
      publish: 'stored';
      pending: Required<Pick<DeliveryStatus, 'pendingConfigHash' | 'pendingSince'>> & DeliveryStatus;
      dueInMs?: number;
      events: EventText[];
    };

export function approvalRequired(np: KubeObject, options: Pick<NodePoolOptions, 'approval'>): boolean {
  return options.approval || np.metadata.annotations?.[CONFIG_APPROVAL_ANNOTATION] === 'required';
}

export function decideConfig(g: GateInput): GateDecision {
  const want = configHash(g.desired);
  // Nothing delivered yet, nothing changes, or nothing rolls: publish as rendered.
  if (g.storedConfigHash === undefined || g.storedConfigHash === want) return { publish: 'desired', rolls: false, events: [] };
  if (!g.referenced) return { publish: 'desired', rolls: false, events: [] };
  const required = approvalRequired(g.np, g.options);
  const published = (): GateDecision => ({ publish: 'desired', rolls: true, events: [publishedEvent(g, want)] });
  if (required && g.np.metadata.annotations?.[APPROVE_CONFIG_ANNOTATION] === short(want)) return published();
  if (!required && g.options.settleMs <= 0) return published();
  const prev = g.previous;
  const burst = prev?.pendingConfigHash !== undefined;
  const since = burst && prev?.pendingSince ? prev.pendingSince : formatTime(g.now);
  const pending = { pendingConfigHash: want, pendingSince: since };
  const events = burst && (prev?.pendingConfigHash === want || !required) ? [] : [heldEvent(g, want, required)];
  if (required) return { publish: 'stored', pending: { ...pending, approvalRequired: true }, events };
  const due = dueTime(g, want, since);
  if (g.now.getTime() >= due) return published();
  return { publish: 'stored', pending: { ...pending, publishAfter: formatTime(new Date(due)) }, dueInMs: due - g.now.getTime(), events };
}

/**
 * When the pending change goes out: a settle window after the last change
 * of the key (the stored publishAfter while the key stays the same), at most
 * MAX_HOLD_FACTOR windows after the first change of the burst.
 */
function dueTime(g: GateInput, want: string, since: string): number {
  const prev = g.previous;
  const cap = Date.parse(since) + MAX_HOLD_FACTOR * g.options.settleMs;
  const kept = prev?.pendingConfigHash === want && prev.publishAfter ? Date.parse(prev.publishAfter) : Number.NaN;
  // Times are stored with second precision: round up, never publish early.
  const next = Number.isNaN(kept) ? Math.ceil((g.now.getTime() + g.options.settleMs) / 1000) * 1000 : kept;
  return Math.min(next, Math.max(cap, g.now.getTime()));
}

function heldEvent(g: GateInput, want: string, required: boolean): EventText {
  const change = `the config key of ConfigMap ${g.where} changes (sha256 ${short(g.storedConfigHash ?? '')} -> ${short(want)})`;
  const when = required
    ? `held until approved: ${approvalFix(g.np, want)}`
    : `publishing in ${Math.round(g.options.settleMs / 1000)} s unless inputs change again`;
  return { type: 'Normal', reason: 'ConfigChangePending', message: `${change}; publishing it ${rolloutEffect(g.np)}; ${when}` };
}

function publishedEvent(g: GateInput, want: string): EventText {
  return {
    type: 'Normal',
    reason: 'ConfigPublished',
    message: `published the config key of ConfigMap ${g.where} (sha256 ${short(g.storedConfigHash ?? '')} -> ${short(want)}): HyperShift ${rolloutEffect(g.np)}`,
  };
}

/** What the gate needs from the pass. */
export interface HoldDeps {
  sources: Pick<TargetSources, 'outputConfigMap'>;
  writer: Pick<Writer, 'readConfigMap'>;
  options: Pick<NodePoolOptions, 'settleMs' | 'approval'>;
  now: () => Date;
}

/** The output to publish for a NodePool target, the gate's decision, and the `config` key that output holds. */
export interface Held {
  data: RenderedData;
  decision: GateDecision;
  config: string;
}

/**
 * Decides, and when the stored `config` key is kept, reads it (the caches
 * keep only its hash) and returns the rendered output with that key in place.
 */
export async function holdConfig(
  deps: HoldDeps,
  np: KubeObject,
  at: { namespace: string; name: string },
  data: RenderedData,
  previous: DeliveryStatus | undefined,
): Promise<Held> {
  const desired = data.configMapData[MACHINE_CONFIG_KEY] ?? '';
  const stored = deps.sources.outputConfigMap(at.namespace, at.name);
  const decision = decideConfig({
    np,
    where: `${at.namespace}/${at.name}`,
    desired,
    storedConfigHash: storedConfigHash(stored),
    referenced: configListing(np, at.name).listed,
    previous,
    options: deps.options,
    now: deps.now(),
  });
  if (decision.publish === 'desired') return { data, decision, config: desired };
  const kept = (await deps.writer.readConfigMap(at.namespace, at.name))?.data?.[MACHINE_CONFIG_KEY];
  // Gone meanwhile: nothing is delivered that a change could roll.
  if (kept === undefined) return { data, decision: { publish: 'desired', rolls: false, events: [] }, config: desired };
  const configMapData = { ...data.configMapData, [MACHINE_CONFIG_KEY]: kept };
  return { data: { ...data, configMapData, hash: contentHash(configMapData) }, decision, config: kept };
}
