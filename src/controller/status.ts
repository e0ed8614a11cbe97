// The RenderedMirrorConfig of a target: what is published, from which
// objects, what could not be rendered exactly, and the conditions Ready and
// Degraded. Conditions come from a chain of small checks (STYLE.md 3); the
// status is written only when it differs from the stored one.
import type { KubeObject, Target } from '../model/source.js';
import type { Origin, RenderWarning } from '../model/types.js';
import { TARGET_LABEL, targetLabelValue, type RenderedTarget } from '../pipeline.js';
import { conditionsOf, firstProblem, formatTime, sameJSON, setConditions, type Check, type CheckProblem, type Condition } from './conditions.js';
import { RESOURCES, apiVersionOf, type Writer } from './kube.js';
import { ownerReference, type PublishResult } from './outputs.js';
import { describeProblems, type TargetSources } from './reconcile.js';

export const READY = 'Ready';
export const DEGRADED = 'Degraded';

/** Reasons of the Ready condition. */
export const ReadyReason = {
  Rendered: 'Rendered',
  InvalidInputs: 'InvalidInputs',
  RenderFailed: 'RenderFailed',
  OutputTooLarge: 'OutputTooLarge',
} as const;

/**
 * The status lists at most this many warnings (they are sorted, so the same
 * ones every time) and counts all of them in warningCount: a large target
 * has tens of thousands, and a status past the API server's request limit
 * could not be written at all. `image-mirror render` prints every one.
 */
export const MAX_STATUS_WARNINGS = 100;

/** Reason of Degraded=False; Degraded=True takes the reason of the first problem (InvalidSource, PolicyConflict...). */
export const NOT_DEGRADED = 'AsExpected';

export interface Contributor {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  generation?: number;
  uid?: string;
  location?: string;
}

export interface StatusWarning {
  code: string;
  renderer: string;
  source: string;
  mirror?: string;
  message: string;
}

export interface TargetStatus {
  observedGeneration?: number;
  contentHash?: string;
  outputs?: { configMap: string; secret?: string };
  sources?: number;
  contributors?: Contributor[];
  warnings?: StatusWarning[];
  warningCount?: number;
  lastRenderedTime?: string;
  conditions: Condition[];
}

export interface TargetStatusInput {
  target: Target;
  rendered: RenderedTarget;
  published: PublishResult | undefined;
  existing: KubeObject | undefined;
  now: () => Date;
}

/** The checks whose first failure makes a target Degraded. */
export const TARGET_CHECKS: readonly Check<RenderedTarget>[] = [
  // Inputs that could not be read or validated (gather).
  (r) => problemOf(r.gathered.problems),
  // Inputs that are valid alone but conflict, or a render that failed (merge, render).
  (r) => (r.outcome.ok ? undefined : problemOf(r.outcome.errors)),
];

function problemOf(problems: RenderedTarget['gathered']['problems']): CheckProblem | undefined {
  const first = problems[0];
  return first ? { reason: first.reason, message: describeProblems(problems) } : undefined;
}

export function statusNamespace(t: Target, operatorNamespace: string): string {
  return t.kind === 'Cluster' ? operatorNamespace : t.namespace;
}

export function statusName(t: Target): string {
  return t.kind === 'Cluster' ? 'cluster' : t.name;
}

/** Fields that describe the published output; kept as they are while the inputs are invalid. */
const OUTPUT_FIELDS = ['contentHash', 'outputs', 'sources', 'contributors', 'warnings', 'warningCount', 'lastRenderedTime'] as const;

export function buildTargetStatus(input: TargetStatusInput): TargetStatus {
  const { rendered, published, existing, now } = input;
  const prev = (existing?.status ?? {}) as Partial<TargetStatus>;
  // The spec is immutable, so the generation stays 1 unless someone edits metadata-level fields.
  const generation = existing?.metadata.generation ?? 1;
  const problem = firstProblem(rendered, TARGET_CHECKS);
  if (!problem && rendered.outcome.ok && published) {
    const { model, output } = rendered.outcome;
    const status: TargetStatus = {
      observedGeneration: generation,
      contentHash: published.hash,
      outputs: published.secret ? { configMap: published.configMap, secret: published.secret } : { configMap: published.configMap },
      sources: model.rules.length,
      contributors: model.contributors.map(contributorOf),
      warnings: output.warnings.slice(0, MAX_STATUS_WARNINGS).map(warningOf),
      warningCount: output.warnings.length,
      lastRenderedTime: prev.contentHash === published.hash && prev.lastRenderedTime ? prev.lastRenderedTime : formatTime(now()),
      conditions: [],
    };
    const message = `ConfigMap ${published.configMap}${published.secret ? ` and Secret ${published.secret}` : ''} hold the current inputs (${model.rules.length} registry entries, ${output.warnings.length} warnings)`;
    status.conditions = setConditions(
      conditionsOf(prev),
      [
        { type: READY, status: 'True', reason: ReadyReason.Rendered, message },
        { type: DEGRADED, status: 'False', reason: NOT_DEGRADED, message: 'inputs are valid' },
      ],
      generation,
      now,
    );
    return status;
  }
  return degradedStatus(prev, problem ?? { reason: 'InternalError', message: 'internal error: no output and no problem' }, generation, now);
}

