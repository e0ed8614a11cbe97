// The conditions only NodePool targets have, each decided by a small pure
// rule from what the pass found (STYLE.md 3), and the Events their changes
// record:
// - AmbiguousInputs: the HostedCluster sets fields of which only one is used;
// - Delivered: whether the output reaches the nodes through
//   NodePool.spec.config, and what HyperShift says about it; the message
//   says what fixes it.
import type { KubeObject } from '../model/source.js';
import type { RenderedTarget } from '../pipeline.js';
import { type Condition, type ConditionInput, findCondition } from './conditions.js';
import type { EventText } from './events.js';
import {
  approvalFix,
  configListing,
  type DeliveryStatus,
  hyperShiftCondition,
  referenceFix,
  rolloutEffect,
  short,
  UPDATING_CONFIG,
  VALID_MACHINE_CONFIG,
} from './nodepool-delivery.js';
import { MAX_CONFIG_REFS, optedIn } from './nodepool-config-ref.js';
import { type AmbiguousReason, type DeliveredReason, NOT_DEGRADED } from './reasons.js';

/** What Delivered is decided from. */
export interface DeliveryInput {
  np: KubeObject;
  outputName: string;
  /** The output ConfigMap is stored (published now or before). */
  outputExists: boolean;
  /** status.delivery after this pass. */
  delivery: DeliveryStatus;
  now: Date;
}

/** Everything the NodePool conditions are decided from. */
export interface NodePoolConditionInput {
  rendered: RenderedTarget;
  /** Unset when the NodePool is not found. */
  delivery?: DeliveryInput;
}

/** The NodePool-only conditions, in the order they are listed. */
export function nodePoolConditions(input: NodePoolConditionInput): ConditionInput[] {
  if (input.rendered.target.kind !== 'NodePool') return [];
  const out: ConditionInput[] = [ambiguousCondition(input.rendered)];
  if (input.delivery) out.push(deliveredCondition(input.delivery));
  return out;
}

type Delivered = ConditionInput<DeliveredReason>;

/** The checks of Delivered, in order: the first that has something to say decides. */
const DELIVERY_CHECKS: ReadonlyArray<(d: DeliveryInput) => Delivered | undefined> = [
  notPublished,
  notReferenced,
  pending,
  rejected,
  rollingOut,
  awaitingHyperShift,
];

export function deliveredCondition(d: DeliveryInput): Delivered {
  for (const check of DELIVERY_CHECKS) {
    const c = check(d);
    if (c) return c;
  }
  return delivered(d);
}

const where = (d: DeliveryInput): string => `ConfigMap ${d.np.metadata.namespace ?? ''}/${d.outputName}`;
const pool = (d: DeliveryInput): string => `NodePool ${d.np.metadata.namespace ?? ''}/${d.np.metadata.name}`;
const cfg = (hash: string | undefined): string => (hash ? ` (config sha256 ${short(hash)})` : '');

function notPublished(d: DeliveryInput): Delivered | undefined {
  if (d.outputExists) return undefined;
  return {
    type: 'Delivered',
    status: 'False',
    reason: 'NotPublished',
    message: `nothing is published for ${pool(d)} yet (see Degraded), so nothing reaches its nodes`,
  };
}

function notReferenced(d: DeliveryInput): Delivered | undefined {
  const listing = configListing(d.np, d.outputName);
  if (listing.listed) return undefined;
  if (optedIn(d.np) && listing.entries < MAX_CONFIG_REFS) {
    // The operator adds the entry itself, in this pass or the next (nodepool-config-ref.ts).
    return {
      type: 'Delivered',
      status: 'False',
      reason: 'AddingReference',
      message: `${pool(d)} spec.config does not list ${where(d)} yet; the operator adds it (annotation imagemirror.io/manage-config-ref=true)`,
    };
  }
  return {
    type: 'Delivered',
    status: 'False',
    reason: 'NotReferenced',
    message: `${pool(d)} spec.config does not list ${where(d)}, so HyperShift does not install it on the nodes: ${referenceFix(d.np, d.outputName)}`,
  };
}

function pending(d: DeliveryInput): Delivered | undefined {
  const p = d.delivery.pendingConfigHash;
  if (!p) return undefined;
  const change = `a change of the config key of ${where(d)} (sha256 ${short(d.delivery.configHash ?? '')} -> ${short(p)}) is pending`;
  const effect = `publishing it ${rolloutEffect(d.np)}; until then the nodes keep sha256 ${short(d.delivery.configHash ?? '')}`;
  if (d.delivery.approvalRequired) {
    return {
      type: 'Delivered',
      status: 'False',
      reason: 'AwaitingApproval',
      message: `${change} and waits for approval; ${effect}; approve it: ${approvalFix(d.np, p)}`,
    };
  }
  const after = d.delivery.publishAfter ? Date.parse(d.delivery.publishAfter) : d.now.getTime();
  const seconds = Math.max(0, Math.ceil((after - d.now.getTime()) / 1000));
  return { type: 'Delivered', status: 'False', reason: 'ChangePending', message: `${change}, publishing in ${seconds} s; ${effect}` };
}

