// What the agent tells people after each pass: a Node condition, Events on
// the Node and the applied-hash annotation. Deciding what to say is pure
// (conditionFor, eventsFor); NodeReporter only writes it, and only when it
// changed, so a resync every few minutes costs no API writes.
import { eventGenerateName } from '../common/names.js';
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node, type V1NodeCondition } from '@kubernetes/client-node';
import { APPLIED_HASH_ANNOTATION, NODE_CONDITION_TYPE } from '../contract.js';
import type { ContainerdCheck } from './containerd-check.js';
import type { SyncResult } from './sync.js';
import type { AgentTarget } from './target.js';

export const COMPONENT = 'image-mirror-agent';

export const CONDITION_REASONS = [
  'Applied',
  'InvalidConfig',
  'ApplyFailed',
  'ForeignFiles',
  'ContainerdConfigPathNotSet',
  'ContainerdConfigPathMismatch',
  'ContainerdConfigPathListIgnored',
  'ContainerdConfigNotFound',
  'ContainerdConfigInvalid',
] as const;
export type ConditionReason = (typeof CONDITION_REASONS)[number];

export const EVENT_REASONS = [
  'MirrorConfigApplied',
  'MirrorConfigInvalid',
  'MirrorConfigApplyFailed',
  'ForeignFileSkipped',
  'ContainerdNotReadingMirrors',
] as const;
export type EventReason = (typeof EVENT_REASONS)[number];

export interface Outcome {
  target: AgentTarget;
  sync: SyncResult;
  /** Absent when the check is disabled (no containerd on the node). */
  containerd?: ContainerdCheck | undefined;
  contentHash?: string | undefined;
  /** Steps after the files that failed: the report to the Node, the CRI-O reload command. */
  followUpFailures?: string[];
}

export interface ConditionView {
  status: 'True' | 'False' | 'Unknown';
  reason: ConditionReason;
  message: string;
}

