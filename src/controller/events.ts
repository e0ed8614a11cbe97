// core/v1 Events about targets and our objects. Messages come from
// conditions, which name objects, fields and reasons: never Secret data.
import type { CoreV1Event } from '@kubernetes/client-node';
import { OUR_API_VERSION } from '../model/kinds.js';
import type { KubeObject, Target } from '../model/source.js';
import type { RenderedTarget } from '../pipeline.js';
import { RESOURCES, apiVersionOf } from './kube.js';
import { statusName, statusNamespace } from './status.js';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventSpec {
  involved: InvolvedObject;
  /** Where the Event is stored: the object's namespace; `default` for cluster-scoped objects (the API server requires it). */
  namespace: string;
  type: EventType;
  reason: string;
  message: string;
}

/** Events about cluster-scoped objects must live here (as kubectl and client-go record them). */
export const CLUSTER_EVENT_NAMESPACE = 'default';

/** The API limits Event messages to 1 KiB. */
const MAX_MESSAGE = 1024;

/**
 * The object an event about a target is attached to: its NodePool; for the
 * cluster target, our object named by the first problem, else the target's
 * RenderedMirrorConfig.
 */
export function eventFor(
  target: Target,
  rendered: RenderedTarget,
  operatorNamespace: string,
  type: EventType,
  reason: string,
  message: string,
): EventSpec {
  const np = rendered.gathered.nodePool;
  if (target.kind === 'NodePool' && np) return { involved: involvedOf(np), namespace: target.namespace, type, reason, message };
  const first = rendered.outcome.ok ? undefined : rendered.outcome.errors.find((p) => p.origin?.apiVersion === OUR_API_VERSION && !p.origin.namespace);
  if (first?.origin && !first.origin.location) {
    const o = first.origin;
    const involved: InvolvedObject = { apiVersion: o.apiVersion, kind: o.kind, name: o.name };
    if (o.uid) involved.uid = o.uid;
    return { involved, namespace: CLUSTER_EVENT_NAMESPACE, type, reason, message };
  }
  const rmc = RESOURCES.RenderedMirrorConfig;
  const involved = { apiVersion: apiVersionOf(rmc), kind: rmc.kind, name: statusName(target), namespace: statusNamespace(target, operatorNamespace) };
  return { involved, namespace: involved.namespace, type, reason, message };
}

export function involvedOf(obj: KubeObject): InvolvedObject {
  const i: InvolvedObject = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) i.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) i.uid = obj.metadata.uid;
  return i;
}

/** The Event object; `instance` identifies this operator replica. */
export function toEvent(e: EventSpec, instance: string, now: Date): CoreV1Event {
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE - 3)}...` : e.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${e.involved.name}.`, namespace: e.namespace },
    involvedObject: { ...e.involved },
    type: e.type,
    reason: e.reason,
    message,
    source: { component: 'image-mirror-controller' },
    reportingComponent: 'imagemirror.io/controller',
    reportingInstance: instance.slice(0, 128),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
