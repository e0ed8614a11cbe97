// Kubernetes' limits on names, label values and data keys, and the stable
// short form of a derived name that would exceed them. Short forms follow
// Kubernetes' own controllers: the start of the name, then a hash of the full
// identity, so that the result is stable (the same input always gives the
// same name), short (within the limit) and collision-free (two identities
// that share a long prefix still differ in the hash). Names that fit are
// never changed.
import { createHash } from 'node:crypto';

/** An object name (DNS-1123 subdomain), e.g. a ConfigMap, Secret or custom object. */
export const MAX_NAME_LENGTH = 253;
/** A label value. */
export const MAX_LABEL_VALUE_LENGTH = 63;
/** A ConfigMap or Secret key. */
export const MAX_DATA_KEY_LENGTH = 253;
/** The base of `metadata.generateName`: the API server adds 5 random characters to at most 58. */
export const MAX_GENERATE_NAME_LENGTH = 58;
/** Hex digits of the hash in a short form: 64 bits, so distinct identities never meet in practice. */
export const NAME_HASH_LENGTH = 16;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/** The first NAME_HASH_LENGTH hex digits of sha256(identity). */
export function nameHash(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, NAME_HASH_LENGTH);
}

/**
 * `${head}${tail}` when it has at most `max` characters; otherwise the start
 * of `head`, `-`, the hash of `identity`, then `tail` (kept whole: it says
 * what the object is), in exactly `max` characters. The start of `head`
 * loses trailing `.`, `-` and `_`, so a DNS name stays one.
 */
export function fitted(head: string, tail: string, max: number, identity: string): string {
  if (head.length + tail.length <= max) return `${head}${tail}`;
  const room = max - tail.length - NAME_HASH_LENGTH - 1;
  if (room < 1) throw new Error(`internal error: no room for a short form of ${JSON.stringify(head + tail)} in ${max} characters`);
  const start = head.slice(0, room).replace(/[-._]+$/, '');
  return `${start}-${nameHash(identity)}${tail}`;
}

/** Why `name` is not a valid object name (DNS-1123 subdomain), or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `is ${name.length} characters long; a name has at most ${MAX_NAME_LENGTH}`;
  if (!DNS_SUBDOMAIN.test(name)) return 'a name must be lower-case letters, digits, "-" and ".", starting and ending with a letter or digit';
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > MAX_LABEL_VALUE_LENGTH) return `is ${value.length} characters long; a label value has at most ${MAX_LABEL_VALUE_LENGTH}`;
  if (!LABEL_VALUE.test(value)) return 'a label value must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  return undefined;
}

/** Why `key` is not a valid ConfigMap or Secret key, or undefined when it is. */
export function dataKeyProblem(key: string): string | undefined {
  if (key.length > MAX_DATA_KEY_LENGTH) return `is ${key.length} characters long; a key has at most ${MAX_DATA_KEY_LENGTH}`;
  if (!DATA_KEY.test(key) || key === '.' || key === '..') return 'a key must be letters, digits, "-", "_" and ".", and not "." or ".."';
  return undefined;
}

/**
 * `metadata.generateName` for Events about the object `name`: `<name>.` when
 * that fits the API server's 58 characters (it would cut longer ones
 * silently), else a short form of the name (hash suffix) and `.`.
 */
export function eventGenerateName(name: string): string {
  return `${fitted(name, '', MAX_GENERATE_NAME_LENGTH - 1, name)}.`;
}