export interface EventView {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

const CONTAINERD_REASON: Record<ContainerdCheck['reason'], ConditionReason> = {
  ConfigPathSet: 'Applied',
  ConfigPathDefault: 'Applied',
  ConfigPathNotSet: 'ContainerdConfigPathNotSet',
  ConfigPathListIgnored: 'ContainerdConfigPathListIgnored',
  ConfigPathMismatch: 'ContainerdConfigPathMismatch',
  ConfigNotFound: 'ContainerdConfigNotFound',
  ConfigInvalid: 'ContainerdConfigInvalid',
};

/** The node condition for an outcome: the first problem found wins. */
export function conditionFor(o: Outcome): ConditionView {
  const from = `ConfigMap ${o.target.namespace}/${o.target.name}`;
  if (!o.sync.ok)
    return { status: 'False', reason: 'InvalidConfig', message: `not applied, previous files kept: ${o.sync.errors.map((e) => e.message).join('; ')}` };
  const r = o.sync.report;
  if (r.errors.length > 0) return { status: 'False', reason: 'ApplyFailed', message: r.errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
  if (r.foreign.length > 0) {
    return {
      status: 'False',
      reason: 'ForeignFiles',
      message: `files not managed by image-mirror left in place: ${r.foreign.map((f) => `${f.path} (${f.why})`).join('; ')}`,
    };
  }
  if (o.containerd && o.containerd.status !== 'True') {
    return { status: o.containerd.status, reason: CONTAINERD_REASON[o.containerd.reason], message: o.containerd.message };
  }
  const files = o.sync.plan.writes.length;
  const hash = o.contentHash ? ` (content hash ${o.contentHash})` : '';
  return { status: 'True', reason: 'Applied', message: `${files} file(s) from ${from} installed${hash}` };
}

/** Events worth emitting for an outcome; the reporter drops repeats. */
export function eventsFor(o: Outcome): EventView[] {
  if (!o.sync.ok) {
    return [{ type: 'Warning', reason: 'MirrorConfigInvalid', message: o.sync.errors.map((e) => e.message).join('; ') }];
  }
  const r = o.sync.report;
  const out: EventView[] = [];
  if (o.sync.changed) {
    const parts = [
      r.written.length ? `wrote ${r.written.join(', ')}` : '',
      r.modeFixed.length ? `fixed mode of ${r.modeFixed.join(', ')}` : '',
      r.removed.length ? `removed ${r.removed.join(', ')}` : '',
    ].filter(Boolean);
    const hash = o.contentHash ? ` (content hash ${o.contentHash})` : '';
    out.push({ type: 'Normal', reason: 'MirrorConfigApplied', message: `${parts.join('; ') || 'cleaned up directories'}${hash}` });
  }
  if (r.errors.length) out.push({ type: 'Warning', reason: 'MirrorConfigApplyFailed', message: r.errors.map((e) => `${e.path}: ${e.message}`).join('; ') });
  for (const f of r.foreign) out.push({ type: 'Warning', reason: 'ForeignFileSkipped', message: `${f.path} ${f.why}: left in place, not managed` });
  if (o.containerd?.status === 'False') out.push({ type: 'Warning', reason: 'ContainerdNotReadingMirrors', message: o.containerd.message });
  return out;
}

/** Kubernetes limits messages; keep the start, which names the object. */
function clip(s: string, max = 1000): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** Writes conditions, events and the annotation for one node. */
export class NodeReporter {
  /** Last message per warning reason, so a resync does not repeat warnings. */
  private readonly lastEvent = new Map<EventReason, string>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly nodeName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async report(o: Outcome): Promise<void> {
    const node = await this.core.readNode({ name: this.nodeName });
    await this.setCondition(node, conditionFor(o));
    const applied = o.sync.ok && o.sync.report.errors.length === 0 && o.contentHash;
    if (applied) await this.setAppliedHash(node, o.contentHash as string);
    const events = eventsFor(o);
    // A warning that cleared may come back later: report it again then.
    for (const reason of [...this.lastEvent.keys()]) if (!events.some((e) => e.reason === reason)) this.lastEvent.delete(reason);
    for (const e of events) await this.emit(node, e);
  }

  private async setCondition(node: V1Node, c: ConditionView): Promise<void> {
    const current = node.status?.conditions?.find((x) => x.type === NODE_CONDITION_TYPE);
    const message = clip(c.message);
    if (current && current.status === c.status && current.reason === c.reason && current.message === message) return;
    const now = this.now();
    const condition: V1NodeCondition = {
      type: NODE_CONDITION_TYPE,
      status: c.status,
      reason: c.reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: (current && current.status === c.status ? current.lastTransitionTime : undefined) ?? now,
    };
    // Strategic merge keys node conditions by type: the kubelet's own stay untouched.
    await this.core.patchNodeStatus(
      { name: this.nodeName, body: { status: { conditions: [condition] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  }

  private async setAppliedHash(node: V1Node, hash: string): Promise<void> {
    if (node.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] === hash) return;
    await this.core.patchNode(
      { name: this.nodeName, body: { metadata: { annotations: { [APPLIED_HASH_ANNOTATION]: hash } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async emit(node: V1Node, e: EventView): Promise<void> {
    const message = clip(e.message);
    if (e.type === 'Warning') {
      if (this.lastEvent.get(e.reason) === message) return;
      this.lastEvent.set(e.reason, message);
    }
    const now = this.now();
    // Node events live in "default", as the kubelet's do.
    await this.core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { generateName: eventGenerateName(this.nodeName), namespace: 'default' },
        involvedObject: { apiVersion: 'v1', kind: 'Node', name: this.nodeName, ...(node.metadata?.uid ? { uid: node.metadata.uid } : {}) },
        type: e.type,
        reason: e.reason,
        message,
        source: { component: COMPONENT, host: this.nodeName },
        reportingComponent: `imagemirror.io/${COMPONENT}`,
        reportingInstance: this.nodeName,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}
