// The two runtime readers on hand-written files, row by row against the
// upstream facts they implement (containers/image sysregistriesv2 and
// docker_image_src; containerd hosts.go and resolver.go). No renderer here:
// these pin how files are READ, so the oracle tests can trust them.
import { expect } from 'chai';
import { explain, parseImageRef, type ContainerdExplanation, type ContainersImageExplanation } from '../../../src/explain/index.js';
import { readRegistriesConf } from '../../../src/explain/containers-image.js';

const D = `sha256:${'d'.repeat(64)}`;
const CONF = '/etc/containers/registries.conf.d/99-image-mirrors.conf';
const CERTS = '/etc/containerd/certs.d';

function ref(s: string) {
  const r = parseImageRef(s);
  if (!r.ok) throw new Error(r.error);
  return r.ref;
}

function ci(image: string, conf: string, more: Record<string, string> = {}): ContainersImageExplanation {
  const files = Object.entries({ [CONF]: conf, ...more }).map(([path, content]) => ({ path, content }));
  return explain({ ref: ref(image), files, warnings: [], target: 't', from: 'files', runtimes: ['containers-image'] })
    .runtimes[0] as ContainersImageExplanation;
}

function cd(image: string, files: Record<string, string>): ContainerdExplanation {
  const list = Object.entries(files).map(([path, content]) => ({ path, content }));
  return explain({ ref: ref(image), files: list, warnings: [], target: 't', from: 'files', runtimes: ['containerd'] }).runtimes[0] as ContainerdExplanation;
}

/** The manifest URLs in order: what the registries see. */
const urls = (r: { requests: Array<{ method: string; url: string }> }): string[] => r.requests.map((q) => `${q.method} ${q.url}`);

