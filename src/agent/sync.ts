// One pass of the agent over the files: read its state, plan from the
// published objects, apply only a valid plan. Shared by the watch loop and
// `--once`, and the unit of the apply tests.
import { applyPlan, changed, type ApplyReport } from './apply.js';
import { computePlan, type AllowedRoot, type Plan, type PlanError } from './plan.js';
import { loadState } from './state.js';

export interface Published {
  /** `ConfigMap ns/name` and `Secret ns/name`, for messages. */
  configMapRef: string;
  secretRef: string;
  /** undefined when the object does not exist. */
  configMapData: Readonly<Record<string, string>> | undefined;
  /** Decoded; undefined when the Secret does not exist. */
  secretData: Readonly<Record<string, string>> | undefined;
  /** The ConfigMap's `imagemirror.io/content-hash` annotation. */
  contentHash?: string | undefined;
}

export interface SyncOptions {
  root: string;
  statePath: string;
  allowedRoots: readonly AllowedRoot[];
}

export type SyncResult =
  | { ok: true; plan: Plan; report: ApplyReport; changed: boolean; recovered?: string | undefined }
  | { ok: false; errors: PlanError[]; recovered?: string | undefined };

export async function syncFiles(pub: Published, opts: SyncOptions): Promise<SyncResult> {
  const { state, recovered } = await loadState(opts.root, opts.statePath, opts.allowedRoots);
  const planned = computePlan({ ...pub, allowedRoots: opts.allowedRoots, owned: state.files });
  // An invalid publication changes nothing on the node: the previous files stay.
  if (!planned.ok) return { ok: false, errors: planned.errors, recovered };
  const { report } = await applyPlan(planned.plan, state, {
    root: opts.root,
    statePath: opts.statePath,
    source: pub.configMapRef,
    contentHash: pub.contentHash,
  });
  return { ok: true, plan: planned.plan, report, changed: changed(report), recovered };
}

/** Secret `data` (base64) as text. */
export function decodeSecretData(data: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
