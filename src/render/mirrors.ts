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
  const tagSet = new Set(tag);
  const common = new Set(digest.filter((m) => tagSet.has(m)));
  const inDigest = digest.filter((m) => common.has(m));
  const inTag = tag.filter((m) => common.has(m));
  if (inDigest.some((m, i) => inTag[i] !== m)) {
    return [...digest.map((m) => use(m, true, false)), ...tag.map((m) => use(m, false, true))];
  }
  return interleave(digest, tag, common);
}

/** Walks both lists, emitting each shared mirror once where both reach it. */
function interleave(digest: readonly string[], tag: readonly string[], common: ReadonlySet<string>): MirrorUse[] {
  const out: MirrorUse[] = [];
  let [i, j] = [0, 0];
  while (i < digest.length || j < tag.length) {
    for (; i < digest.length && !common.has(digest[i]); i++) out.push(use(digest[i], true, false));
    for (; j < tag.length && !common.has(tag[j]); j++) out.push(use(tag[j], false, true));
    if (i < digest.length && j < tag.length) {
      out.push(use(digest[i], true, true));
      i++;
      j++;
    }
  }
  return out;
}

function use(location: string, digest: boolean, tag: boolean): MirrorUse {
  return { location, digest, tag };
}
