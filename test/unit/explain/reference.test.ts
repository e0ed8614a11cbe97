import { expect } from 'chai';
import { parseImageRef } from '../../../src/explain/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('explain: image references', () => {
  const valid: Array<{ why: string; input: string; domain: string; path: string; kind: 'tag' | 'digest'; pulled: string }> = [
    { why: 'fully qualified, by tag', input: 'quay.io/ns/app:v1', domain: 'quay.io', path: 'ns/app', kind: 'tag', pulled: 'quay.io/ns/app:v1' },
    { why: 'by digest', input: `quay.io/ns/app@${D}`, domain: 'quay.io', path: 'ns/app', kind: 'digest', pulled: `quay.io/ns/app@${D}` },
    {
      why: 'a digest wins over a tag beside it',
      input: `quay.io/ns/app:v1@${D}`,
      domain: 'quay.io',
      path: 'ns/app',
      kind: 'digest',
      pulled: `quay.io/ns/app@${D}`,
    },
    { why: 'no tag means latest', input: 'quay.io/ns/app', domain: 'quay.io', path: 'ns/app', kind: 'tag', pulled: 'quay.io/ns/app:latest' },
    {
      why: 'a port is part of the host, not a tag',
      input: 'mirror:5000/app',
      domain: 'mirror:5000',
      path: 'app',
      kind: 'tag',
      pulled: 'mirror:5000/app:latest',
    },
    { why: 'a port and a tag', input: 'mirror:5000/app:5001', domain: 'mirror:5000', path: 'app', kind: 'tag', pulled: 'mirror:5000/app:5001' },
    {
      why: 'Docker Hub short name gets library/',
      input: 'nginx',
      domain: 'docker.io',
      path: 'library/nginx',
      kind: 'tag',
      pulled: 'docker.io/library/nginx:latest',
    },
    {
      why: 'a first component without "." or ":" is a Docker Hub namespace',
      input: 'team/app:1',
      domain: 'docker.io',
      path: 'team/app',
      kind: 'tag',
      pulled: 'docker.io/team/app:1',
    },
    { why: 'localhost is a host', input: 'localhost/app:1', domain: 'localhost', path: 'app', kind: 'tag', pulled: 'localhost/app:1' },
    {
      why: 'index.docker.io is docker.io',
      input: 'index.docker.io/library/busybox:1',
      domain: 'docker.io',
      path: 'library/busybox',
      kind: 'tag',
      pulled: 'docker.io/library/busybox:1',
    },
  ];
  for (const row of valid) {
    it(row.why, () => {
      const r = parseImageRef(row.input);
      expect(r.ok, JSON.stringify(r)).to.equal(true);
      if (!r.ok) return;
      expect({ domain: r.ref.domain, path: r.ref.path, kind: r.ref.kind, pulled: r.ref.pulled }).to.deep.equal({
        domain: row.domain,
        path: row.path,
        kind: row.kind,
        pulled: row.pulled,
      });
    });
  }

  const invalid: Array<{ why: string; input: string; error: RegExp }> = [
    { why: 'upper case path', input: 'quay.io/NS/app', error: /lower-case/ },
    { why: 'a URL', input: 'https://quay.io/ns/app', error: /URL scheme/ },
    { why: 'a short digest', input: 'quay.io/ns/app@sha256:abc', error: /digest/ },
    { why: 'a bad tag', input: 'quay.io/ns/app:-x', error: /tag/ },
    { why: 'empty', input: '', error: /non-empty/ },
  ];
  for (const row of invalid) {
    it(`rejects ${row.why}`, () => {
      const r = parseImageRef(row.input);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.match(row.error);
    });
  }
});
