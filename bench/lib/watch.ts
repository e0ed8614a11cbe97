// A watch on ConfigMaps selected by label, across all namespaces: the
// benchmark's view of the operator's outputs (when each one got which
// content, and how many times each was modified).
import { Watch, type V1ConfigMap } from '@kubernetes/client-node';
import type { Kube } from '../../e2e/lib/kube.js';
import { sleep } from './cluster.js';
import { CONTENT_HASH_ANNOTATION } from '../../src/contract.js';

export interface Seen {
  /** The last content seen. */
  data: Record<string, string>;
  hash: string | undefined;
  /** MODIFIED events since the last `resetCounts`. */
  modified: number;
  /** When the last event for this object arrived (ms, performance.now()). */
  at: number;
}

export class ConfigMapWatch {
  readonly objects = new Map<string, Seen>();
  private abort: AbortController | undefined;
  private stopped = false;
  private resourceVersion = '';
  /** Called for every ADDED/MODIFIED event after it is recorded. */
  onChange: ((key: string, seen: Seen) => void) | undefined;
  /** Pending waitFor calls, told of every event (undefined: the object was deleted). */
  private readonly waiters = new Set<(key: string, seen: Seen | undefined) => void>();

  constructor(
    private readonly k: Kube,
    private readonly labelSelector: string,
  ) {}

  /** Lists what exists, then watches from there (restarting when the server ends the watch). */
  async start(): Promise<void> {
    const list = await this.k.core.listConfigMapForAllNamespaces({ labelSelector: this.labelSelector });
    for (const cm of list.items) this.record('ADDED', cm);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    await this.watch();
  }

  private async watch(): Promise<void> {
    const w = new Watch(this.k.kc);
    this.abort = await w.watch(
      '/api/v1/configmaps',
      { labelSelector: this.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: V1ConfigMap) => {
        if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED') this.record(type, obj);
        else if (type === 'DELETED') {
          this.objects.delete(keyOf(obj));
          for (const w of this.waiters) w(keyOf(obj), undefined);
        }
      },
      () => {
        if (this.stopped) return;
        // The server closes watches after a while: resume from the last version seen.
        void sleep(100).then(() => (this.stopped ? undefined : this.watch()));
      },
    );
  }

  private record(type: string, cm: V1ConfigMap): void {
    const key = keyOf(cm);
    const prev = this.objects.get(key);
    const seen: Seen = {
      data: cm.data ?? {},
      hash: cm.metadata?.annotations?.[CONTENT_HASH_ANNOTATION],
      modified: (prev?.modified ?? 0) + (type === 'MODIFIED' ? 1 : 0),
      at: performance.now(),
    };
    this.objects.set(key, seen);
    for (const w of this.waiters) w(key, seen);
    this.onChange?.(key, seen);
  }

  resetCounts(): void {
    for (const s of this.objects.values()) s.modified = 0;
  }

  /** Objects for which `pred` holds. */
  count(pred: (s: Seen) => boolean): number {
    let n = 0;
    for (const s of this.objects.values()) if (pred(s)) n++;
    return n;
  }

  /**
   * Waits until `pred` holds for `n` objects; resolves with the time (performance.now()) it first did, the arrival of
   * the last event that made it hold. `pred` runs once per object, then once per event: polling every object while
   * the operator works would take a core from the system under test (a fleet's outputs are 22 KB each).
   */
  waitFor(n: number, pred: (s: Seen) => boolean, timeoutMs: number, what: string): Promise<number> {
    const holding = new Map<string, number>();
    for (const [key, s] of this.objects) if (pred(s)) holding.set(key, s.at);
    const done = (): number => Math.max(0, ...holding.values());
    if (holding.size >= n) return Promise.resolve(done());
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (key: string, s: Seen | undefined): void => {
        if (s && pred(s)) holding.set(key, s.at);
        else holding.delete(key);
        if (holding.size < n) return;
        finish();
        resolve(done());
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${holding.size}/${n})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

export function keyOf(cm: V1ConfigMap): string {
  return `${cm.metadata?.namespace ?? ''}/${cm.metadata?.name ?? ''}`;
}