function rejected(d: DeliveryInput): Delivered | undefined {
  const valid = hyperShiftCondition(d.np, VALID_MACHINE_CONFIG);
  if (valid?.status !== 'False') return undefined;
  return {
    type: 'Delivered',
    status: 'False',
    reason: 'ConfigRejected',
    message: `${pool(d)} reports ${VALID_MACHINE_CONFIG}=False (${valid.reason}): ${valid.message}; its nodes keep their previous config (kubectl -n ${d.np.metadata.namespace ?? ''} describe nodepool ${d.np.metadata.name})`,
  };
}

function rollingOut(d: DeliveryInput): Delivered | undefined {
  const updating = hyperShiftCondition(d.np, UPDATING_CONFIG);
  if (updating?.status !== 'True') return undefined;
  const msg = updating.message ? `: ${updating.message}` : '';
  return {
    type: 'Delivered',
    status: 'False',
    reason: 'RollingOut',
    message: `spec.config lists ${where(d)}${cfg(d.delivery.configHash)}; HyperShift is rolling it out to the nodes (${UPDATING_CONFIG}=True since ${updating.lastTransitionTime}${msg})`,
  };
}

function awaitingHyperShift(d: DeliveryInput): Delivered | undefined {
  const updating = hyperShiftCondition(d.np, UPDATING_CONFIG);
  const changed = d.delivery.configChangedTime;
  if (!updating || !changed || updating.lastTransitionTime >= changed) return undefined;
  return {
    type: 'Delivered',
    status: 'Unknown',
    reason: 'AwaitingHyperShift',
    message: `spec.config lists ${where(d)}; its config key changed at ${changed}${cfg(d.delivery.configHash)}, and HyperShift has not reported an update since (${UPDATING_CONFIG}=${updating.status} since ${updating.lastTransitionTime})`,
  };
}

function delivered(d: DeliveryInput): Delivered {
  const updating = hyperShiftCondition(d.np, UPDATING_CONFIG);
  if (updating) {
    return {
      type: 'Delivered',
      status: 'True',
      reason: 'PickedUp',
      message: `spec.config lists ${where(d)}${cfg(d.delivery.configHash)}, and HyperShift has rolled it out (${UPDATING_CONFIG}=${updating.status} since ${updating.lastTransitionTime})`,
    };
  }
  return {
    type: 'Delivered',
    status: 'True',
    reason: 'Referenced',
    message: `spec.config lists ${where(d)}${cfg(d.delivery.configHash)}; ${pool(d)} reports no ${UPDATING_CONFIG} condition, so whether its nodes run it is not known`,
  };
}

/** AmbiguousInputs from the warnings gather found (they are known even while the inputs are invalid). */
export function ambiguousCondition(rendered: RenderedTarget): ConditionInput<AmbiguousReason | typeof NOT_DEGRADED> {
  const found = (rendered.gathered.warnings ?? []).filter((w) => w.code === 'AmbiguousReference');
  if (found.length === 0) return { type: 'AmbiguousInputs', status: 'False', reason: NOT_DEGRADED, message: 'no input sets fields of which only one is used' };
  const message = found.map((w) => `${w.source} ${w.message}`).join('; ');
  return { type: 'AmbiguousInputs', status: 'True', reason: 'BothMirrorConfigFields', message };
}

/** Delivered reasons that needed a fix: turning True from one of them is worth a Normal Event. */
const FIXED: ReadonlySet<string> = new Set(['NotPublished', 'NotReferenced', 'AddingReference', 'ConfigRejected']);

/**
 * Events for changes of the NodePool conditions: a Warning when
 * AmbiguousInputs turns True (or says something new), and when Delivered
 * turns to NotReferenced or ConfigRejected (something to fix); Normal
 * `Delivered` when it turns True after one of those (held changes and
 * rollouts have their own Events, config-gate.ts).
 */
export function nodePoolConditionEvents(previous: readonly Condition[], next: readonly Condition[]): EventText[] {
  const out: EventText[] = [];
  const [was, now] = [findCondition(previous, 'AmbiguousInputs'), findCondition(next, 'AmbiguousInputs')];
  if (now?.status === 'True' && (was?.status !== 'True' || was.message !== now.message)) {
    out.push({ type: 'Warning', reason: now.reason as AmbiguousReason, message: now.message });
  }
  const [wasD, nowD] = [findCondition(previous, 'Delivered'), findCondition(next, 'Delivered')];
  if (nowD && wasD?.reason !== nowD.reason) {
    if (nowD.reason === 'NotReferenced' || nowD.reason === 'ConfigRejected') out.push({ type: 'Warning', reason: nowD.reason, message: nowD.message });
    else if (nowD.status === 'True' && wasD && FIXED.has(wasD.reason)) out.push({ type: 'Normal', reason: 'Delivered', message: nowD.message });
  }
  return out;
}
