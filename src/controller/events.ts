// core/v1 Events about targets and our objects. Messages come from
// conditions, which name objects, fields and reasons: never Secret data.
// An Event about a target goes to its NodePool (or the object a problem
// names) and to its RenderedMirrorConfig as well.
import type { CoreV1Event } from '@kubernetes/client-node';
import { statusCode } from '../common/api-errors.js';
import { eventGenerateName } from '../common/names.js';
import { statusName, targetNamespace } from '../contract.js';
import { OUR_API_VERSION } from '../model/kinds.js';
import type { KubeObject, Target } from '../model/source.js';
import type { RenderedTarget } from '../pipeline.js';
import { apiVersionOf, RESOURCES, type Writer } from './kube.js';
import type { EventReason } from './reasons.js';

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
  reason: EventReason;
  message: string;
}

/** What an Event says, before it is attached to an object. */
export type EventText = Pick<EventSpec, 'type' | 'reason' | 'message'>;

/** Events about cluster-scoped objects must live here (as kubectl and client-go record them). */
export const CLUSTER_EVENT_NAMESPACE = 'default';

/** The API limits Event messages to 1 KiB. */
const MAX_MESSAGE = 1024;

/**
 * The object an event about a target is attached to: its NodePool; for the
 * cluster target, our object named by the first problem, else the target's
 * RenderedMirrorConfig.
 */
export function eventFor(target: Target, rendered: RenderedTarget, operatorNamespace: string, text: EventText): EventSpec {
  const np = rendered.gathered.nodePool;
  if (target.kind === 'NodePool' && np) return { involved: involvedOf(np), namespace: target.namespace, ...text };
  const first = rendered.outcome.ok ? undefined : rendered.outcome.errors.find((p) => p.origin?.apiVersion === OUR_API_VERSION && !p.origin.namespace);
  if (first?.origin && !first.origin.location) {
    const o = first.origin;
    const involved: InvolvedObject = { apiVersion: o.apiVersion, kind: o.kind, name: o.name };
    if (o.uid) involved.uid = o.uid;
    return { involved, namespace: CLUSTER_EVENT_NAMESPACE, ...text };
  }
  const involved = statusInvolved(target, operatorNamespace);
  return { involved, namespace: involved.namespace ?? operatorNamespace, ...text };
}

/** A target's RenderedMirrorConfig as an Event's object (the uid is added once the object is stored: withStatusUid). */
export function statusInvolved(target: Target, operatorNamespace: string): InvolvedObject {
  const rmc = RESOURCES.RenderedMirrorConfig;
  return { apiVersion: apiVersionOf(rmc), kind: rmc.kind, name: statusName(target), namespace: targetNamespace(target, operatorNamespace) };
}

/**
 * The Events about a target: the one of eventFor, and the same on the
 * target's RenderedMirrorConfig when that is not already its object, so
 * that `kubectl describe rmc` tells the whole story too.
 */
export function eventsFor(target: Target, rendered: RenderedTarget, operatorNamespace: string, text: EventText): EventSpec[] {
  const first = eventFor(target, rendered, operatorNamespace, text);
  const rmc = statusInvolved(target, operatorNamespace);
  if (isStatusObject(first.involved, rmc)) return [first];
  return [first, { involved: rmc, namespace: rmc.namespace ?? operatorNamespace, ...text }];
}

/** Events whose object is the RenderedMirrorConfig `status` get its uid (kubectl describe selects Events by uid). */
export function withStatusUid(events: readonly EventSpec[], status: KubeObject | undefined): EventSpec[] {
  const uid = status?.metadata.uid;
  if (!status || !uid) return [...events];
  const rmc: InvolvedObject = { apiVersion: status.apiVersion, kind: status.kind, name: status.metadata.name, namespace: status.metadata.namespace ?? '' };
  return events.map((e) => (isStatusObject(e.involved, rmc) && !e.involved.uid ? { ...e, involved: { ...e.involved, uid } } : e));
}

function isStatusObject(i: InvolvedObject, rmc: InvolvedObject): boolean {
  return i.kind === rmc.kind && i.apiVersion === rmc.apiVersion && i.name === rmc.name && i.namespace === rmc.namespace;
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
    metadata: { generateName: eventGenerateName(e.involved.name), namespace: e.namespace },
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

/** An Event this replica created, and how often it has counted it. */
interface Recorded {
  namespace: string;
  name: string;
  count: number;
}

/**
 * Records Events as client-go's recorder does: a repeat of an Event this
 * instance recorded (same object, type, reason and message) raises its
 * `count` and `lastTimestamp` instead of creating another one; if the
 * Event has expired meanwhile (the API server keeps them an hour), a new
 * one is created. Remembers the last `size` Events.
 */
export class EventRecorder {
  private readonly recorded = new Map<string, Recorded>();

  constructor(
    private readonly writer: Pick<Writer, 'createEvent' | 'patchEventCount'>,
    private readonly instance: string,
    private readonly now: () => Date,
    private readonly size = 4096,
  ) {}

  async record(e: EventSpec): Promise<void> {
    const i = e.involved;
    const key = JSON.stringify([e.namespace, i.apiVersion, i.kind, i.namespace, i.name, i.uid, e.type, e.reason, e.message]);
    const now = this.now();
    const known = this.recorded.get(key);
    if (known) {
      this.recorded.delete(key);
      try {
        await this.writer.patchEventCount(known.namespace, known.name, known.count + 1, now);
        this.remember(key, { ...known, count: known.count + 1 });
        return;
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    }
    const name = await this.writer.createEvent(toEvent(e, this.instance, now));
    if (name) this.remember(key, { namespace: e.namespace, name, count: 1 });
  }

  private remember(key: string, v: Recorded): void {
    this.recorded.set(key, v);
    if (this.recorded.size > this.size) this.recorded.delete(this.recorded.keys().next().value as string);
  }
}