describe('explain: containers/image reads registries.conf', () => {
  const rows: Array<{ why: string; image: string; conf: string; want: string[]; prefix?: string }> = [
    {
      why: 'the longest matching prefix wins; mirrors then the location, prefix replaced',
      image: 'quay.io/ns/app:v1',
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "a.io/q"\n\n[[registry]]\nprefix = "quay.io/ns"\nlocation = "quay.io/ns"\n[[registry.mirror]]\nlocation = "b.io/x"\n`,
      want: ['GET https://b.io/v2/x/app/manifests/v1', 'GET https://quay.io/v2/ns/app/manifests/v1'],
      prefix: 'quay.io/ns',
    },
    {
      why: 'a prefix matches only at a "/" boundary: quay.io/n does not match quay.io/ns',
      image: 'quay.io/ns/app:v1',
      conf: `[[registry]]\nprefix = "quay.io/n"\nlocation = "quay.io/n"\n[[registry.mirror]]\nlocation = "b.io/x"\n`,
      want: ['GET https://quay.io/v2/ns/app/manifests/v1'],
    },
    {
      why: 'mirror-by-digest-only: a tag pull skips every mirror',
      image: 'quay.io/ns/app:v1',
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "a.io"\n`,
      want: ['GET https://quay.io/v2/ns/app/manifests/v1'],
    },
    {
      why: 'mirror-by-digest-only: a digest pull uses the mirrors',
      image: `quay.io/ns/app@${D}`,
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "a.io"\n`,
      want: [`GET https://a.io/v2/ns/app/manifests/${D}`, `GET https://quay.io/v2/ns/app/manifests/${D}`],
    },
    {
      why: 'pull-from-mirror filters each mirror by pull kind (tag pull)',
      image: 'quay.io/ns/app:v1',
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "d.io"\npull-from-mirror = "digest-only"\n[[registry.mirror]]\nlocation = "t.io"\npull-from-mirror = "tag-only"\n`,
      want: ['GET https://t.io/v2/ns/app/manifests/v1', 'GET https://quay.io/v2/ns/app/manifests/v1'],
    },
    {
      why: 'pull-from-mirror filters each mirror by pull kind (digest pull)',
      image: `quay.io/ns/app@${D}`,
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "d.io"\npull-from-mirror = "digest-only"\n[[registry.mirror]]\nlocation = "t.io"\npull-from-mirror = "tag-only"\n`,
      want: [`GET https://d.io/v2/ns/app/manifests/${D}`, `GET https://quay.io/v2/ns/app/manifests/${D}`],
    },
    {
      why: 'blocked is checked per endpoint: the source is refused, its mirror is still tried',
      image: `quay.io/ns/app@${D}`,
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\nblocked = true\n[[registry.mirror]]\nlocation = "a.io"\n`,
      want: [`GET https://a.io/v2/ns/app/manifests/${D}`],
    },
    {
      why: 'a mirror inside a blocked prefix is refused too',
      image: `quay.io/ns/app@${D}`,
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "a.io/x"\n\n[[registry]]\nprefix = "a.io"\nlocation = "a.io"\nblocked = true\n`,
      want: [`GET https://quay.io/v2/ns/app/manifests/${D}`],
    },
    {
      why: 'equally long prefixes: the first in sort order wins ("*" sorts before letters)',
      image: 'a.example.com/app:v1',
      conf: `[[registry]]\nprefix = "a.example.com"\nlocation = "a.example.com"\n[[registry.mirror]]\nlocation = "exact.io"\n\n[[registry]]\nprefix = "*.example.com"\n[[registry.mirror]]\nlocation = "wild.io"\n`,
      want: ['GET https://wild.io/v2/app/manifests/v1', 'GET https://a.example.com/v2/app/manifests/v1'],
      prefix: '*.example.com',
    },
    {
      why: 'the first entry of a prefix wins over a later one',
      image: 'quay.io/app:v1',
      conf: `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "first.io"\n\n[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "second.io"\n`,
      want: ['GET https://first.io/v2/app/manifests/v1', 'GET https://quay.io/v2/app/manifests/v1'],
    },
    {
      why: 'Docker Hub is reached at registry-1.docker.io',
      image: 'nginx:1',
      conf: `[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n`,
      want: ['GET https://registry-1.docker.io/v2/library/nginx/manifests/1'],
    },
  ];
  for (const row of rows) {
    it(row.why, () => {
      const r = ci(row.image, row.conf);
      expect(urls(r)).to.deep.equal(row.want);
      if (row.prefix) expect(r.match?.prefix).to.equal(row.prefix);
    });
  }

  it('a file combining mirror-by-digest-only and pull-from-mirror is refused by the loader: every pull fails', () => {
    const r = ci(
      'quay.io/app:v1',
      `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "a.io"\npull-from-mirror = "tag-only"\n`,
    );
    expect(r.pull.status).to.equal('fails');
    expect(r.requests).to.deep.equal([]);
  });

  it('the loader normalizes: trailing "/" trimmed, prefix defaults to location, sorted by prefix', () => {
    const read = readRegistriesConf(`[[registry]]\nlocation = "z.io/"\n[[registry]]\nprefix = "a.io/"\nlocation = "a.io"\n`);
    expect(read.ok && read.registries.map((r) => r.prefix)).to.deep.equal(['a.io', 'z.io']);
  });

  it('TLS per endpoint: insecure allows HTTP; certs.d CA and client certificate of the endpoint host', () => {
    const r = ci(`quay.io/app@${D}`, `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "m.io:5000"\ninsecure = true\n`, {
      '/etc/containers/certs.d/quay.io/ca.crt': 'pem',
      '/etc/containers/certs.d/quay.io/client.cert': 'pem',
      '/etc/containers/certs.d/quay.io/client.key': 'pem',
    });
    const [mirror, source] = [r.endpoints[0]!, r.endpoints[1]!];
    expect(mirror.tls).to.include({ verify: false, httpFallback: true });
    expect(source.tls).to.deep.include({ verify: true, caFiles: ['/etc/containers/certs.d/quay.io/ca.crt'] });
    expect(source.tls.clientCertificates).to.deep.equal([
      { cert: '/etc/containers/certs.d/quay.io/client.cert', key: '/etc/containers/certs.d/quay.io/client.key' },
    ]);
  });

  it('credentials: the auth.json entry of the endpoint host, named, never shown', () => {
    const r = ci(`quay.io/app@${D}`, `[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "m.io"\n`, {
      '/etc/containers/auth.json': JSON.stringify({ auths: { 'm.io': { auth: Buffer.from('u:s3cret').toString('base64') } } }),
    });
    expect(r.endpoints[0]!.credentials).to.include({ file: '/etc/containers/auth.json', entry: 'm.io' });
    expect(r.endpoints[1]!.credentials).to.equal(undefined);
    expect(JSON.stringify(r)).to.not.include(Buffer.from('u:s3cret').toString('base64'));
  });
});

