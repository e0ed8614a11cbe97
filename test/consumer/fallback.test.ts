// Scenario 3: with AllowContactingSource a pull falls back to the source when
// the mirror lacks the image (it answers 404) or is down (connection refused).
// Each case has its own source registry, because containerd configures
// mirrors per source host and the two cases must not share one.
import { expect } from 'chai';
import { idms, itms, OPENSHIFT_API, plainHTTP, registryAccess, type Entry } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { consumers, explain, lines, statusesOf, World, type TestImage } from './lib/world.js';

describe('consumer: AllowContactingSource falls back to the source', function () {
  const world = new World();
  let emptySource: Registry;
  let emptyMirror: Registry;
  let downSource: Registry;
  let downMirrorHost: string;
  let img: TestImage;
  let rendered: Rendered;

  before(async function () {
    let downMirror: Registry;
    [emptySource, emptyMirror, downSource, downMirror] = await Promise.all([world.registry(), world.registry(), world.registry(), world.registry()]);
    // A registry that existed and is gone: its port now refuses connections.
    downMirrorHost = downMirror.host;
    await downMirror.stop();
    img = await world.image('fallback');
    const entries = (src: Registry, mirrorHost: string): Entry[] => [
      { source: `${src.host}/team/app`, mirrors: [`${mirrorHost}/team/app`], mirrorSourcePolicy: 'AllowContactingSource' },
    ];
    [rendered] = await Promise.all([
      renderOk([
        // OpenShift's own config.openshift.io/v1 documents, as exported from a cluster.
        idms('fallback-digest', [...entries(emptySource, emptyMirror.host), ...entries(downSource, downMirrorHost)], OPENSHIFT_API),
        itms('fallback-tag', [...entries(emptySource, emptyMirror.host), ...entries(downSource, downMirrorHost)], OPENSHIFT_API),
        registryAccess('test-registries', plainHTTP(emptySource.host, emptyMirror.host, downSource.host, downMirrorHost)),
      ]),
      world.push(img, emptySource, 'team/app'),
      world.push(img, downSource, 'team/app'),
    ]);
  });
  after(() => world.stop());
  beforeEach(() => world.clearLogs());

  const refs = [
    { pool: 'digest (IDMS)', ref: (host: string): string => `${host}/team/app@${img.manifestDigest}`, manifest: (): string => img.manifestDigest },
    { pool: 'tag (ITMS)', ref: (host: string): string => `${host}/team/app:${img.tag}`, manifest: (): string => img.tag },
  ];

  for (const c of consumers(world)) {
    for (const { pool, ref, manifest } of refs) {
      it(`${c.label}: ${pool} pull falls back to the source when the mirror lacks the image`, async function () {
        const r = await c.pull(rendered, ref(emptySource.host));
        const why = await explain(rendered, r, { source: emptySource, mirror: emptyMirror });
        expect(r.code, why).to.equal(0);
        expect(statusesOf(emptyMirror, `/v2/team/app/manifests/${manifest()}`), why).to.deep.equal([404]);
        expect(statusesOf(emptySource, `/v2/team/app/manifests/${manifest()}`), why).to.deep.equal([200]);
        expect(lines(emptySource.requestsFor('team/app')), why).to.include(`GET /v2/team/app/blobs/${img.layerDigest} 200`);
      });

      it(`${c.label}: ${pool} pull falls back to the source when the mirror is down`, async function () {
        const r = await c.pull(rendered, ref(downSource.host));
        const why = await explain(rendered, r, { source: downSource });
        expect(r.code, why).to.equal(0);
        expect(r.stderr, why).to.include(downMirrorHost); // it did try the mirror first
        expect(statusesOf(downSource, `/v2/team/app/manifests/${manifest()}`), why).to.deep.equal([200]);
        expect(lines(downSource.requestsFor('team/app')), why).to.include(`GET /v2/team/app/blobs/${img.layerDigest} 200`);
      });
    }
  }
});
