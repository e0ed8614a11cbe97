// WWW-Authenticate as registries send it (RFC 7235): `Basic realm="..."` or
// `Bearer realm="https://auth/token",service="registry",scope="..."`. Pure.

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** The challenges of one header value, schemes lower-cased. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  // scheme, then comma-separated auth-params (quoted or token values); a new scheme starts a new challenge.
  const re = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?|\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)/gy;
  let current: Challenge | undefined;
  let last = -1;
  for (let m = re.exec(header); m !== null && re.lastIndex !== last; m = re.exec(header)) {
    last = re.lastIndex;
    if (m[4] !== undefined) {
      current = { scheme: m[4].toLowerCase(), params: {} };
      out.push(current);
    } else if (current && m[1] !== undefined) {
      current.params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    }
  }
  return out;
}
