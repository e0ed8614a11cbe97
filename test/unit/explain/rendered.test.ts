// explain over what the renderers emit: SPEC rows written as the endpoints a
// runtime must try, for IDMS and ITMS shapes and rotated inputs. The
// expectations come from the SPEC, not from the renderer, so a renderer
// change that breaks them fails here; attribution and secrets too.
import { expect } from 'chai';
import { explain, parseImageRef, type ContainerdExplanation, type ContainersImageExplanation, type Explanation } from '../../../src/explain/index.js';
import { formatExplanation } from '../../../src/explain/format.js';
import { merge } from '../../../src/merge/index.js';
import type { MergeInputs, Pool } from '../../../src/model/types.js';
import { render } from '../../../src/render/index.js';
import { access, digest, entry, inputs, orders, scope, tag } from '../merge/build.js';

const D = `sha256:${'e'.repeat(64)}`;

function run(i: MergeInputs, image: string, mutate?: (path: string, content: string) => string): Explanation {
  const m = merge(i);
  if (!m.ok) throw new Error(JSON.stringify(m.errors));
  const out = render(m.value);
  const parsed = parseImageRef(image);
  if (!parsed.ok) throw new Error(parsed.error);
  const files = out.files.map((f) => ({ path: f.path, content: mutate ? mutate(f.path, f.content) : f.content }));
  return explain({ ref: parsed.ref, files, inputs: i, warnings: out.warnings, target: 'cluster', from: 'files' });
}

const ciOf = (e: Explanation) => e.runtimes.find((r) => r.runtime === 'containers-image') as ContainersImageExplanation;
const cdOf = (e: Explanation) => e.runtimes.find((r) => r.runtime === 'containerd') as ContainerdExplanation;
const urls = (r: { requests: Array<{ url: string }> }): string[] => r.requests.map((q) => q.url);

