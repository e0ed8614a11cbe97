// Where rendered files go on a node and under which ConfigMap/Secret key
// (shared contract). Hosts are validated before the merge; these checks
// repeat the essentials so that no value can ever build a path outside its
// directory, even if validation changes.
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

const HOST_PORT = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?$/;
const KEY = /^[-._a-zA-Z0-9]+$/;

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
  invariant(KEY.test(key) && key !== '.' && key !== '..', `unsafe output key ${JSON.stringify(key)}`);
}

/** A file name inside one directory: no separators, no dot-only names. */
export function assertFileName(name: string): void {
  invariant(/^[-._a-zA-Z0-9]+$/.test(name) && !/^\.+$/.test(name), `unsafe file name ${JSON.stringify(name)}`);
}
