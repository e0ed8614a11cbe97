// How the operator and the agent name themselves to the API server. Every
// request carries the user agent `image-mirror/<version> (<component>)`
// (audit logs, API priority and fairness), and every write (create, update,
// patch) the field manager of the component, so that managedFields and
// server-side apply conflicts name image-mirror, not the client library's
// default (`node-fetch`). Both are set on the KubeConfig the clients are
// built from, so no request and no write can go out without them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';

export type Component = 'controller' | 'agent' | 'cli';

/** Field manager of each component's writes. */
export const FIELD_MANAGERS: Record<Component, string> = {
  controller: 'image-mirror',
  agent: 'image-mirror-agent',
  cli: 'image-mirror-cli',
};

let cachedVersion: string | undefined;

/** The version in the project's package.json (found upwards from this module, as in the image and the repository). */
export function version(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0-unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'image-mirror' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // no package.json here: look further up
    }
    dir = dirname(dir);
  }
  return cachedVersion;
}

export function userAgent(component: Component): string {
  return `image-mirror/${version()} (${component})`;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/** Field managers of the KubeConfigs identifyAs was given, for requests made without client-node's API clients. */
const managers = new WeakMap<KubeConfig, string>();

/**
 * The field manager writes through `kc` carry (undefined when identifyAs was
 * not called on it): requests built from applyToFetchOptions, which carries
 * the user agent but cannot add a query parameter, append it themselves
 * (direct-requests.ts).
 */
export function fieldManagerOf(kc: KubeConfig): string | undefined {
  return managers.get(kc);
}

type ApplyFetch = KubeConfig['applyToFetchOptions'];
type ApplyAuth = KubeConfig['applySecurityAuthentication'];

/**
 * Makes every request made through `kc` carry the component's user agent,
 * and every write its field manager (unless the call names one). Covers the
 * API clients (applySecurityAuthentication) and watches
 * (applyToFetchOptions). It wraps the methods `kc` has now: call it
 * after reuseConnections (keepalive.ts), which replaces one of them.
 * Returns `kc`.
 */
export function identifyAs(kc: KubeConfig, component: Component): KubeConfig {
  const agent = userAgent(component);
  const manager = FIELD_MANAGERS[component];
  managers.set(kc, manager);
  const applyFetch: ApplyFetch = kc.applyToFetchOptions.bind(kc);
  kc.applyToFetchOptions = (opts) => applyFetch({ ...opts, headers: { ...(opts.headers ?? {}), 'User-Agent': agent } });
  const applyAuth: ApplyAuth = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await applyAuth(context);
    context.setHeaderParam('User-Agent', agent);
    if (WRITES.has(String(context.getHttpMethod())) && !new URL(context.getUrl()).searchParams.has('fieldManager')) {
      context.setQueryParam('fieldManager', manager);
    }
  };
  return kc;
}
