// Writes the probe results to the Node: condition ImageMirrorsReachable, the
// summary annotation (only when it changed) and Events on transitions. The
// condition's lastTransitionTime moves only when its status does.
import { eventGenerateName } from '../../common/names.js';
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1NodeCondition } from '@kubernetes/client-node';
import { COMPONENT } from '../report.js';
import { MIRROR_PROBES_ANNOTATION as PROBE_ANNOTATION } from '../../contract.js';
import { conditionOf, PROBE_CONDITION, transitions, type NodeProbeSummary } from './summary.js';

export class ProbeReporter {
  /** The summary last written, to find transitions; read back from the Node at start. */
  private last: NodeProbeSummary | undefined;
  private loaded = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly nodeName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async report(summary: NodeProbeSummary): Promise<void> {
    const node = await this.core.readNode({ name: this.nodeName });
    const text = JSON.stringify(summary);
    const stored = node.metadata?.annotations?.[PROBE_ANNOTATION];
    if (!this.loaded) {
      this.loaded = true;
      this.last = parseSummary(stored);
    }
    const events = transitions(this.last, summary);
    if (stored !== text) {
      await this.core.patchNode(
        { name: this.nodeName, body: { metadata: { annotations: { [PROBE_ANNOTATION]: text } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    const c = conditionOf(summary);
    const current = node.status?.conditions?.find((x) => x.type === PROBE_CONDITION);
    if (!current || current.status !== c.status || current.reason !== c.reason || current.message !== c.message) {
      const now = this.now();
      const condition: V1NodeCondition = {
        type: PROBE_CONDITION,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastHeartbeatTime: now,
        lastTransitionTime: (current && current.status === c.status ? current.lastTransitionTime : undefined) ?? now,
      };
      await this.core.patchNodeStatus(
        { name: this.nodeName, body: { status: { conditions: [condition] } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    }
    for (const e of events) {
      const now = this.now();
      await this.core.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: eventGenerateName(this.nodeName), namespace: 'default' },
          involvedObject: { apiVersion: 'v1', kind: 'Node', name: this.nodeName, ...(node.metadata?.uid ? { uid: node.metadata.uid } : {}) },
          type: e.type,
          reason: e.reason,
          message: e.message.slice(0, 1000),
          source: { component: COMPONENT, host: this.nodeName },
          reportingComponent: `imagemirror.io/${COMPONENT}`,
          reportingInstance: this.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    }
    this.last = summary;
  }
}

/** The annotation as the controller reads it; undefined when absent or not a version 1 summary. */
export function parseSummary(text: string | undefined): NodeProbeSummary | undefined {
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as NodeProbeSummary;
    return s.version === 1 && Array.isArray(s.mirrors) ? s : undefined;
  } catch {
    return undefined;
  }
}
