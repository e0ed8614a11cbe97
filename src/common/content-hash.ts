// The content hash of a publication, shared by the operator (which writes it
// in the annotation and the status) and the node agent (which checks what it
// reads against it before installing anything).
import { createHash, createHmac } from 'node:crypto';

/** sha256 over keys and values in key order; stable across runs and platforms. */
export function contentHash(data: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  feed(h, data);
  return h.digest('hex');
}

/**
 * The hash of everything a node installs: the ConfigMap data and, when there
 * is a Secret, its data. The Secret's part enters only as an HMAC keyed with
 * `hashKey`, a random value kept in the Secret itself: whoever reads the hash
 * (in a status, say) but not the Secret cannot test guesses of a password
 * against it; whoever can read the Secret knows the password anyway. Without
 * a Secret (or with one written before the Secret had a key) the hash is
 * `contentHash` of the ConfigMap data, as it always was.
 */
export function publicationHash(
  configMapData: Readonly<Record<string, string>>,
  secretFiles: Readonly<Record<string, string>>,
  hashKey: string | undefined,
): string {
  if (hashKey === undefined) return contentHash(configMapData);
  const keyed = createHmac('sha256', hashKey);
  feed(keyed, secretFiles);
  const h = createHash('sha256');
  feed(h, configMapData);
  // No ConfigMap key can hold a NUL: this cannot be taken for a ConfigMap entry.
  h.update(`\0secret:${keyed.digest('hex')}`);
  return h.digest('hex');
}

function feed(h: { update(s: string): unknown }, data: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(data).sort()) {
    const value = data[key] as string;
    h.update(`${key.length}:${key}`);
    h.update(`${Buffer.byteLength(value)}:${value}`);
  }
}
