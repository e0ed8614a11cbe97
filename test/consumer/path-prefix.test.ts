// Scenario 4: a mirror below a path prefix (`mirror/some/prefix/team/app`
// for `source/team/app`), for digest and tag pulls, with a repository-scoped
// and a namespace-scoped source.
import { expect } from 'chai';
import { idms, itms, plainHTTP, registryAccess, type Entry } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { consumers, explain, lines, statusesOf, World, type TestImage } from './lib/world.js';

describe('consumer: mirror with a path prefix', function () {
  const world = new World();
  let allowSource: Registry;
  let neverSource: Registry;
  let mirror: Registry;
  let app: TestImage;
  let lib: TestImage;
  let rendered: Rendered;

  before(async function () {
    [allowSource, neverSource, mirror] = await Promise.all([world.registry(), world.registry(), world.registry()]);
    [app, lib] = await Promise.all([world.image('prefix-app'), world.image('prefix-lib')]);
    const entries: Entry[] = [
      // repository-scoped source
      { source: `${allowSource.host}/team/app`, mirrors: [`${mirror.host}/some/prefix/team/app`], mirrorSourcePolicy: 'AllowContactingSource' },
      // namespace-scoped source: every repository under team/
      { source: `${allowSource.host}/team`, mirrors: [`${mirror.host}/some/prefix/team`], mirrorSourcePolicy: 'AllowContactingSource' },
      // NeverContactSource: containerd's `server` becomes the prefixed mirror too
      { source: `${neverSource.host}/team/app`, mirrors: [`${mirror.host}/never/prefix/team/app`], mirrorSourcePolicy: 'NeverContactSource' },
    ];
    [rendered] = await Promise.all([
      renderOk([
        idms('prefixed', entries),
        itms('prefixed', entries),
        registryAccess('test-registries', plainHTTP(allowSource.host, neverSource.host, mirror.host)),
      ]),
      world.push(app, mirror, 'some/prefix/team/app'),
      world.push(lib, mirror, 'some/prefix/team/lib'),
      world.push(app, mirror, 'never/prefix/team/app'),
      // The sources have them too: a pull that wrongly went there would succeed; the connection count catches it.
      ...[allowSource, neverSource].flatMap((s) => [world.push(app, s, 'team/app'), world.push(lib, s, 'team/lib')]),
    ]);
  });
  after(() => world.stop());
  beforeEach(() => world.clearLogs());

  const cases = [
    { what: 'repository-scoped source', source: (): Registry => allowSource, repo: 'team/app', prefix: 'some/prefix', img: (): TestImage => app },
    { what: 'namespace-scoped source', source: (): Registry => allowSource, repo: 'team/lib', prefix: 'some/prefix', img: (): TestImage => lib },
    { what: 'NeverContactSource source', source: (): Registry => neverSource, repo: 'team/app', prefix: 'never/prefix', img: (): TestImage => app },
  ];

  for (const c of consumers(world)) {
    for (const { what, source, repo, prefix, img } of cases) {
      for (const byDigest of [true, false]) {
        it(`${c.label}: ${what}, by ${byDigest ? 'digest' : 'tag'}, pulls from mirror/${prefix}/${repo}`, async function () {
          const [i, src] = [img(), source()];
          const reference = byDigest ? i.manifestDigest : i.tag;
          const r = await c.pull(rendered, `${src.host}/${repo}${byDigest ? '@' : ':'}${reference}`);
          const why = await explain(rendered, r, { source: src, mirror });
          expect(r.code, why).to.equal(0);
          const mirrored = `${prefix}/${repo}`;
          expect(statusesOf(mirror, `/v2/${mirrored}/manifests/${reference}`), why).to.deep.equal([200]);
          expect(lines(mirror.requestsFor(mirrored)), why).to.include(`GET /v2/${mirrored}/blobs/${i.layerDigest} 200`);
          // The first path tried on the mirror is the right one: no 404 from a wrongly built URL.
          expect(lines(mirror.requests().filter((q) => q.status >= 400)), why).to.deep.equal([]);
          expect(src.connections(), why).to.equal(0);
        });
      }
    }
  }
});
