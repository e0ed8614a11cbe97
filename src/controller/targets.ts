// Target identities inside the controller: the queue, the reference index
// and the messages of object statuses name a target by its id.
import type { Target } from '../model/source.js';

/** `cluster` or `np:<namespace>/<name>`. */
export function targetId(t: Target): string {
  return t.kind === 'Cluster' ? 'cluster' : `np:${t.namespace}/${t.name}`;
}

/** A target id for messages: `the cluster target` or `NodePool ns/name`. */
export function describeTarget(id: string): string {
  return id === 'cluster' ? 'the cluster target' : `NodePool ${id.replace(/^np:/, '')}`;
}
