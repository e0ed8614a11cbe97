// How sources, scopes and mirror locations nest inside each other, the way
// containers/image matches registries.conf prefixes (SPEC §3 "Facts"):
//
// - `host[:port]/a/b` encloses everything below it at a `/` boundary
//   (`quay.io/ns` encloses `quay.io/ns/app`, not `quay.io/nsx`);
// - `*.example.com` encloses every host under example.com (with any port,
//   and anything below it), but not `example.com` itself;
// - an exact host/path is more specific than any wildcard.
//
// containers/image also lets `quay.io` match `quay.io:5000/...` at the `:`
// boundary; upstream calls that unintended ("DON'T RELY ON THE CURRENT
// BEHAVIOR") and the rewritten reference (`mirror:5000/...`) would not even
// parse, so here a port makes a different registry: `quay.io:5000` is not
// inside `quay.io`. The merge gives every such source its own rule, which
// also stops containers/image from applying the `quay.io` rule to it.
//
// All lookups walk the candidates of one reference (its path prefixes, then
// wildcards for its parent domains) against a Set or Map: O(depth) per
// reference, never a loop over all pairs.

/** `*.domain` wildcard form (host only, no port, no path). */
export function isWildcard(ref: string): boolean {
  return ref.startsWith('*.');
}

/** The `host[:port]` part of a reference (the whole of a wildcard). */
export function hostPort(ref: string): string {
  const slash = ref.indexOf('/');
  return slash < 0 ? ref : ref.slice(0, slash);
}

/** The host name without a port. */
export function hostName(ref: string): string {
  const hp = hostPort(ref);
  const colon = hp.lastIndexOf(':');
  return colon < 0 ? hp : hp.slice(0, colon);
}

/** The path after `host[:port]`, without its leading `/` ('' for a host). */
export function repoPath(ref: string): string {
  const slash = ref.indexOf('/');
  return slash < 0 ? '' : ref.slice(slash + 1);
}

/**
 * Every scope that could enclose `ref`, most specific first: `ref` itself,
 * its path prefixes at `/` boundaries, then `*.` wildcards for its parent
 * domains, longest first. `a.b.c:5000/x/y` gives
 * `[a.b.c:5000/x/y, a.b.c:5000/x, a.b.c:5000, *.b.c, *.c]`.
 */
export function enclosingCandidates(ref: string): string[] {
  const out: string[] = [];
  firstEnclosing(ref, (c) => {
    out.push(c);
    return false;
  });
  return out;
}

/**
 * The first candidate of `enclosingCandidates(ref)` (same order) for which
 * `found` is true. Builds no arrays: this runs for every rule and mirror.
 */
export function firstEnclosing(ref: string, found: (candidate: string) => boolean): string | undefined {
  const wildcard = isWildcard(ref);
  if (wildcard) {
    if (found(ref)) return ref;
  } else {
    for (let end = ref.length; end > 0; end = ref.lastIndexOf('/', end - 1)) {
      const candidate = ref.slice(0, end);
      if (found(candidate)) return candidate;
    }
  }
  const domain = wildcard ? ref.slice(2) : hostName(ref);
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
    const candidate = `*${domain.slice(dot)}`;
    if (found(candidate)) return candidate;
  }
  return undefined;
}

/**
 * What a mirror of `enclosing` needs appended to serve `ref` (which must be
 * enclosed by it): the path below it. A wildcard's mirrors take the path
 * after `host[:port]`, as containers/image rewrites `*.x` prefixes.
 */
export function remainder(ref: string, enclosing: string): string {
  if (ref === enclosing) return '';
  if (!isWildcard(enclosing)) return ref.slice(enclosing.length);
  return isWildcard(ref) ? '' : ref.slice(hostPort(ref).length);
}

/** Keys to look references up in: a Set of scopes, or a Map keyed by scope. */
export interface ScopeKeys {
  readonly size: number;
  has(scope: string): boolean;
}

/** The most specific member of `scopes` that encloses `ref` (or equals it), if any. */
export function mostSpecific(scopes: ScopeKeys, ref: string): string | undefined {
  if (scopes.size === 0) return undefined;
  if (scopes.has(ref)) return ref; // the common case: a source is its own most specific source
  return firstEnclosing(ref, (c) => scopes.has(c));
}

/** True when some member of `scopes` encloses `ref` (or equals it). */
export function isInside(scopes: ScopeKeys, ref: string): boolean {
  return mostSpecific(scopes, ref) !== undefined;
}

/** Byte-order comparison (never locale-dependent): the only order used for output. */
export { byteOrder } from '../common/values.js';
