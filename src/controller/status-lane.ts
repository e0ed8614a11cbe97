// Status writes of target passes, off the path of the outputs. A pass
// publishes its output, then hands the RenderedMirrorConfig write (and the
// event that goes with it) to this lane and returns, so the worker moves on
// to the next output instead of waiting for a second API round trip. On a
// fleet-wide change that halves the sequential API time per output
// (bench/RESULTS.md).
//
// Per key, writes run in order, and a new pass of a key first waits for the
// previous write of that key (`settled`): every pass builds its status from
// what the last one stored. `limit` bounds the writes in flight; `submit`
// waits for a free slot, which slows the passes down rather than piling up
// writes in memory.
export class StatusLane {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;

  constructor(
    private readonly limit: number,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  /** Resolves once the work is accepted (a slot is free); the work itself runs after the key's previous one. */
  async submit(key: string, work: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    const run = (this.chains.get(key) ?? Promise.resolve())
      .then(work)
      .catch((err: unknown) => this.onError(key, err))
      .finally(() => {
        this.active--;
        this.waiting.shift()?.();
        if (this.chains.get(key) === run) this.chains.delete(key);
      });
    this.chains.set(key, run);
  }

  /** Waits for the pending writes of `key`. */
  async settled(key: string): Promise<void> {
    await this.chains.get(key);
  }

  /** True when no write is pending. */
  idle(): boolean {
    return this.chains.size === 0;
  }

  /** Waits for every pending write. */
  async drain(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }
}
