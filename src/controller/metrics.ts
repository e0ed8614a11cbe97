// Prometheus metrics of the controller, on a registry of its own (several
// controllers in one test process must not share counters).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram<'kind'>;
  readonly reconcileErrors: Counter;
  readonly apiWrites: Counter<'kind' | 'verb'>;
  readonly isLeader: Gauge;
  readonly coalesced: Counter;
  private queueDepthFn: () => number = () => 0;
  private statusWritesFn: () => number = () => 0;
  private targetsFn: () => Array<{ condition: string; status: string; count: number }> = () => [];
  private heldFn: () => number = () => 0;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'imagemirror_reconcile_total',
      help: 'Reconciles of targets and objects by result (rendered: output written, unchanged: nothing to write).',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'imagemirror_reconcile_duration_seconds',
      help: 'Time to reconcile one key, from render to the last write.',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'imagemirror_reconcile_errors_total',
      help: 'Reconciles that failed with an error and were retried (API errors, caches not filled).',
      registers,
    });
    this.apiWrites = new Counter({
      name: 'imagemirror_api_writes_total',
      help: 'Write requests sent to the API server, by kind and verb.',
      labelNames: ['kind', 'verb'],
      registers,
    });
    this.isLeader = new Gauge({
      name: 'imagemirror_is_leader',
      help: '1 while this instance holds the leader Lease (always 1 without leader election).',
      registers,
    });
    const self = this;
    new Gauge({
      name: 'imagemirror_queue_depth',
      help: 'Keys waiting in the work queue.',
      registers,
      collect() {
        this.set(self.queueDepthFn());
      },
    });
    new Gauge({
      name: 'imagemirror_status_writes_pending',
      help: 'RenderedMirrorConfig status writes waiting or running (they yield to output writes).',
      registers,
      collect() {
        this.set(self.statusWritesFn());
      },
    });
    new Gauge({
      name: 'imagemirror_targets',
      help: 'Targets by condition type and status.',
      labelNames: ['condition', 'status'],
      registers,
      collect() {
        this.reset();
        for (const t of self.targetsFn()) this.set({ condition: t.condition, status: t.status }, t.count);
      },
    });
    new Gauge({
      name: 'imagemirror_queue_held',
      help: 'Targets held back to collapse a burst of changes of cluster-scoped objects into one pass.',
      registers,
      collect() {
        this.set(self.heldFn());
      },
    });
    this.coalesced = new Counter({
      name: 'imagemirror_queue_coalesced_total',
      help: 'Changes folded into a target pass that was already waiting or held (passes saved).',
      registers,
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  setQueueDepth(fn: () => number): void {
    this.queueDepthFn = fn;
  }

  setStatusWrites(fn: () => number): void {
    this.statusWritesFn = fn;
  }

  setTargets(fn: () => Array<{ condition: string; status: string; count: number }>): void {
    this.targetsFn = fn;
  }

  setHeld(fn: () => number): void {
    this.heldFn = fn;
  }

  countWrite(kind: string, verb: string): void {
    this.apiWrites.inc({ kind, verb });
  }
}
