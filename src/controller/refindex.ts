// Which targets read which objects: filled from Gathered.references after
// every render, so an event on a ConfigMap, Secret, HostedCluster or
// NodePool re-queues exactly the targets that looked it up (found or not).
import { byteOrder } from '../common/values.js';
import type { Reference, Target } from '../model/source.js';
import { refKey } from './sources.js';
import { targetId } from './targets.js';

export class ReferenceIndex {
  private readonly byTarget = new Map<string, { target: Target; refs: Set<string> }>();
  private readonly byRef = new Map<string, Map<string, Target>>();

  /** Replaces what `target` references. */
  set(target: Target, refs: readonly Reference[]): void {
    this.remove(target);
    const id = targetId(target);
    const keys = new Set(refs.map(refKey));
    this.byTarget.set(id, { target, refs: keys });
    for (const k of keys) {
      const targets = this.byRef.get(k) ?? new Map<string, Target>();
      this.byRef.set(k, targets);
      targets.set(id, target);
    }
  }

  remove(target: Target): void {
    const id = targetId(target);
    const entry = this.byTarget.get(id);
    if (!entry) return;
    this.byTarget.delete(id);
    for (const k of entry.refs) {
      const targets = this.byRef.get(k);
      targets?.delete(id);
      if (targets?.size === 0) this.byRef.delete(k);
    }
  }

  /** The targets that looked `ref` up in their last pass, by id. */
  targetsOf(ref: Reference): Target[] {
    const targets = this.byRef.get(refKey(ref));
    return targets ? [...targets].sort(([a], [b]) => byteOrder(a, b)).map(([, t]) => t) : [];
  }

  isReferenced(ref: Reference): boolean {
    return this.byRef.has(refKey(ref));
  }
}
