// Image references as the runtimes read them: docker/distribution's grammar
// with Docker's normalization (`nginx` is `docker.io/library/nginx:latest`),
// which containerd and the kubelet apply. Pure.
import { MIRROR_RE } from '../model/patterns.js';

export interface ImageRef {
  /** What the user typed. */
  input: string;
  /** `host[:port]` as the reference names it (`docker.io` for Docker Hub). */
  domain: string;
  /** Repository path below the domain, e.g. `library/nginx`. */
  path: string;
  tag?: string;
  digest?: string;
  /** A pull by digest when a digest is given (a tag beside it is ignored), by tag otherwise. */
  kind: 'tag' | 'digest';
  /** `domain/path`: what registries.conf prefixes and mirror sources match against. */
  name: string;
  /** `name:tag` or `name@digest`: the reference a runtime pulls. */
  pulled: string;
  /** What normalization did, for the user. */
  notes: string[];
}

const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;

export type ParsedRef = { ok: true; ref: ImageRef } | { ok: false; error: string };

export function parseImageRef(input: string): ParsedRef {
  if (input === '' || /\s/.test(input)) return { ok: false, error: 'an image reference must be non-empty and without spaces' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return { ok: false, error: `"${input}" has a URL scheme; give an image reference such as quay.io/ns/app:tag` };
  const notes: string[] = [];
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return { ok: false, error: `"${digest}" is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)` };
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) return { ok: false, error: `"${digest}" is not a sha256 digest (64 lower-case hex digits)` };
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { ok: false, error: `"${tag}" is not a valid tag` };
  }
  const { domain, path } = splitDomain(rest, notes);
  const name = `${domain}/${path}`;
  if (!MIRROR_RE.test(name) || path === '') {
    return { ok: false, error: `"${input}": repository names are lower-case path components after an optional registry host[:port]` };
  }
  if (digest && tag) notes.push(`the tag ":${tag}" is ignored: with a digest, runtimes pull by digest`);
  if (!digest && !tag) {
    tag = 'latest';
    notes.push('no tag or digest: ":latest" is pulled');
  }
  const ref: ImageRef = { input, domain, path, kind: digest ? 'digest' : 'tag', name, pulled: digest ? `${name}@${digest}` : `${name}:${tag}`, notes };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = digest;
  return { ok: true, ref };
}

/**
 * Docker's rule: the first component is a registry host only when it has a
 * "." or ":" or is "localhost"; otherwise the reference is on Docker Hub,
 * and a single-component name is under `library/`.
 */
function splitDomain(rest: string, notes: string[]): { domain: string; path: string } {
  const slash = rest.indexOf('/');
  const first = slash < 0 ? rest : rest.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (first === 'index.docker.io') {
      notes.push('index.docker.io is Docker Hub: docker.io');
      return { domain: 'docker.io', path: rest.slice(slash + 1) };
    }
    return { domain: first, path: rest.slice(slash + 1) };
  }
  const path = slash < 0 ? `library/${rest}` : rest;
  notes.push(
    `"${rest}" names no registry: read as docker.io/${path} (containerd and the kubelet normalize it this way; ` +
      "CRI-O and podman resolve short names through the node's unqualified-search-registries and short-name aliases instead)",
  );
  return { domain: 'docker.io', path };
}

/** The server a registry name is reached at: Docker Hub's API lives at registry-1.docker.io. */
export function serverHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}