describe('explain: containerd reads certs.d/<host>/hosts.toml', () => {
  const rows: Array<{ why: string; image: string; files: Record<string, string>; want: string[]; dir?: string }> = [
    {
      why: 'host tables in file order, then server; mirrors get ?ns=<registry>',
      image: 'quay.io/ns/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: 'server = "https://quay.io"\n[host."https://z.io"]\n[host."https://a.io"]\n' },
      want: [
        'HEAD https://z.io/v2/ns/app/manifests/v1?ns=quay.io',
        'HEAD https://a.io/v2/ns/app/manifests/v1?ns=quay.io',
        'HEAD https://quay.io/v2/ns/app/manifests/v1',
      ],
      dir: `${CERTS}/quay.io`,
    },
    {
      why: 'a digest: manifests on every host, then blobs on every host',
      image: `quay.io/app@${D}`,
      files: { [`${CERTS}/quay.io/hosts.toml`]: 'server = "https://quay.io"\n[host."https://m.io"]\ncapabilities = ["pull"]\n' },
      want: [
        `HEAD https://m.io/v2/app/manifests/${D}?ns=quay.io`,
        `HEAD https://quay.io/v2/app/manifests/${D}`,
        `HEAD https://m.io/v2/app/blobs/${D}?ns=quay.io`,
        `HEAD https://quay.io/v2/app/blobs/${D}`,
      ],
    },
    {
      why: 'a tag needs resolve: a pull-only host is skipped',
      image: 'quay.io/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: 'server = "https://quay.io"\n[host."https://m.io"]\ncapabilities = ["pull"]\n' },
      want: ['HEAD https://quay.io/v2/app/manifests/v1'],
    },
    {
      why: 'override_path: the URL path is the API root',
      image: 'quay.io/ns/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: '[host."https://m.io/v2/cache"]\noverride_path = true\n' },
      want: ['HEAD https://m.io/v2/cache/ns/app/manifests/v1?ns=quay.io', 'HEAD https://quay.io/v2/ns/app/manifests/v1'],
    },
    {
      why: 'without override_path a path gets a second /v2 (the mistake containerd users hit)',
      image: 'quay.io/ns/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: '[host."https://m.io/v2/cache"]\n' },
      want: ['HEAD https://m.io/v2/cache/v2/ns/app/manifests/v1?ns=quay.io', 'HEAD https://quay.io/v2/ns/app/manifests/v1'],
    },
    {
      why: 'a path ending in /v2 is kept as it is',
      image: 'quay.io/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: '[host."https://m.io/cache/v2"]\n' },
      want: ['HEAD https://m.io/cache/v2/app/manifests/v1?ns=quay.io', 'HEAD https://quay.io/v2/app/manifests/v1'],
    },
    {
      why: 'host:port looks for host_port_ first',
      image: 'reg:5000/app:v1',
      files: {
        [`${CERTS}/reg_5000_/hosts.toml`]: '[host."https://a.io"]\n',
        [`${CERTS}/reg:5000/hosts.toml`]: '[host."https://b.io"]\n',
      },
      want: ['HEAD https://a.io/v2/app/manifests/v1?ns=reg%3A5000', 'HEAD https://reg:5000/v2/app/manifests/v1'],
      dir: `${CERTS}/reg_5000_`,
    },
    {
      why: '_default when the host has no directory',
      image: 'ghcr.io/app:v1',
      files: { [`${CERTS}/_default/hosts.toml`]: '[host."https://m.io"]\n' },
      want: ['HEAD https://m.io/v2/app/manifests/v1?ns=ghcr.io', 'HEAD https://ghcr.io/v2/app/manifests/v1'],
      dir: `${CERTS}/_default`,
    },
    {
      why: 'a file without host tables is ignored (containerd 1.6 falls back to the certificate files)',
      image: 'quay.io/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: 'server = "https://m.io"\n' },
      want: ['HEAD https://quay.io/v2/app/manifests/v1'],
    },
    {
      why: 'a file that does not parse is ignored',
      image: 'quay.io/app:v1',
      files: { [`${CERTS}/quay.io/hosts.toml`]: '[host."https://m.io"\n' },
      want: ['HEAD https://quay.io/v2/app/manifests/v1'],
    },
    {
      why: 'docker.io: the default server is registry-1.docker.io, which gets no ?ns=',
      image: 'nginx:1',
      files: { [`${CERTS}/docker.io/hosts.toml`]: '[host."https://m.io"]\n' },
      want: ['HEAD https://m.io/v2/library/nginx/manifests/1?ns=docker.io', 'HEAD https://registry-1.docker.io/v2/library/nginx/manifests/1'],
    },
    {
      why: 'no directory at all: the registry itself',
      image: 'quay.io/app:v1',
      files: {},
      want: ['HEAD https://quay.io/v2/app/manifests/v1'],
    },
  ];
  for (const row of rows) {
    it(row.why, () => {
      const r = cd(row.image, row.files);
      expect(urls(r)).to.deep.equal(row.want);
      if (row.dir) expect(r.dir).to.equal(row.dir);
    });
  }

  it('no host can resolve a tag: "no resolve hosts", the pull fails', () => {
    const r = cd('quay.io/app:v1', {
      [`${CERTS}/quay.io/hosts.toml`]: 'server = "https://m.io"\ncapabilities = ["pull"]\n[host."https://m.io"]\ncapabilities = ["pull"]\n',
    });
    expect(r.pull.status).to.equal('fails');
    expect(r.sourceContacted).to.equal('never');
  });

  it('TLS and credentials per host: ca relative to the directory, authorization header named only', () => {
    const r = cd(`quay.io/app@${D}`, {
      [`${CERTS}/quay.io/hosts.toml`]: '[host."https://m.io"]\nca = "m.io.crt"\n[host."https://m.io".header]\nauthorization = "Basic c2VjcmV0"\n',
      [`${CERTS}/quay.io/m.io.crt`]: 'pem',
    });
    expect(r.endpoints[0]!.tls.caFiles).to.deep.equal([`${CERTS}/quay.io/m.io.crt`]);
    expect(r.endpoints[0]!.credentials).to.include({ entry: 'header authorization' });
    expect(JSON.stringify(r)).to.not.include('c2VjcmV0');
  });

  it('an http:// URL with skip_verify: HTTPS without verification first, then plain HTTP', () => {
    const r = cd('quay.io/app:v1', { [`${CERTS}/quay.io/hosts.toml`]: '[host."http://m.io:5000"]\nskip_verify = true\n' });
    expect(r.endpoints[0]!.tls).to.include({ scheme: 'https', verify: false, httpFallback: true });
  });
});
