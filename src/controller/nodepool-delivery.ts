// How a NodePool target's output reaches its nodes (docs/hypershift.md):
// HyperShift renders the key `config` of every ConfigMap listed in
// `NodePool.spec.config` into the pool's ignition, and every change of it
// rolls the pool's nodes. This module reads what the NodePool says about that
// (its spec.config, upgradeType, annotations, and HyperShift's conditions
// UpdatingConfig and ValidMachineConfig) and keeps the record of the
// published `config` key in the status (`status.delivery`). Pure.
import { createHash } from 'node:crypto';
import { AGENT_FILES_ANNOTATION, type AgentFiles, DEFAULT_AGENT_FILES } from '../render/agent-files.js';
import type { KubeObject } from '../model/source.js';
import { type Condition, conditionsOf, formatTime } from './conditions.js';
import { MANAGE_CONFIG_REF_ANNOTATION, MAX_CONFIG_REFS } from './nodepool-config-ref.js';

/** Options for NodePool targets (`image-mirror controller --nodepool-*`). */
export interface NodePoolOptions {
  /** Node files besides `config` (a NodePool's `imagemirror.io/agent-files` annotation overrides it). */
  agentFiles: AgentFiles;
  /** How long a change of the `config` key of a delivered output waits for more changes before it is published; 0 publishes at once. */
  settleMs: number;
  /** Every NodePool holds a change of its `config` key until it is approved (else only those annotated `imagemirror.io/config-approval: required`). */
  approval: boolean;
}

export const DEFAULT_SETTLE_MS = 5_000;
export const DEFAULT_NODEPOOL_OPTIONS: NodePoolOptions = { agentFiles: DEFAULT_AGENT_FILES, settleMs: DEFAULT_SETTLE_MS, approval: false };

/** `required` on a NodePool: changes of its `config` key wait for approval (also without --nodepool-config-approval). */
export const CONFIG_APPROVAL_ANNOTATION = 'imagemirror.io/config-approval';
/** Set by a user on the NodePool: approves the pending `config` change whose short hash (12 hex digits) it holds. */
export const APPROVE_CONFIG_ANNOTATION = 'imagemirror.io/approve-config';

/** HyperShift's NodePool conditions about its config (hypershift.openshift.io/v1beta1). */
export const UPDATING_CONFIG = 'UpdatingConfig';
export const VALID_MACHINE_CONFIG = 'ValidMachineConfig';

/** What the status records about the delivery of a NodePool target's `config` key. */
export interface DeliveryStatus {
  /** `sha256:<hex>` of the `config` key as published. */
  configHash?: string;
  /** When the published `config` key last changed. */
  configChangedTime?: string;
  /** The NodePool's `spec.management.upgradeType`, as read at the last pass. */
  upgradeType?: string;
  /** A change of the `config` key that is not published yet (settle window or approval). */
  pendingConfigHash?: string;
  /** When that change (or the first of a burst) was first seen. */
  pendingSince?: string;
  /** When it will be published, unless inputs change again; unset while it waits for approval. */
  publishAfter?: string;
  /** The pending change waits for the approval annotation. */
  approvalRequired?: boolean;
}

/**
 * Annotations and status of a NodePool that change what its target renders
 * or reports; metadata and status changes do not bump the generation.
 */
export function deliveryFingerprint(np: KubeObject): string {
  const a = np.metadata.annotations ?? {};
  const hs = [UPDATING_CONFIG, VALID_MACHINE_CONFIG].map((type) => {
    const c = hyperShiftCondition(np, type);
    return c ? [c.status, c.reason, c.message, c.lastTransitionTime] : [];
  });
  return JSON.stringify([a[AGENT_FILES_ANNOTATION] ?? '', a[CONFIG_APPROVAL_ANNOTATION] ?? '', a[APPROVE_CONFIG_ANNOTATION] ?? '', hs]);
}

export function hyperShiftCondition(np: KubeObject, type: string): Condition | undefined {
  return conditionsOf(np.status).find((c) => c.type === type);
}

/** Hashes of recent `config` values, by value: a pass hashes its `config` key three times (gate, delivery, cache). */
const recentConfigHashes = new Map<string, string>();
const RECENT_CONFIG_HASHES = 64;

/** `sha256:<hex>` of one ConfigMap value (the `config` key). */
export function configHash(value: string): string {
  const known = recentConfigHashes.get(value);
  if (known !== undefined) return known;
  const hash = `sha256:${createHash('sha256').update(value).digest('hex')}`;
  if (recentConfigHashes.size >= RECENT_CONFIG_HASHES) recentConfigHashes.delete(recentConfigHashes.keys().next().value as string);
  recentConfigHashes.set(value, hash);
  return hash;
}

