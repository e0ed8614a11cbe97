// Which published output a node installs. Pure: node labels and flags in,
// object names out (names from the shared contract, src/contract.ts).
import { CLUSTER_OUTPUT_NAME, NODEPOOL_LABEL, nodePoolOutputName } from '../contract.js';

export interface TargetFlags {
  /** Namespace of the cluster-wide output (the operator namespace). */
  namespace: string;
  /** Namespace of NodePool outputs; defaults to `namespace`. */
  nodePoolNamespace?: string | undefined;
  /** Forces the ConfigMap (and Secret) name, in `namespace`. */
  configMap?: string | undefined;
}

export interface AgentTarget {
  namespace: string;
  /** Name of both the ConfigMap and the Secret. */
  name: string;
  /** Why this output, for the log. */
  why: string;
}

export function resolveTarget(labels: Readonly<Record<string, string>> | undefined, flags: TargetFlags): AgentTarget {
  const pool = labels?.[NODEPOOL_LABEL];
  if (flags.configMap) return { namespace: flags.namespace, name: flags.configMap, why: 'named by --configmap' };
  if (pool) {
    return {
      namespace: flags.nodePoolNamespace ?? flags.namespace,
      name: nodePoolOutputName(pool),
      why: `node label ${NODEPOOL_LABEL}=${pool}`,
    };
  }
  return { namespace: flags.namespace, name: CLUSTER_OUTPUT_NAME, why: `no ${NODEPOOL_LABEL} label: cluster-wide output` };
}
