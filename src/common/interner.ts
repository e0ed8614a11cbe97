// Equal values kept once (hash-consing). Ten thousand NodePools configured
// by the same cluster-wide objects have equal status lists (warnings,
// contributors): parsed from ten thousand watch events they would be ten
// thousand copies; interned, the caches share one. An entry lives as long as
// something holds its value (WeakRef); the pool forgets it after that.
//
// Interned values are shared: read them, never change them.
export class Interner<T extends object> {
  private readonly pool = new Map<string, WeakRef<T>>();
  private readonly gone = new FinalizationRegistry<string>((key) => {
    if (this.pool.get(key)?.deref() === undefined) this.pool.delete(key);
  });

  /** The value equal to `value` (same JSON) that is already kept, else `value`, kept from now on. */
  intern(value: T): T {
    const key = JSON.stringify(value);
    const known = this.pool.get(key)?.deref();
    if (known !== undefined) return known;
    this.pool.set(key, new WeakRef(value));
    this.gone.register(value, key);
    return value;
  }

  /** Distinct values kept (tests, memory checks). */
  size(): number {
    return this.pool.size;
  }
}