/** The first 12 hex digits of a `sha256:<hex>` hash. */
export function short(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

/** Whether `spec.config` lists `outputName`, and how many entries it has. */
export function configListing(np: KubeObject, outputName: string): { listed: boolean; entries: number; hasList: boolean } {
  const list = (np.spec as { config?: unknown } | undefined)?.config;
  if (!Array.isArray(list)) return { listed: false, entries: 0, hasList: false };
  const listed = list.some((e) => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === outputName);
  return { listed, entries: list.length, hasList: true };
}

export function upgradeTypeOf(np: KubeObject): string | undefined {
  const t = (np.spec as { management?: { upgradeType?: unknown } } | undefined)?.management?.upgradeType;
  return typeof t === 'string' ? t : undefined;
}

/** What publishing a change of `config` does to the NodePool's nodes, in one clause. */
export function rolloutEffect(np: KubeObject): string {
  const ns = np.metadata.namespace ?? '';
  const replicas = (np.spec as { replicas?: unknown } | undefined)?.replicas;
  const nodes = typeof replicas === 'number' ? `${replicas} node${replicas === 1 ? '' : 's'}` : 'nodes';
  const how: Record<string, string> = {
    Replace: 'upgradeType Replace: new machines replace the old ones',
    InPlace: 'upgradeType InPlace: each node is drained and updated in place, rebooting if needed',
  };
  const type = upgradeTypeOf(np);
  return `rolls the ${nodes} of NodePool ${ns}/${np.metadata.name} (${type ? (how[type] ?? `upgradeType ${type}`) : 'upgradeType not set'})`;
}

/** The commands that list the output in `spec.config`: a JSON patch, or the opt-in annotation. */
export function referenceFix(np: KubeObject, outputName: string): string {
  const ns = np.metadata.namespace ?? '';
  const name = np.metadata.name;
  const { hasList, entries } = configListing(np, outputName);
  const patch = hasList
    ? `[{"op":"add","path":"/spec/config/-","value":{"name":"${outputName}"}}]`
    : `[{"op":"add","path":"/spec/config","value":[{"name":"${outputName}"}]}]`;
  const byHand = `kubectl -n ${ns} patch nodepool ${name} --type=json -p '${patch}'`;
  if (entries >= MAX_CONFIG_REFS) {
    return `spec.config already lists ${entries} ConfigMaps, HyperShift's limit: remove one, then run ${byHand} (or list it in Git where GitOps owns the NodePool)`;
  }
  return `run ${byHand} (or list it in Git where GitOps owns the NodePool), or let the operator manage the entry: kubectl -n ${ns} annotate nodepool ${name} ${MANAGE_CONFIG_REF_ANNOTATION}=true`;
}

/** The command that approves the pending change `hash`. */
export function approvalFix(np: KubeObject, hash: string): string {
  return `kubectl -n ${np.metadata.namespace ?? ''} annotate nodepool ${np.metadata.name} ${APPROVE_CONFIG_ANNOTATION}=${short(hash)} --overwrite`;
}

/** The delivery record after publishing `config` (undefined: nothing was published this pass, the record stays). */
export function recordPublished(previous: DeliveryStatus | undefined, published: string | undefined, np: KubeObject, now: Date): DeliveryStatus {
  const out: DeliveryStatus = {};
  const hash = published === undefined ? previous?.configHash : configHash(published);
  if (hash) out.configHash = hash;
  const changed = hash !== previous?.configHash || !previous?.configChangedTime;
  const when = changed && published !== undefined ? formatTime(now) : previous?.configChangedTime;
  if (hash && when) out.configChangedTime = when;
  const type = upgradeTypeOf(np);
  if (type) out.upgradeType = type;
  return out;
}

/** An output ConfigMap as the caches keep it (outputs.ts digested), plus the hash of its `config` key. */
export type WithConfigHash<T> = T & { configHash?: string };

/** Adds `configHash` of `raw`'s `config` key to its digested form (NodePool outputs; others have no such key). */
export function withConfigHash<T extends object>(digestedObj: T, raw: KubeObject): WithConfigHash<T> {
  const value = (raw.data as Record<string, unknown> | undefined)?.config;
  if (typeof value === 'string') return { ...digestedObj, configHash: configHash(value) };
  // A cached object digested before: keep what it carries.
  const kept = (raw as { configHash?: unknown }).configHash;
  return typeof kept === 'string' && raw.data === undefined ? { ...digestedObj, configHash: kept } : digestedObj;
}

/** The hash of the stored `config` key of a cached output, if it has one. */
export function storedConfigHash(obj: KubeObject | undefined): string | undefined {
  const h = (obj as { configHash?: unknown } | undefined)?.configHash;
  if (typeof h === 'string') return h;
  const value = (obj?.data as Record<string, unknown> | undefined)?.config;
  return typeof value === 'string' ? configHash(value) : undefined;
}