describe('explain: rendered files, SPEC rows (IDMS and ITMS shapes, rotated)', () => {
  const rows: Array<{
    why: string;
    entries: (pool: Pool) => ReturnType<typeof entry>[];
    image: (pool: Pool) => string;
    ci: (pool: Pool, obj: string) => string[];
    cd: (pool: Pool, obj: string) => string[];
    pull?: { ci: 'ok' | 'fails'; cd: 'ok' | 'fails' };
  }> = [
    {
      why: 'a host source and a mirror with a path: mirror first, then the source',
      entries: (p) => [entry(p, 'quay.io', ['m.io/quay'])],
      image: (p) => (p === 'digest' ? `quay.io/ns/app@${D}` : 'quay.io/ns/app:v1'),
      ci: (_p, o) => [`https://m.io/v2/quay/ns/app/manifests/${o}`, `https://quay.io/v2/ns/app/manifests/${o}`],
      cd: (p, o) => [
        `https://m.io/v2/quay/ns/app/manifests/${o}?ns=quay.io`,
        `https://quay.io/v2/ns/app/manifests/${o}`,
        ...(p === 'digest' ? [`https://m.io/v2/quay/ns/app/blobs/${o}?ns=quay.io`, `https://quay.io/v2/ns/app/blobs/${o}`] : []),
      ],
    },
    {
      why: 'merge order of two lists [a,b] + [b,c] is the order tried',
      entries: (p) => [entry(p, 'quay.io/ns', ['b.io/ns', 'c.io/ns'], { index: 1 }), entry(p, 'quay.io/ns', ['a.io/ns', 'b.io/ns'])],
      image: (p) => (p === 'digest' ? `quay.io/ns/app@${D}` : 'quay.io/ns/app:v1'),
      ci: (_p, o) => ['a.io', 'b.io', 'c.io', 'quay.io'].map((h) => `https://${h}/v2/ns/app/manifests/${o}`),
      cd: (p, o) => {
        const hosts = ['a.io', 'b.io', 'c.io', 'quay.io'];
        const q = (h: string) => (h === 'quay.io' ? '' : '?ns=quay.io');
        const kinds = p === 'digest' ? ['manifests', 'blobs'] : ['manifests'];
        return kinds.flatMap((k) => hosts.map((h) => `https://${h}/v2/ns/app/${k}/${o}${q(h)}`));
      },
    },
    {
      why: 'NeverContactSource: only the mirror, for its own pull kind; the source never',
      entries: (p) => [entry(p, 'quay.io/ns/app', ['m.io/x/ns/app'], { policy: 'NeverContactSource' })],
      image: (p) => (p === 'digest' ? `quay.io/ns/app@${D}` : 'quay.io/ns/app:v1'),
      ci: (_p, o) => [`https://m.io/v2/x/ns/app/manifests/${o}`],
      // containerd: the host table, then `server` is the same mirror (SPEC §4 NeverContactSource form).
      cd: (p, o) => {
        const m = `https://m.io/v2/x/ns/app/manifests/${o}?ns=quay.io`;
        const b = `https://m.io/v2/x/ns/app/blobs/${o}?ns=quay.io`;
        return p === 'digest' ? [m, m, b, b] : [m, m];
      },
    },
  ];
  for (const pool of ['digest', 'tag'] as const) {
    for (const row of rows) {
      it(`${pool}: ${row.why}`, () => {
        const obj = pool === 'digest' ? D : 'v1';
        for (const order of orders(row.entries(pool))) {
          const e = run(inputs({ entries: order }), row.image(pool));
          expect(urls(ciOf(e)), 'containers/image').to.deep.equal(row.ci(pool, obj));
          expect(urls(cdOf(e)), 'containerd').to.deep.equal(row.cd(pool, obj));
        }
      });
    }
  }

  it('SPEC §2.5: a more specific IDMS does not hide a less specific ITMS for tag pulls', () => {
    const i = inputs({ entries: [digest('quay.io', ['d.io/q']), digest('quay.io/ns', ['d2.io/ns']), tag('quay.io', ['t.io/q'])] });
    expect(urls(ciOf(run(i, `quay.io/ns/app@${D}`)))).to.deep.equal([`https://d2.io/v2/ns/app/manifests/${D}`, `https://quay.io/v2/ns/app/manifests/${D}`]);
    expect(urls(ciOf(run(i, 'quay.io/ns/app:v1')))).to.deep.equal(['https://t.io/v2/q/ns/app/manifests/v1', 'https://quay.io/v2/ns/app/manifests/v1']);
    // containerd tries every table of the host that can serve the pull kind; the tag mirror also serves digests (TagOnlyApproximated).
    const tagPull = cdOf(run(i, 'quay.io/ns/app:v1'));
    expect(urls(tagPull)).to.deep.equal(['https://t.io/v2/q/ns/app/manifests/v1?ns=quay.io', 'https://quay.io/v2/ns/app/manifests/v1']);
    expect(tagPull.warnings.map((w) => w.code)).to.include('TagOnlyApproximated');
  });

  it('digest-only mirror with NeverContactSource, pulled by tag: neither runtime can pull it (exit 3)', () => {
    const e = run(inputs({ entries: [digest('quay.io/ns/app', ['m.io/ns/app'], { policy: 'NeverContactSource' })] }), 'quay.io/ns/app:v1');
    expect(ciOf(e).pull.status).to.equal('fails');
    expect(cdOf(e).pull.status).to.equal('fails');
    expect(ciOf(e).sourceContacted).to.equal('never');
  });

  it('containerd widening: another repository of the host tries the mirror, and says why', () => {
    const e = run(inputs({ entries: [digest('quay.io/team/app', ['m.io/team/app'])] }), `quay.io/other/app@${D}`);
    const cd = cdOf(e);
    expect(urls(cd)[0]).to.equal(`https://m.io/v2/other/app/manifests/${D}?ns=quay.io`);
    expect(cd.endpoints[0]!.widenedFrom).to.deep.equal(['quay.io/team/app']);
    expect(cd.warnings.map((w) => w.code)).to.include('HostWideWidening');
    // containers/image matches by repository prefix: no mirror for quay.io/other/app.
    expect(urls(ciOf(e))).to.deep.equal([`https://quay.io/v2/other/app/manifests/${D}`]);
  });

  it('a blocked scope under a mirrored source keeps the mirrors and refuses the source', () => {
    const e = run(inputs({ entries: [digest('quay.io', ['m.io/q'])], blocked: [scope('quay.io/secret')] }), `quay.io/secret/app@${D}`);
    const ci = ciOf(e);
    expect(urls(ci)).to.deep.equal([`https://m.io/v2/q/secret/app/manifests/${D}`]);
    expect(ci.endpoints.find((x) => x.role === 'source')?.blockedBy).to.equal('quay.io/secret');
  });

  it('attribution names the object and field of each mirror, and of the rule', () => {
    const i = inputs({ entries: [digest('quay.io/ns', ['m.io/ns'], { name: 'release', index: 2 })] });
    const ci = ciOf(run(i, `quay.io/ns/app@${D}`));
    expect(ci.match?.contributors.map((c) => `${c.kind} ${c.name} ${c.field}`)).to.deep.equal(['ImageDigestMirrorSet release spec.imageDigestMirrors[2]']);
    expect(ci.endpoints[0]!.contributors.map((c) => c.what)).to.deep.equal(['digest mirror of quay.io/ns']);
  });

  it('the prediction is read from the files: a hosts.toml without override_path predicts the doubled /v2 path', () => {
    const i = inputs({ entries: [digest('quay.io', ['m.io/cache'])] });
    const broken = run(i, `quay.io/app@${D}`, (path, content) => (path.endsWith('/hosts.toml') ? content.replace(/override_path = true\n/g, '') : content));
    expect(urls(cdOf(broken))[0]).to.equal(`https://m.io/v2/cache/v2/app/manifests/${D}?ns=quay.io`);
    const good = run(i, `quay.io/app@${D}`);
    expect(urls(cdOf(good))[0]).to.equal(`https://m.io/v2/cache/app/manifests/${D}?ns=quay.io`);
  });

  it('never shows a credential, in JSON or in the human form', () => {
    const password = 'pa55-W0rd-never-shown';
    const i = inputs({ entries: [digest('quay.io', ['m.io'])], access: [access('m.io', { auth: { username: 'robot', password } })] });
    const e = run(i, `quay.io/app@${D}`);
    const texts = [JSON.stringify(e), formatExplanation(e)];
    const base64 = Buffer.from(`robot:${password}`).toString('base64');
    for (const t of texts) {
      expect(t).to.not.include(password);
      expect(t).to.not.include(base64);
    }
    expect(ciOf(e).endpoints[0]!.credentials?.entry).to.equal('m.io');
    expect(cdOf(e).endpoints[0]!.credentials?.entry).to.equal('header authorization');
  });
});
