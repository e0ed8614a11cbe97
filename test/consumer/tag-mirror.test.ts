// Scenario 2: ITMS mirrors serve pulls by tag. The mirror and the source
// hold different images under the same tag, so the blobs fetched show
// which registry the pull really used.
import { expect } from 'chai';
import { itms, plainHTTP, registryAccess } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import type { ContainersImageRuntime } from './lib/runtimes.js';
import { renderOk, type Rendered } from './lib/render.js';
import { inspectRawOnNode, skopeoOnNode } from './lib/skopeo.js';
import { consumers, containerdConsumers, containersImageConsumers, explain, lines, statusesOf, World, type TestImage } from './lib/world.js';

describe('consumer: ITMS mirror for tag pulls', function () {
  const world = new World();
  let source: Registry;
  let mirror: Registry;
  let atSource: TestImage;
  let atMirror: TestImage;
  let rendered: Rendered;

  before(async function () {
    [source, mirror] = await Promise.all([world.registry(), world.registry()]);
    [atSource, atMirror] = await Promise.all([world.image('tag-source'), world.image('tag-mirror')]);
    [rendered] = await Promise.all([
      renderOk([
        itms('team-app', [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`] }]),
        registryAccess('test-registries', plainHTTP(source.host, mirror.host)),
      ]),
      world.push(atSource, source, 'team/app'),
      world.push(atMirror, mirror, 'team/app'),
    ]);
  });
  after(() => world.stop());
  beforeEach(() => world.clearLogs());

  for (const c of consumers(world)) {
    it(`${c.label}: resolves the tag on the mirror and fetches the mirror's image`, async function () {
      const r = await c.pull(rendered, `${source.host}/team/app:v1`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(statusesOf(mirror, '/v2/team/app/manifests/v1'), why).to.deep.equal([200]);
      expect(lines(mirror.requestsFor('team/app')), why).to.include(`GET /v2/team/app/blobs/${atMirror.layerDigest} 200`);
      // The mirror answered, so the source (AllowContactingSource) was not needed.
      expect(source.connections(), why).to.equal(0);
    });
  }

  for (const c of containersImageConsumers(world)) {
    it(`${c.label}: a digest pull does not use tag-only mirrors`, async function () {
      const r = await c.pull(rendered, `${source.host}/team/app@${atSource.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(mirror.requestsFor('team/app'), why).to.deep.equal([]);
      expect(statusesOf(source, `/v2/team/app/manifests/${atSource.manifestDigest}`), why).to.deep.equal([200]);
    });

    // --raw (manifest only) goes through the mirrors, as a pull does.
    it(`${c.label}: inspect --raw resolves the tag on the mirror only`, async function () {
      const r = await inspectRawOnNode(rendered.out, `${source.host}/team/app:v1`, (c.runtime as ContainersImageRuntime).bin);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(JSON.parse(r.stdout), why).to.have.nested.property('layers[0].digest', atMirror.layerDigest);
      expect(statusesOf(mirror, '/v2/team/app/manifests/v1'), why).to.deep.equal([200]);
      expect(source.connections(), why).to.equal(0);
    });
  }

  // skopeo's own CLI (1.9.3): the default `inspect` also lists the
  // repository's tags, and that request always goes to the source, mirrors
  // or not. A skopeo behaviour, not containers/image's pull path, so it is
  // pinned for skopeo only.
  it('skopeo 1.9.3: plain inspect takes the manifest from the mirror but lists tags at the source', async function () {
    const r = await skopeoOnNode(rendered.out, ['inspect', `docker://${source.host}/team/app:v1`]);
    const why = await explain(rendered, r, { source, mirror });
    expect(r.code, why).to.equal(0);
    expect(statusesOf(mirror, '/v2/team/app/manifests/v1'), why).to.deep.equal([200]);
    expect(lines(source.requestsFor('team/app')), why).to.deep.equal(['GET /v2/team/app/tags/list 200']);
  });

  for (const c of containerdConsumers(world)) {
    it(`${c.label}: tag-only is approximated (the CLI warns), so a digest pull asks the mirror first, then the source`, async function () {
      expect(rendered.result.stderr).to.match(/is also used for pulls by digest \[TagOnlyApproximated\]/);
      const r = await c.pull(rendered, `${source.host}/team/app@${atSource.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(statusesOf(mirror, `/v2/team/app/manifests/${atSource.manifestDigest}`), why).to.deep.equal([404]);
      expect(statusesOf(source, `/v2/team/app/manifests/${atSource.manifestDigest}`), why).to.deep.equal([200]);
    });
  }
});
