// One ordered list of mirrors from a rule's two pools, shared by both
// renderers: a mirror in both pools is one endpoint used for both pull types
// when that keeps each pool's own order; otherwise the pools are listed
// separately (registries.conf then names the location twice, each with its
// pull type, which containers/image accepts).

export interface MirrorUse {
  location: string;
  digest: boolean;
  tag: boolean;
}

export function combineMirrors(digest: readonly string[], tag: readonly string[]): MirrorUse[] {
  // One pool, or two without a shared mirror (most rules), needs no matching: a Set per rule costs more than the rest.
  if (!sharesMirror(digest, tag)) return separately(digest, tag);
  const inDigest = digest.filter(membership(tag));
  const common = new Set(inDigest);
  const inTag = tag.filter((m) => common.has(m));
  if (inDigest.some((m, i) => inTag[i] !== m)) return separately(digest, tag);
  return interleave(digest, tag, common);
}

/** True when a mirror is in both pools (otherwise combineMirrors lists every digest mirror, then every tag mirror). */
export function sharesMirror(digest: readonly string[], tag: readonly string[]): boolean {
  if (tag.length === 0 || digest.length === 0) return false;
  if (digest.length * tag.length > 64) return digest.some(membership(tag));
  // Nested loops rather than includes: this runs twice for every rule.
  for (let i = 0; i < digest.length; i++) {
    for (let j = 0; j < tag.length; j++) if (digest[i] === tag[j]) return true;
  }
  return false;
}

/** A membership test for `list`: a scan for the usual handful of mirrors, a Set beyond that. */
function membership(list: readonly string[]): (m: string) => boolean {
  if (list.length <= 8) return (m) => list.includes(m);
  const set = new Set(list);
  return (m) => set.has(m);
}

/** Every digest mirror, then every tag mirror, each for its own pull type. */
function separately(digest: readonly string[], tag: readonly string[]): MirrorUse[] {
  const out: MirrorUse[] = [];
  for (const m of digest) out.push(use(m, true, false));
  for (const m of tag) out.push(use(m, false, true));
  return out;
}

/** Walks both lists, emitting each shared mirror once where both reach it. */
function interleave(digest: readonly string[], tag: readonly string[], common: ReadonlySet<string>): MirrorUse[] {
  const out: MirrorUse[] = [];
  let [i, j] = [0, 0];
  while (i < digest.length || j < tag.length) {
    for (; i < digest.length && !common.has(digest[i]!); i++) out.push(use(digest[i]!, true, false));
    for (; j < tag.length && !common.has(tag[j]!); j++) out.push(use(tag[j]!, false, true));
    if (i < digest.length && j < tag.length) {
      out.push(use(digest[i]!, true, true));
      i++;
      j++;
    }
  }
  return out;
}

function use(location: string, digest: boolean, tag: boolean): MirrorUse {
  return { location, digest, tag };
}
