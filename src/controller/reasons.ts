// Every condition type and reason the controller writes, and every Event
// reason it records, as literal unions with their values listed once
// (test/unit/controller/reasons.test.ts ties each to docs/api.md and the
// CRDs). A new reason is added here first (CONTRIBUTING.md).
import { REASONS, type Reason } from '../model/types.js';

export const CONDITION_TYPES = ['Ready', 'Degraded', 'MirrorsReachable', 'Accepted', 'Applied', 'AmbiguousInputs', 'Delivered'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** RenderedMirrorConfig `Ready`: True with `Rendered`; False with the reason of the first failed target check. */
export const READY_REASONS = ['Rendered', 'InvalidInputs', 'RenderFailed', 'OutputTooLarge', 'OutputNameConflict', 'OutputRejected'] as const;
export type ReadyReason = (typeof READY_REASONS)[number];
export type NotReadyReason = Exclude<ReadyReason, 'Rendered'>;

/** RenderedMirrorConfig `MirrorsReachable`: what the node agents' mirror probes say (reachability.ts). */
export const REACHABILITY_REASONS = ['AllMirrorsReachable', 'NoMirrors', 'MirrorUnreachable', 'NotReported', 'NoNodes'] as const;
export type ReachabilityReason = (typeof REACHABILITY_REASONS)[number];

/** RenderedMirrorConfig `Degraded`: False with `AsExpected`; True with the reason of the first problem. */
export const NOT_DEGRADED = 'AsExpected';
export type DegradedReason = typeof NOT_DEGRADED | Reason;

/** RenderedMirrorConfig `AmbiguousInputs` (NodePool targets): True with one of these; False with `AsExpected`. */
export const AMBIGUOUS_REASONS = ['BothMirrorConfigFields'] as const;
export type AmbiguousReason = (typeof AMBIGUOUS_REASONS)[number];

/** RenderedMirrorConfig `Delivered` (NodePool targets), by status (nodepool-conditions.ts). */
export const DELIVERED_TRUE_REASONS = ['PickedUp', 'Referenced'] as const;
export const DELIVERED_FALSE_REASONS = [
  'NotPublished',
  'NotReferenced',
  'AddingReference',
  'ChangePending',
  'AwaitingApproval',
  'ConfigRejected',
  'RollingOut',
] as const;
export const DELIVERED_UNKNOWN_REASONS = ['AwaitingHyperShift'] as const;
export const DELIVERED_REASONS = [...DELIVERED_TRUE_REASONS, ...DELIVERED_FALSE_REASONS, ...DELIVERED_UNKNOWN_REASONS] as const;
export type DeliveredReason = (typeof DELIVERED_REASONS)[number];

/** IDMS/ITMS/RegistryAccess `Accepted`: True with `Valid`; False with the reason of the first problem about the object. */
export const VALID = 'Valid';
export type AcceptedReason = typeof VALID | Reason;

/** IDMS/ITMS/RegistryAccess `Applied`. */
export const APPLIED_REASONS = ['Applied', 'NoMatchingTargets', 'TargetNotRendered'] as const;
export type AppliedReason = (typeof APPLIED_REASONS)[number];

/** Reasons of Normal Events; Warning Events take the reason of the condition that went wrong (a problem reason). */
export const NORMAL_EVENT_REASONS = ['Recovered', 'Accepted'] as const;
/** Events about the delivery of a NodePool target's output (nodepool-conditions.ts); Warning ones take a condition's reason. */
export const DELIVERY_EVENT_REASONS = [...AMBIGUOUS_REASONS, 'NotReferenced', 'ConfigRejected', 'Delivered', 'ConfigChangePending', 'ConfigPublished'] as const;
export type EventReason = (typeof NORMAL_EVENT_REASONS)[number] | (typeof DELIVERY_EVENT_REASONS)[number] | Reason;

/** Problem reasons (src/model/types.ts): what Degraded, Accepted=False and Warning Events carry. */
export const PROBLEM_REASONS: readonly Reason[] = REASONS;