function degradedStatus(prev: Partial<TargetStatus>, problem: CheckProblem, generation: number, now: () => Date): TargetStatus {
  const status: TargetStatus = { observedGeneration: generation, conditions: [] };
  for (const f of OUTPUT_FIELDS) if (prev[f] !== undefined) Object.assign(status, { [f]: prev[f] });
  const kept = prev.contentHash ? `the last good output (${prev.contentHash}) is kept` : 'nothing has been published';
  const [readyReason, why] =
    problem.reason === 'InternalError'
      ? [ReadyReason.RenderFailed, 'rendering failed']
      : problem.reason === 'OutputTooLarge'
        ? [ReadyReason.OutputTooLarge, 'the output does not fit in a ConfigMap or Secret']
        : [ReadyReason.InvalidInputs, 'inputs are invalid'];
  status.conditions = setConditions(
    conditionsOf(prev),
    [
      { type: READY, status: 'False', reason: readyReason, message: `${why}; ${kept}` },
      { type: DEGRADED, status: 'True', reason: problem.reason, message: problem.message },
    ],
    generation,
    now,
  );
  return status;
}

function contributorOf(o: Origin): Contributor {
  const c: Contributor = { apiVersion: o.apiVersion, kind: o.kind, name: o.name };
  if (o.namespace) c.namespace = o.namespace;
  if (o.generation !== undefined) c.generation = o.generation;
  if (o.uid) c.uid = o.uid;
  if (o.location) c.location = o.location;
  return c;
}

function warningOf(w: RenderWarning): StatusWarning {
  const s: StatusWarning = { code: w.code, renderer: w.renderer, source: w.source, message: w.message };
  if (w.mirror) s.mirror = w.mirror;
  return s;
}

/** True when the stored status already is `status`: nothing to write. */
export function statusUnchanged(existing: KubeObject | undefined, status: TargetStatus): boolean {
  return existing !== undefined && sameJSON(existing.status ?? {}, status);
}

/** Creates the RenderedMirrorConfig when missing; writes its status when it changed. True when something was written. */
export async function writeTargetStatus(
  deps: { writer: Writer; operatorNamespace: string; sources: Pick<TargetSources, 'recordWrite'> },
  target: Target,
  existing: KubeObject | undefined,
  status: TargetStatus,
  owner: KubeObject | undefined,
): Promise<boolean> {
  if (statusUnchanged(existing, status)) return false;
  const [ns, name] = [statusNamespace(target, deps.operatorNamespace), statusName(target)];
  let obj = existing;
  if (!obj) {
    obj = await deps.writer.createCustom(RESOURCES.RenderedMirrorConfig, newStatusObject(target, deps.operatorNamespace, owner));
    deps.sources.recordWrite('RenderedMirrorConfig', ns, name, undefined, obj);
  }
  const stored = await deps.writer.replaceStatus(RESOURCES.RenderedMirrorConfig, { ...obj, status });
  deps.sources.recordWrite('RenderedMirrorConfig', ns, name, obj, stored);
  return true;
}

function newStatusObject(target: Target, operatorNamespace: string, owner: KubeObject | undefined): KubeObject {
  const metadata: KubeObject['metadata'] & { ownerReferences?: unknown[] } = {
    name: statusName(target),
    namespace: statusNamespace(target, operatorNamespace),
    labels: { [TARGET_LABEL]: targetLabelValue(target) },
  };
  if (owner) metadata.ownerReferences = [ownerReference(owner)];
  const spec = target.kind === 'Cluster' ? { target: { kind: 'Cluster' } } : { target: { kind: 'NodePool', namespace: target.namespace, name: target.name } };
  return { apiVersion: apiVersionOf(RESOURCES.RenderedMirrorConfig), kind: RESOURCES.RenderedMirrorConfig.kind, metadata, spec };
}
