// Scenario 1: an IDMS mirror with NeverContactSource. Digest pulls come from
// the mirror and the source is never contacted, not even when the image is
// missing on the mirror or the pull is by tag (which digest mirrors cannot serve).
import { expect } from 'chai';
import { idms, plainHTTP, registryAccess } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { consumers, containerdConsumers, containersImageConsumers, explain, lines, manifestRequests, statusesOf, World, type TestImage } from './lib/world.js';

describe('consumer: IDMS mirror with NeverContactSource', function () {
  const world = new World();
  let source: Registry;
  let mirror: Registry;
  let img: TestImage;
  let onlyAtSource: TestImage;
  let otherRepo: TestImage;
  let rendered: Rendered;

  before(async function () {
    [source, mirror] = await Promise.all([world.registry(), world.registry()]);
    [img, onlyAtSource, otherRepo] = await Promise.all([
      world.image('never-contact'),
      world.image('never-contact-source-only', 'only-src'),
      world.image('never-contact-other-repo'),
    ]);
    // The source holds every image, so any pull that reached it would succeed.
    [rendered] = await Promise.all([
      renderOk([
        idms('team-app', [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`], mirrorSourcePolicy: 'NeverContactSource' }]),
        registryAccess('test-registries', plainHTTP(source.host, mirror.host)),
      ]),
      world.push(img, source, 'team/app'),
      world.push(img, mirror, 'team/app'),
      world.push(onlyAtSource, source, 'team/app'),
      world.push(otherRepo, source, 'other/app'),
    ]);
  });
  after(() => world.stop());
  beforeEach(() => world.clearLogs());

  for (const c of consumers(world)) {
    it(`${c.label}: pulls by digest from the mirror with zero connections to the source`, async function () {
      const r = await c.pull(rendered, `${source.host}/team/app@${img.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      const got = lines(mirror.requestsFor('team/app'));
      expect(got, why).to.include(`GET /v2/team/app/manifests/${img.manifestDigest} 200`);
      expect(got, why).to.include(`GET /v2/team/app/blobs/${img.layerDigest} 200`);
      expect(source.connections(), why).to.equal(0);
    });

    it(`${c.label}: fails for a digest missing on the mirror, still without contacting the source`, async function () {
      const r = await c.pull(rendered, `${source.host}/team/app@${onlyAtSource.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.not.equal(0);
      // skopeo asks with GET, containerd with HEAD: the method is theirs, the 404 is the point.
      expect(statusesOf(mirror, `/v2/team/app/manifests/${onlyAtSource.manifestDigest}`), why).to.deep.equal([404]);
      expect(source.connections(), why).to.equal(0);
    });

    it(`${c.label}: fails a tag pull (only digest mirrors exist) without contacting the source`, async function () {
      const r = await c.pull(rendered, `${source.host}/team/app:${img.tag}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.not.equal(0);
      // containerd: the mirror lacks "resolve" and the source is replaced; skopeo: the source is blocked.
      expect(r.stderr, why).to.match(c.family === 'containerd' ? /no resolve hosts/ : /blocked/);
      expect(manifestRequests(mirror, 'team/app'), why).to.deep.equal([]);
      expect(source.connections(), why).to.equal(0);
    });
  }

  // The policy is for the repository team/app. containerd configures whole
  // hosts, so there it blocks every repository of the source host; the CLI
  // says so (HostWideWidening), and this pins what the consumers really do.
  for (const c of containersImageConsumers(world)) {
    it(`${c.label}: another repository of the source host is still pulled from the source`, async function () {
      const r = await c.pull(rendered, `${source.host}/other/app@${otherRepo.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(statusesOf(source, `/v2/other/app/manifests/${otherRepo.manifestDigest}`), why).to.deep.equal([200]);
      expect(mirror.requests(), why).to.deep.equal([]);
    });
  }

  for (const c of containerdConsumers(world)) {
    it(`${c.label}: the block is host-wide, as the CLI warns: another repository fails without contacting the source`, async function () {
      expect(rendered.result.stderr).to.match(/never contacts .* for any repository.*\[HostWideWidening\]/);
      const r = await c.pull(rendered, `${source.host}/other/app@${otherRepo.manifestDigest}`);
      const why = await explain(rendered, r, { source, mirror });
      expect(r.code, why).to.not.equal(0);
      expect(statusesOf(mirror, `/v2/other/app/manifests/${otherRepo.manifestDigest}`), why).to.deep.equal([404]);
      expect(source.connections(), why).to.equal(0);
    });
  }
});
