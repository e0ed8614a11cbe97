// Where rendered files go on a node and under which ConfigMap/Secret key
// (shared contract). Hosts are validated before the merge; these checks
// repeat the essentials so that no value can ever build a path outside its
// directory, even if validation changes.
import { createHash } from 'node:crypto';
import { invariant } from './errors.js';

export const REGISTRIES_CONF_KEY = 'registries.conf';
export const REGISTRIES_CONF_PATH = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
export const CONTAINERD_CERTS_DIR = '/etc/containerd/certs.d';
export const CONTAINERS_CERTS_DIR = '/etc/containers/certs.d';
export const AUTH_JSON_KEY = 'containers.auth.json';
export const AUTH_JSON_PATH = '/etc/containers/auth.json';
export const DEFAULT_DIR = '_default';

export const PUBLIC_MODE = 0o644;
export const SECRET_MODE = 0o600;

/** Kubernetes' limit on a ConfigMap or Secret key, which must also match `[-._a-zA-Z0-9]+`. */
export const MAX_KEY_LENGTH = 253;
/** Linux NAME_MAX: the longest name of one file or directory. */
export const MAX_FILE_NAME_LENGTH = 255;

const HOST_PORT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?$/;
const KEY = /^[-._a-zA-Z0-9]+$/;
const HASH_LENGTH = 16;

/**
 * `name` itself when it has at most `max` characters; otherwise a stable
 * short form, as Kubernetes' own controllers shorten generated names: the
 * start of `name`, a hash of `identity` (64 bits: distinct identities never
 * meet in practice) and the extension of `name`, so that `.toml`, `.crt` and
 * `.key` still say what the file is.
 */
export function fitName(name: string, max: number, identity: string = name): string {
  if (name.length <= max) return name;
  const ext = /\.[a-z]{1,8}$/.exec(name)?.[0] ?? '';
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, HASH_LENGTH);
  return `${name.slice(0, max - HASH_LENGTH - 1 - ext.length)}-${hash}${ext}`;
}

/**
 * The ConfigMap/Secret key of a node file: `wanted` (`containerd.<dir>.<file>`)
 * when Kubernetes accepts it, else its short form keyed by the node path,
 * which is unique per target. Keys only need to be unique: files.json maps
 * each one to its path, so the node path stays exactly what the consumer reads.
 */
export function keyFor(wanted: string, path: string): string {
  return fitName(wanted, MAX_KEY_LENGTH, path);
}

/** Asserts `host[:port]` cannot name anything but one directory. */
export function assertHostPort(hostPort: string): void {
  invariant(HOST_PORT.test(hostPort) && !hostPort.includes('..'), `unsafe registry host ${JSON.stringify(hostPort)}`);
}

/**
 * containerd's directory for a registry host: `host`, or `host_port_` for
 * `host:port` (containerd 1.6+ looks for that form first; it is also a
 * valid ConfigMap key, which `:` is not).
 */
export function hostDir(hostPort: string): string {
  assertHostPort(hostPort);
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? hostPort : `${hostPort.slice(0, colon)}_${hostPort.slice(colon + 1)}_`;
}

export function assertKey(key: string): void {
  invariant(KEY.test(key) && key !== '.' && key !== '..' && key.length <= MAX_KEY_LENGTH, `unsafe output key ${JSON.stringify(key)}`);
}

/** A file name inside one directory: no separators, no dot-only names, within NAME_MAX. */
export function assertFileName(name: string): void {
  invariant(/^[-._a-zA-Z0-9]+$/.test(name) && !/^\.+$/.test(name) && name.length <= MAX_FILE_NAME_LENGTH, `unsafe file name ${JSON.stringify(name)}`);
}
