// A broken invariant inside a renderer: a bug, never a user mistake (user
// mistakes are Problems found by validation before anything is rendered).
// Callers map it to the `InternalError` reason.

export class InternalError extends Error {
  override readonly name = 'InternalError';
  readonly reason = 'InternalError' as const;
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InternalError(`internal error: ${message}`);
}
