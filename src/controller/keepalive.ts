// @kubernetes/client-node 1.x builds a new https.Agent for every API call
// (KubeConfig.applySecurityAuthentication), so every request opens a new TLS
// connection and parses the client certificate and CA again: measured at 47%
// of the operator's CPU when a fleet-wide change rewrites 1,000 outputs
// (bench/RESULTS.md). Requests made through a KubeConfig passed to
// reuseConnections share one keep-alive agent per set of TLS options instead
// (and so do the output writes of direct-requests.ts, through keepAliveAgent).
// Watches are not affected: client-node opens them through
// applyToFetchOptions, one long-lived connection each.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type Apply = KubeConfig['applySecurityAuthentication'];

/** Rotated client certificates get new agents; older ones are closed past this many. */
const MAX_AGENTS = 4;

const agents = new Map<string, https.Agent>();

function tlsKey(o: https.AgentOptions): string {
  return [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized].map((v) => String(v)).join('\u0000');
}

function sharedAgent(agent: https.Agent): https.Agent {
  const key = tlsKey(agent.options);
  let shared = agents.get(key);
  if (shared) return shared;
  shared = new https.Agent({ ...agent.options, keepAlive: true });
  agents.set(key, shared);
  if (agents.size > MAX_AGENTS) {
    const [oldestKey, oldest] = agents.entries().next().value as [string, https.Agent];
    agents.delete(oldestKey);
    oldest.destroy();
  }
  return shared;
}

/** The shared keep-alive agent for the TLS options of `agent` (a plain https.Agent); proxies' agents are kept as they are. */
export function keepAliveAgent(agent: https.Agent): https.Agent {
  return agent.constructor === https.Agent ? sharedAgent(agent) : agent;
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

/** Makes the API clients built from `kc` reuse connections; returns `kc`. */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  kc.applySecurityAuthentication = keepingAlive(KubeConfig.prototype.applySecurityAuthentication);
  return kc;
}

/** Closes the idle connections (at shutdown, so the process can exit without waiting for them). */
export function closeIdleConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}
