// A clock and timers driven by hand (STYLE.md 6): `advance` moves time and
// runs the timers that fall due, in order, letting promise callbacks settle
// between them. Tests of time-based logic then take no wall-clock time and
// cannot flake under load.
import type { Timers } from '../../../src/common/timers.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeTime implements Timers {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(start = 0) {
    this.t = start;
  }

  /** Milliseconds on this clock. */
  readonly now = (): number => this.t;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves the clock without firing anything (spaces out calls made in one go). */
  skip(ms: number): void {
    this.t += ms;
  }

  /** Timers waiting to fire. */
  timers(): number {
    return this.pending.size;
  }

  /** Moves the clock by `ms`, firing every timer due on the way (and those they set, if due). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = [...this.pending.values()].filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.pending.delete(next.seq);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise callbacks (and those they queue) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
