// Correctness of a benchmark rendering, checked against the expectation
// computed in render-inputs.ts (not against src/merge): every source is a
// registries.conf entry with exactly its mirrors per pull type, and every
// registry host has a containerd hosts.toml.
import { parse } from 'smol-toml';
import type { RenderOutput } from '../../src/render/types.js';
import { expectedMirrors, sourceSpecs } from './render-inputs.js';

interface ParsedMirror {
  location: string;
  'pull-from-mirror'?: string;
}
interface ParsedRegistry {
  prefix: string;
  'mirror-by-digest-only'?: boolean;
  mirror?: ParsedMirror[];
}

/** Problems found in `out` for the benchmark input of size `n`; empty when correct. */
export function checkRendering(n: number, out: RenderOutput): string[] {
  const problems: string[] = [];
  const conf = out.files.find((f) => f.key === 'registries.conf');
  if (!conf) return ['no registries.conf'];
  const registries = (parse(conf.content) as { registry?: ParsedRegistry[] }).registry ?? [];
  const byPrefix = new Map(registries.map((r) => [r.prefix, r]));
  const expected = expectedMirrors(sourceSpecs(n));
  if (registries.length !== expected.size) problems.push(`registries.conf has ${registries.length} entries, expected ${expected.size}`);
  for (const [source, want] of expected) {
    const got = byPrefix.get(source);
    if (!got) {
      problems.push(`registries.conf: no entry for ${source}`);
      continue;
    }
    const have = pools(got);
    if (have.digest.join() !== want.digest.join()) problems.push(`${source}: digest mirrors ${have.digest.join()} != ${want.digest.join()}`);
    if (have.tag.join() !== want.tag.join()) problems.push(`${source}: tag mirrors ${have.tag.join()} != ${want.tag.join()}`);
  }
  const keys = new Set(out.files.map((f) => f.key));
  for (const host of new Set([...expected.keys()].map((s) => s.slice(0, s.indexOf('/'))))) {
    if (!keys.has(`containerd.${host}.hosts.toml`)) problems.push(`no containerd hosts.toml for ${host}`);
  }
  return problems;
}

/** The mirrors of one registries.conf entry, per pull type, in file order. */
function pools(r: ParsedRegistry): { digest: string[]; tag: string[] } {
  const digest: string[] = [];
  const tag: string[] = [];
  for (const m of r.mirror ?? []) {
    const only = r['mirror-by-digest-only'] ? 'digest-only' : m['pull-from-mirror'];
    if (only !== 'tag-only') digest.push(m.location);
    if (only !== 'digest-only') tag.push(m.location);
  }
  return { digest, tag };
}
