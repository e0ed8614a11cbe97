// Errors of Kubernetes API calls, as @kubernetes/client-node reports them,
// for the controller and the node agent alike.

/** The HTTP status of a failed API call (`code` on ApiException, `statusCode` elsewhere), or undefined. */
export function statusCode(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

/** The result of a read, or undefined when the object does not exist (404). */
export async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

/** Waits for a delete; an object that is already gone (404) is not an error. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
}
