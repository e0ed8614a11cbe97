// The keep-alive floor client reuses connections the same way the operator
// does (src/controller/keepalive.ts).
import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../src/controller/keepalive.js';

/** A copy of `kc` whose API clients reuse connections. */
export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  return reuseConnections(copy);
}
