// @kubernetes/client-node 1.x builds a new https.Agent for every API call
// (KubeConfig.applySecurityAuthentication), so every request opens a new TLS
// connection and parses the client certificate again. This swaps in one
// keep-alive agent per set of TLS options: for the floor client, and (via
// keepalive-preload.ts) to measure the operator with the same change.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type Apply = KubeConfig['applySecurityAuthentication'];

const agents = new Map<string, https.Agent>();

function sharedAgent(agent: https.Agent): https.Agent {
  const o = agent.options;
  const key = [o.ca, o.cert, o.key, o.pfx, o.servername, o.rejectUnauthorized].map((v) => String(v)).join('\u0000');
  let shared = agents.get(key);
  if (!shared) {
    shared = new https.Agent({ ...o, keepAlive: true });
    agents.set(key, shared);
  }
  return shared;
}

/** Wraps an applySecurityAuthentication so that the request uses a shared keep-alive agent. */
export function keepingAlive(apply: Apply): Apply {
  return async function (this: KubeConfig, context) {
    await apply.call(this, context);
    const agent = context.getAgent();
    // Proxies and plain HTTP keep what client-node chose.
    if (agent instanceof https.Agent && agent.constructor === https.Agent) context.setAgent(sharedAgent(agent));
  };
}

/** A copy of `kc` whose API clients reuse connections. */
export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  copy.applySecurityAuthentication = keepingAlive(KubeConfig.prototype.applySecurityAuthentication);
  return copy;
}

/** Every KubeConfig in this process reuses connections (used by keepalive-preload.ts). */
export function installKeepAlive(): void {
  KubeConfig.prototype.applySecurityAuthentication = keepingAlive(KubeConfig.prototype.applySecurityAuthentication);
}
