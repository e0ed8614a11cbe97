import { expect } from 'chai';
import { parse } from 'smol-toml';
import { merge } from '../../../src/merge/index.js';
import type { MergeInputs, MirrorModel, Pool, RenderWarning } from '../../../src/model/types.js';
import { renderContainerd } from '../../../src/render/containerd.js';
import { MIRROR_DIAL_TIMEOUT } from '../../../src/render/hosts-toml.js';
import type { NodeFile } from '../../../src/render/types.js';
import { access, digest, entry, inputs, orders, origin, scope, tag } from '../merge/build.js';

interface HostTable {
  capabilities?: string[];
  override_path?: boolean;
  skip_verify?: boolean;
  dial_timeout?: string;
  ca?: string;
  client?: string[][];
  header?: Record<string, string>;
}
interface HostsFile extends HostTable {
  server?: string;
  host?: Record<string, HostTable>;
}

function model(i: MergeInputs): MirrorModel {
  const r = merge(i);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

interface Rendered {
  files: Map<string, NodeFile>;
  /** hosts.toml parsed back, by directory. */
  dirs: Map<string, HostsFile>;
  warnings: RenderWarning[];
}

function render(i: MergeInputs): Rendered {
  const out = renderContainerd(model(i));
  const files = new Map(out.files.map((f) => [f.key, f]));
  const dirs = new Map<string, HostsFile>();
  for (const f of out.files) {
    const m = /^containerd\.(.+)\.hosts\.toml$/.exec(f.key);
    if (m?.[1]) dirs.set(m[1], withoutDialTimeouts(m[1], parse(f.content) as HostsFile));
  }
  return { files, dirs, warnings: out.warnings };
}

/**
 * Checks the one rule for `dial_timeout` (every table of a mirror has it, a
 * table of the registry itself does not, the root never) and removes it, so
 * the rows below compare everything else.
 */
function withoutDialTimeouts(dir: string, file: HostsFile): HostsFile {
  const own = dir === '_default' ? undefined : dir.replace(/_(\d+)_$/, ':$1');
  expect(file.dial_timeout, `${dir}: root`).to.equal(undefined);
  for (const [url, table] of Object.entries(file.host ?? {})) {
    const isMirror = new URL(url).host !== own;
    expect(table.dial_timeout, `${dir}: ${url}`).to.equal(isMirror ? MIRROR_DIAL_TIMEOUT : undefined);
    delete table.dial_timeout;
  }
  return file;
}

const codes = (r: Rendered): string[] => r.warnings.map((w) => `${w.code} ${w.source}`).sort();
const CAPS: Record<Pool, string[]> = { digest: ['pull'], tag: ['pull', 'resolve'] };

describe('containerd hosts.toml (SPEC §4)', () => {
  describe('the same rows from IDMS and ITMS shapes', () => {
    const table: Array<{
      why: string;
      source: string;
      mirrors: string[];
      policy?: 'NeverContactSource';
      dir: string;
      want: (caps: string[]) => HostsFile | undefined;
      warnings: string[];
    }> = [
      {
        why: 'a host source: the mirror path becomes /v2/<prefix> with override_path',
        source: 'quay.io',
        mirrors: ['mirror.corp/quay'],
        dir: 'quay.io',
        want: (caps) => ({ server: 'https://quay.io', host: { 'https://mirror.corp/v2/quay': { capabilities: caps, override_path: true } } }),
        warnings: [],
      },
      {
        why: 'a mirror without a path is the plain host URL',
        source: 'quay.io',
        mirrors: ['mirror.corp:5000'],
        dir: 'quay.io',
        want: (caps) => ({ server: 'https://quay.io', host: { 'https://mirror.corp:5000': { capabilities: caps } } }),
        warnings: [],
      },
      {
        why: 'a repository source whose mirror keeps the path under a prefix; the mirror is tried host-wide',
        source: 'quay.io/ns/app',
        mirrors: ['mirror.corp/cache/ns/app'],
        dir: 'quay.io',
        want: (caps) => ({ server: 'https://quay.io', host: { 'https://mirror.corp/v2/cache': { capabilities: caps, override_path: true } } }),
        warnings: ['HostWideWidening quay.io/ns/app'],
      },
      {
        why: 'a repository source whose mirror is the same path on another host',
        source: 'quay.io/ns/app',
        mirrors: ['mirror.corp/ns/app'],
        dir: 'quay.io',
        want: (caps) => ({ server: 'https://quay.io', host: { 'https://mirror.corp': { capabilities: caps } } }),
        warnings: ['HostWideWidening quay.io/ns/app'],
      },
      {
        why: 'a mirror that changes the repository path is not expressible and is left out',
        source: 'quay.io/ns/app',
        mirrors: ['mirror.corp/other/app2'],
        dir: 'quay.io',
        want: () => undefined,
        warnings: ['NotExpressible quay.io/ns/app'],
      },
      {
        why: 'docker.io is served by registry-1.docker.io',
        source: 'docker.io',
        mirrors: ['mirror.corp/hub'],
        dir: 'docker.io',
        want: (caps) => ({ server: 'https://registry-1.docker.io', host: { 'https://mirror.corp/v2/hub': { capabilities: caps, override_path: true } } }),
        warnings: [],
      },
      {
        why: 'host:port sources live in host_port_ directories',
        source: 'localhost:5000/team',
        mirrors: ['mirror.corp/team'],
        dir: 'localhost_5000_',
        want: (caps) => ({ server: 'https://localhost:5000', host: { 'https://mirror.corp': { capabilities: caps } } }),
        warnings: ['HostWideWidening localhost:5000/team'],
      },
      {
        why: 'NeverContactSource: server is the last mirror, with its capabilities and override_path; tables are kept',
        source: 'quay.io',
        mirrors: ['a.corp/q', 'b.corp/q'],
        policy: 'NeverContactSource',
        dir: 'quay.io',
        want: (caps) => ({
          server: 'https://b.corp/v2/q',
          capabilities: caps,
          override_path: true,
          host: { 'https://a.corp/v2/q': { capabilities: caps, override_path: true }, 'https://b.corp/v2/q': { capabilities: caps, override_path: true } },
        }),
        warnings: [],
      },
      {
        why: 'NeverContactSource on a repository blocks the whole host (reported)',
        source: 'quay.io/ns',
        mirrors: ['a.corp/ns'],
        policy: 'NeverContactSource',
        dir: 'quay.io',
        want: (caps) => ({ server: 'https://a.corp', capabilities: caps, host: { 'https://a.corp': { capabilities: caps } } }),
        warnings: ['HostWideWidening quay.io/ns', 'HostWideWidening quay.io/ns'],
      },
      {
        why: 'a source listed as its own mirror is an endpoint like any other',
        source: 'quay.io',
        mirrors: ['a.corp/q', 'quay.io', 'b.corp/q'],
        dir: 'quay.io',
        want: (caps) => ({
          server: 'https://quay.io',
          host: {
            'https://a.corp/v2/q': { capabilities: caps, override_path: true },
            'https://quay.io': { capabilities: caps },
            'https://b.corp/v2/q': { capabilities: caps, override_path: true },
          },
        }),
        warnings: [],
      },
    ];
    for (const pool of ['digest', 'tag'] as const) {
      describe(pool === 'digest' ? 'IDMS' : 'ITMS', () => {
        for (const row of table) {
          it(row.why, () => {
            const r = render(inputs({ entries: [entry(pool, row.source, row.mirrors, row.policy ? { policy: row.policy } : {})] }));
            expect(r.dirs.get(row.dir)).to.deep.equal(row.want(CAPS[pool]));
            const tagOnly =
              pool === 'tag' && row.want(CAPS[pool]) ? row.mirrors.filter((m) => m !== row.source).map(() => `TagOnlyApproximated ${row.source}`) : [];
            expect(codes(r)).to.deep.equal([...row.warnings, ...tagOnly].sort());
          });
        }
      });
    }
  });

  const table: Array<{ why: string; in: MergeInputs; dir: string; want: HostsFile | undefined; warnings?: string[] }> = [
    {
      why: 'a mirror in both pools is one table with pull and resolve, not tag-only',
      in: inputs({ entries: [digest('quay.io', ['m.corp/q', 'd.corp/q']), tag('quay.io', ['m.corp/q'])] }),
      dir: 'quay.io',
      want: {
        server: 'https://quay.io',
        host: {
          'https://m.corp/v2/q': { capabilities: ['pull', 'resolve'], override_path: true },
          'https://d.corp/v2/q': { capabilities: ['pull'], override_path: true },
        },
      },
      warnings: [],
    },
    {
      why: 'several rules on one host: more specific rules first, duplicates merged with the union of capabilities',
      in: inputs({ entries: [digest('quay.io', ['m.corp/q']), tag('quay.io/ns', ['m.corp/q/ns']), digest('quay.io/ns/app', ['x.corp/ns/app'])] }),
      dir: 'quay.io',
      want: {
        server: 'https://quay.io',
        host: {
          'https://x.corp': { capabilities: ['pull'] },
          'https://m.corp/v2/q': { capabilities: ['pull', 'resolve'], override_path: true },
        },
      },
      warnings: ['HostWideWidening quay.io/ns/app'],
    },
    {
      why: 'repository sources share endpoints by mirror root; the host-level mirror to the same endpoint is one table, not a widening',
      in: inputs({
        entries: [
          digest('quay.io/a', ['m.corp/p/a', 'n.corp/a']),
          digest('quay.io/b/c', ['m.corp/p/b/c', 'n.corp/b/c']),
          tag('quay.io/d', ['n.corp/x/d']),
          digest('quay.io', ['m.corp/p']),
        ],
      }),
      dir: 'quay.io',
      want: {
        server: 'https://quay.io',
        host: {
          'https://m.corp/v2/p': { capabilities: ['pull'], override_path: true },
          'https://n.corp': { capabilities: ['pull'] },
          'https://n.corp/v2/x': { capabilities: ['pull', 'resolve'], override_path: true },
        },
      },
      warnings: ['HostWideWidening quay.io/a', 'HostWideWidening quay.io/b/c', 'HostWideWidening quay.io/d', 'TagOnlyApproximated quay.io/d'],
    },
    {
      why: 'a mirror inside an insecure scope is http:// with skip_verify',
      in: inputs({ entries: [digest('quay.io', ['lab.corp:5000/q'])], insecure: [scope('lab.corp:5000')] }),
      dir: 'quay.io',
      want: { server: 'https://quay.io', host: { 'http://lab.corp:5000/v2/q': { capabilities: ['pull'], override_path: true, skip_verify: true } } },
    },
    {
      why: 'an insecure source host without mirrors still gets a file, listing itself as its only endpoint',
      in: inputs({ insecure: [scope('lab.corp:5000')] }),
      dir: 'lab.corp_5000_',
      want: { server: 'http://lab.corp:5000', skip_verify: true, host: { 'http://lab.corp:5000': { skip_verify: true } } },
      warnings: [],
    },
    {
      why: 'an insecure repository scope is not widened to the host (reported)',
      in: inputs({ entries: [digest('quay.io', ['m.corp/q'])], insecure: [scope('quay.io/lab')] }),
      dir: 'quay.io',
      want: { server: 'https://quay.io', host: { 'https://m.corp/v2/q': { capabilities: ['pull'], override_path: true } } },
      warnings: ['NotExpressible quay.io/lab'],
    },
    {
      why: 'a wildcard source has no containerd directory (reported)',
      in: inputs({ entries: [digest('*.corp.example', ['m.corp'])] }),
      dir: '*.corp.example',
      want: undefined,
      warnings: ['NotExpressible *.corp.example'],
    },
    {
      why: 'a wildcard that is only a default-mirror registry is covered by _default, without a warning',
      in: inputs({ defaultMirror: { mirror: 'cache.corp', registries: ['*.io'], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' } }),
      dir: '_default',
      want: { host: { 'https://cache.corp': { capabilities: ['pull', 'resolve'] } } },
      warnings: [],
    },
    {
      why: 'a blocked registry without mirrors cannot be blocked in containerd (reported)',
      in: inputs({ blocked: [scope('bad.io')] }),
      dir: 'bad.io',
      want: undefined,
      warnings: ['NotExpressible bad.io'],
    },
    {
      why: 'a blocked registry with inherited mirrors is kept from its source like NeverContactSource',
      in: inputs({ entries: [digest('quay.io', ['m.corp/q'])], blocked: [scope('quay.io')] }),
      dir: 'quay.io',
      want: {
        server: 'https://m.corp/v2/q',
        capabilities: ['pull'],
        override_path: true,
        host: { 'https://m.corp/v2/q': { capabilities: ['pull'], override_path: true } },
      },
      warnings: [],
    },
    {
      why: 'NeverContactSource with no expressible mirror cannot keep containerd away (reported)',
      in: inputs({ entries: [digest('quay.io/ns', ['m.corp/other'], { policy: 'NeverContactSource' })] }),
      dir: 'quay.io',
      want: undefined,
      warnings: ['NotExpressible quay.io/ns', 'NotExpressible quay.io/ns'],
    },
    {
      why: 'the default mirror is the last table of every source directory',
      in: inputs({
        entries: [digest('quay.io', ['m.corp/q'])],
        defaultMirror: { mirror: 'cache.corp/all', registries: [], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' },
      }),
      dir: 'quay.io',
      want: {
        server: 'https://quay.io',
        host: {
          'https://m.corp/v2/q': { capabilities: ['pull'], override_path: true },
          'https://cache.corp/v2/all': { capabilities: ['pull', 'resolve'], override_path: true },
        },
      },
    },
    {
      why: 'the default mirror is _default/hosts.toml, without server (containerd then falls back to the pulled host)',
      in: inputs({ defaultMirror: { mirror: 'cache.corp/all', registries: [], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' } }),
      dir: '_default',
      want: { host: { 'https://cache.corp/v2/all': { capabilities: ['pull', 'resolve'], override_path: true } } },
    },
  ];
  for (const row of table) {
    it(row.why, () => {
      for (const entries of orders(row.in.entries)) {
        const r = render({ ...row.in, entries });
        expect(r.dirs.get(row.dir)).to.deep.equal(row.want);
        if (row.warnings) expect(codes(r)).to.deep.equal([...row.warnings].sort());
      }
    });
  }

  it('keeps host tables in merge order in the file text (containerd orders them by line)', () => {
    const out = renderContainerd(
      model(inputs({ entries: [digest('quay.io', ['z.corp/q', 'a.corp/q']), digest('quay.io', ['a.corp/q', 'm.corp/q'], { name: 'b' })] })),
    );
    const text = out.files.find((f) => f.key === 'containerd.quay.io.hosts.toml')!.content;
    const urls = [...text.matchAll(/^\[host\."([^"]+)"\]$/gm)].map((m) => m[1]);
    expect(urls).to.deep.equal(['https://z.corp/v2/q', 'https://a.corp/v2/q', 'https://m.corp/v2/q']);
    expect(text.split('\n')[0]).to.match(/^# Generated by image-mirror/);
  });

  describe('registry access', () => {
    const creds = { username: 'puller', password: 'p@ss"word' };
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const rendered = (): Rendered =>
      render(
        inputs({
          entries: [digest('quay.io', ['lab.corp:5000/q'])],
          access: [access('lab.corp:5000', { caPEM: pem, clientCert: { certPEM: 'CERT', keyPEM: 'KEY' }, auth: creds })],
        }),
      );

    it('references CA and client certificate files next to hosts.toml, and sends credentials as a header', () => {
      const r = rendered();
      const table = r.dirs.get('quay.io')?.host?.['https://lab.corp:5000/v2/q'];
      expect(table).to.deep.equal({
        capabilities: ['pull'],
        override_path: true,
        ca: 'lab.corp_5000_.crt',
        client: [['lab.corp_5000_.client.crt', 'lab.corp_5000_.client.key']],
        header: { authorization: `Basic ${Buffer.from('puller:p@ss"word').toString('base64')}` },
      });
      expect(r.files.get('containerd.quay.io.lab.corp_5000_.crt')).to.deep.include({
        path: '/etc/containerd/certs.d/quay.io/lab.corp_5000_.crt',
        content: pem,
        mode: 0o644,
        secret: false,
      });
      expect(r.files.get('containerd.quay.io.lab.corp_5000_.client.key')).to.deep.include({ mode: 0o600, secret: true });
    });

    it('makes a hosts.toml with credentials secret, mode 0600; one without stays public', () => {
      const r = rendered();
      expect(r.files.get('containerd.quay.io.hosts.toml')).to.deep.include({ secret: true, mode: 0o600 });
      const plain = render(inputs({ entries: [digest('quay.io', ['lab.corp:5000/q'])], access: [access('lab.corp:5000', { caPEM: pem })] }));
      expect(plain.files.get('containerd.quay.io.hosts.toml')).to.deep.include({ secret: false, mode: 0o644 });
    });

    it('gives an access host its own directory with root settings for direct pulls', () => {
      expect(rendered().dirs.get('lab.corp_5000_')).to.deep.equal({
        server: 'https://lab.corp:5000',
        ca: 'lab.corp_5000_.crt',
        client: [['lab.corp_5000_.client.crt', 'lab.corp_5000_.client.key']],
        header: { authorization: `Basic ${Buffer.from('puller:p@ss"word').toString('base64')}` },
        host: {
          'https://lab.corp:5000': {
            ca: 'lab.corp_5000_.crt',
            client: [['lab.corp_5000_.client.crt', 'lab.corp_5000_.client.key']],
            header: { authorization: `Basic ${Buffer.from('puller:p@ss"word').toString('base64')}` },
          },
        },
      });
    });

    it('plain HTTP access is http:// with skip_verify', () => {
      const r = render(inputs({ entries: [tag('quay.io', ['lab.corp/q'])], access: [access('lab.corp', { plainHTTP: true })] }));
      expect(r.dirs.get('quay.io')?.host).to.deep.equal({
        'http://lab.corp/v2/q': { capabilities: ['pull', 'resolve'], override_path: true, skip_verify: true },
      });
    });
  });

  it('every hosts.toml has at least one host table (containerd 1.6 ignores a file without)', () => {
    const r = render(
      inputs({
        entries: [digest('quay.io/ns', ['m.corp/x'], { policy: 'NeverContactSource' }), tag('a.io', ['b.io'])],
        insecure: [scope('lab.corp'), scope('a.io/x')],
        blocked: [scope('bad.io')],
        access: [access('reg.corp', { caPEM: 'x' })],
      }),
    );
    expect(r.dirs.size).to.be.greaterThan(0);
    for (const [dir, doc] of r.dirs) expect(Object.keys(doc.host ?? {}), dir).to.not.be.empty;
  });
});
