// Every condition type and reason the controller writes, and every Event
// reason it records, as literal unions with their values listed once
// (test/unit/controller/reasons.test.ts ties each to docs/api.md and the
// CRDs). A new reason is added here first (CONTRIBUTING.md).
import { REASONS, type Reason } from '../model/types.js';

export const CONDITION_TYPES = ['Ready', 'Degraded', 'MirrorsReachable', 'Accepted', 'Applied'] as const;
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

/** IDMS/ITMS/RegistryAccess `Accepted`: True with `Valid`; False with the reason of the first problem about the object. */
export const VALID = 'Valid';
export type AcceptedReason = typeof VALID | Reason;

/** IDMS/ITMS/RegistryAccess `Applied`. */
export const APPLIED_REASONS = ['Applied', 'NoMatchingTargets', 'TargetNotRendered'] as const;
export type AppliedReason = (typeof APPLIED_REASONS)[number];

/** Reasons of Normal Events; Warning Events take the reason of the condition that went wrong (a problem reason). */
export const NORMAL_EVENT_REASONS = ['Recovered', 'Accepted'] as const;
export type EventReason = (typeof NORMAL_EVENT_REASONS)[number] | Reason;

/** Problem reasons (src/model/types.ts): what Degraded, Accepted=False and Warning Events carry. */
export const PROBLEM_REASONS: readonly Reason[] = REASONS;
