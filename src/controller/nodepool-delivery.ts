// How a NodePool target's output reaches its nodes (docs/hypershift.md):
// the operator-wide options for NodePool targets, and what about a NodePool
// must queue its target again although its generation did not change.
import { AGENT_FILES_ANNOTATION, type AgentFiles, DEFAULT_AGENT_FILES } from '../render/agent-files.js';
import type { KubeObject } from '../model/source.js';

/** Options for NodePool targets (`image-mirror controller --nodepool-*`). */
export interface NodePoolOptions {
  /** Node files besides `config` (a NodePool's `imagemirror.io/agent-files` annotation overrides it). */
  agentFiles: AgentFiles;
}

export const DEFAULT_NODEPOOL_OPTIONS: NodePoolOptions = { agentFiles: DEFAULT_AGENT_FILES };

/**
 * Annotations and status of a NodePool that change what its target renders
 * or reports; metadata and status changes do not bump the generation.
 */
export function deliveryFingerprint(np: KubeObject): string {
  const a = np.metadata.annotations ?? {};
  return JSON.stringify([a[AGENT_FILES_ANNOTATION] ?? '']);
}
