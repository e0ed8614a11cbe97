// Small builders for MergeInputs in tests (shared by merge and render tests).
import type { HostAccess, MergeInputs, MirrorEntry, MirrorSourcePolicy, Origin, Pool, ScopeEntry } from '../../../src/model/types.js';

export const KIND: Record<Pool, string> = { digest: 'ImageDigestMirrorSet', tag: 'ImageTagMirrorSet' };
export const FIELD: Record<Pool, string> = { digest: 'spec.imageDigestMirrors', tag: 'spec.imageTagMirrors' };

export function origin(kind: string, name: string): Origin {
  return { apiVersion: 'imagemirror.io/v1alpha1', kind, name };
}

/** One entry; the object is named after the pool and `name`, the field after `index`. */
export function entry(pool: Pool, source: string, mirrors: string[], opts: { policy?: MirrorSourcePolicy; name?: string; index?: number } = {}): MirrorEntry {
  const e: MirrorEntry = {
    pool,
    source,
    mirrors,
    origin: origin(KIND[pool], opts.name ?? `${pool}-set`),
    field: `${FIELD[pool]}[${opts.index ?? 0}]`,
  };
  if (opts.policy) e.policy = opts.policy;
  return e;
}

export const digest = (source: string, mirrors: string[], opts: Parameters<typeof entry>[3] = {}): MirrorEntry => entry('digest', source, mirrors, opts);
export const tag = (source: string, mirrors: string[], opts: Parameters<typeof entry>[3] = {}): MirrorEntry => entry('tag', source, mirrors, opts);

export function scope(value: string, name = 'cluster'): ScopeEntry {
  return { scope: value, origin: origin('Image', name), field: 'spec.registrySources' };
}

export function access(host: string, fields: Partial<Omit<HostAccess, 'host' | 'origin' | 'field'>> = {}): HostAccess {
  return { host, ...fields, origin: origin('RegistryAccess', 'access'), field: 'spec.hosts[0]' };
}

export function inputs(parts: Partial<MergeInputs> = {}): MergeInputs {
  return {
    entries: parts.entries ?? [],
    insecure: parts.insecure ?? [],
    blocked: parts.blocked ?? [],
    access: parts.access ?? [],
    contributors: parts.contributors ?? [],
    ...(parts.defaultMirror ? { defaultMirror: parts.defaultMirror } : {}),
  };
}

/** Every rotation of a list: the cheap way to vary input order inside a test. */
export function rotations<T>(items: readonly T[]): T[][] {
  if (items.length === 0) return [[]];
  return items.map((_, i) => [...items.slice(i), ...items.slice(0, i)]);
}

/** Rotations plus the reverse of each (covers swapped pairs too). */
export function orders<T>(items: readonly T[]): T[][] {
  return rotations(items).flatMap((r) => [r, [...r].reverse()]);
}
