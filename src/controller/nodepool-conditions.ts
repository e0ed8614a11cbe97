// The conditions only NodePool targets have, each decided by a small pure
// rule from what the pass found (STYLE.md 3), and the Events their changes
// record:
// - AmbiguousInputs: the HostedCluster sets fields of which only one is used.
import type { RenderedTarget } from '../pipeline.js';
import { type Condition, type ConditionInput, findCondition } from './conditions.js';
import type { EventText } from './events.js';
import { type AmbiguousReason, NOT_DEGRADED } from './reasons.js';

/** Everything the NodePool conditions are decided from. */
export interface NodePoolConditionInput {
  rendered: RenderedTarget;
}

/** The NodePool-only conditions, in the order they are listed. */
export function nodePoolConditions(input: NodePoolConditionInput): ConditionInput[] {
  if (input.rendered.target.kind !== 'NodePool') return [];
  return [ambiguousCondition(input.rendered)];
}

/** AmbiguousInputs from the warnings gather found (they are known even while the inputs are invalid). */
export function ambiguousCondition(rendered: RenderedTarget): ConditionInput<AmbiguousReason | typeof NOT_DEGRADED> {
  const found = (rendered.gathered.warnings ?? []).filter((w) => w.code === 'AmbiguousReference');
  if (found.length === 0) return { type: 'AmbiguousInputs', status: 'False', reason: NOT_DEGRADED, message: 'no input sets fields of which only one is used' };
  const message = found.map((w) => `${w.source} ${w.message}`).join('; ');
  return { type: 'AmbiguousInputs', status: 'True', reason: 'BothMirrorConfigFields', message };
}

/** Events for changes of the NodePool conditions: a Warning when AmbiguousInputs turns True (or says something new). */
export function nodePoolConditionEvents(previous: readonly Condition[], next: readonly Condition[]): EventText[] {
  const out: EventText[] = [];
  const [was, now] = [findCondition(previous, 'AmbiguousInputs'), findCondition(next, 'AmbiguousInputs')];
  if (now?.status === 'True' && (was?.status !== 'True' || was.message !== now.message)) {
    out.push({ type: 'Warning', reason: now.reason as AmbiguousReason, message: now.message });
  }
  return out;
}
