// Which targets read which objects: filled from Gathered.references after
// every render, so an event on a ConfigMap, Secret, HostedCluster or
// NodePool re-queues exactly the targets that looked it up (found or not).
import type { Reference } from '../model/source.js';
import { refKey } from './sources.js';

export class ReferenceIndex {
  private readonly byTarget = new Map<string, Set<string>>();
  private readonly byRef = new Map<string, Set<string>>();

  /** Replaces what `target` references. */
  set(target: string, refs: readonly Reference[]): void {
    this.remove(target);
    const keys = new Set(refs.map(refKey));
    this.byTarget.set(target, keys);
    for (const k of keys) {
      const targets = this.byRef.get(k) ?? new Set<string>();
      this.byRef.set(k, targets);
      targets.add(target);
    }
  }

  remove(target: string): void {
    const keys = this.byTarget.get(target);
    if (!keys) return;
    this.byTarget.delete(target);
    for (const k of keys) {
      const targets = this.byRef.get(k);
      targets?.delete(target);
      if (targets?.size === 0) this.byRef.delete(k);
    }
  }

  clear(): void {
    this.byTarget.clear();
    this.byRef.clear();
  }

  targetsOf(ref: Reference): string[] {
    return [...(this.byRef.get(refKey(ref)) ?? [])].sort();
  }

  isReferenced(ref: Reference): boolean {
    return this.byRef.has(refKey(ref));
  }

  targets(): string[] {
    return [...this.byTarget.keys()].sort();
  }
}
