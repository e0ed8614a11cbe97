// Small pure helpers over plain values, shared by every layer (no I/O).

/** A plain object (not null, not an array): what a JSON or YAML mapping parses to. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Orders strings by UTF-16 code units, the default sort order: equal to byte
 * order for the ASCII names Kubernetes and registries use, and the same on
 * every platform and locale (never localeCompare).
 */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
