// A dead mirror that does not refuse connections. With AllowContactingSource
// the pull should move on to the source; how long that takes is the point.
// - Blackhole (connect never completes): hosts.toml carries
//   `dial_timeout = "5s"` on every mirror table. containerd 2.4.2 honours it
//   (15 s for the three requests of a pull); 1.6.20 reads the same file and
//   ignores the key, so it waits its default 30 s per request to the mirror
//   (90 s, then the source served it).
// - Silent (accepts, never answers): no dial timeout applies once connected,
//   and containerd sets no response timeout, so neither release fails over:
//   the pull hangs until its caller gives up (the kubelet's deadline, for CRI).
//   Pinned here so a change on either side shows.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { MIRROR_DIAL_TIMEOUT } from '../../src/render/hosts-toml.js';
import { Blackhole, Silent } from './lib/dead.js';
import { idms, plainHTTP, registryAccess } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { containerdRuntimes } from './lib/runtimes.js';
import { explain, statusesOf, World, type TestImage } from './lib/world.js';

/** How long a pull is given before it counts as hanging (more than twice the rendered dial timeout). */
const HANG_MS = 12_000;

describe('consumer: a dead mirror that does not refuse connections', function () {
  this.timeout(240_000);
  const world = new World();
  let blackhole: Blackhole;
  let silent: Silent;
  let viaBlackhole: Registry;
  let viaSilent: Registry;
  let img: TestImage;
  let rendered: Rendered;

  before(async function () {
    [blackhole, silent, viaBlackhole, viaSilent] = await Promise.all([Blackhole.start(), Silent.start(), world.registry(), world.registry()]);
    img = await world.image('dead-mirror');
    [rendered] = await Promise.all([
      renderOk([
        idms('dead', [
          { source: `${viaBlackhole.host}/team/app`, mirrors: [`${blackhole.host}/team/app`] },
          { source: `${viaSilent.host}/team/app`, mirrors: [`${silent.host}/team/app`] },
        ]),
        registryAccess('test-registries', plainHTTP(viaBlackhole.host, viaSilent.host, blackhole.host, silent.host)),
      ]),
      world.push(img, viaBlackhole, 'team/app'),
      world.push(img, viaSilent, 'team/app'),
    ]);
  });
  after(async () => {
    await world.stop();
    await Promise.all([blackhole?.stop(), silent?.stop()]);
  });
  beforeEach(() => world.clearLogs());

  it(`renders dial_timeout = "${MIRROR_DIAL_TIMEOUT}" on the mirror's table, not on server`, async function () {
    const dir = viaBlackhole.host.replace(':', '_') + '_';
    const file = parse(await readFile(join(rendered.hostsDir, dir, 'hosts.toml'), 'utf8')) as Record<string, unknown>;
    expect(file.dial_timeout).to.equal(undefined);
    const host = (file.host as Record<string, Record<string, unknown>>)[`http://${blackhole.host}`];
    expect(host?.dial_timeout).to.equal(MIRROR_DIAL_TIMEOUT);
  });

  for (const rt of containerdRuntimes()) {
    if (rt.major === 2) {
      // Three requests (manifest, config, layer), each tries the mirror first: about 3 x 5 s. Ignoring the
      // key would cost 30 s on the first request alone, so anything under 29 s proves it was read.
      it(`${rt.label}: a blackholed mirror fails over after the rendered ${MIRROR_DIAL_TIMEOUT} per request, and the source serves`, async function () {
        const ctrd = await world.containerd(rt);
        const t0 = Date.now();
        const r = await ctrd.fetch(rendered.hostsDir, `${viaBlackhole.host}/team/app@${img.manifestDigest}`, 120_000);
        const seconds = (Date.now() - t0) / 1000;
        const why = `${await explain(rendered, r, { source: viaBlackhole })}\nelapsed ${seconds} s`;
        expect(r.code, why).to.equal(0);
        expect(statusesOf(viaBlackhole, `/v2/team/app/manifests/${img.manifestDigest}`), why).to.deep.equal([200]);
        expect(seconds, why).to.be.within(4.5, 29);
      });
    } else {
      // The same file; 1.6 ignores the key and waits its default 30 s per request (90 s for this pull,
      // measured once by hand), so past twice the rendered timeout it is still waiting, source untouched.
      it(`${rt.label}: ignores dial_timeout: still waiting on a blackholed mirror after ${HANG_MS / 1000} s`, async function () {
        const ctrd = await world.containerd(rt);
        const t0 = Date.now();
        const r = await ctrd.fetch(rendered.hostsDir, `${viaBlackhole.host}/team/app@${img.manifestDigest}`, HANG_MS);
        const seconds = (Date.now() - t0) / 1000;
        const why = `${await explain(rendered, r, { source: viaBlackhole })}\nelapsed ${seconds} s`;
        expect(r.code, why).to.not.equal(0);
        expect(seconds, why).to.be.at.least(HANG_MS / 1000 - 0.5);
        expect(viaBlackhole.connections(), why).to.equal(0);
      });
    }

    it(`${rt.label}: a mirror that accepts connections and never answers holds the pull (no failover within ${HANG_MS / 1000} s)`, async function () {
      const ctrd = await world.containerd(rt);
      const before = silent.connections();
      const t0 = Date.now();
      const r = await ctrd.fetch(rendered.hostsDir, `${viaSilent.host}/team/app@${img.manifestDigest}`, HANG_MS);
      const seconds = (Date.now() - t0) / 1000;
      const why = `${await explain(rendered, r, { source: viaSilent })}\nelapsed ${seconds} s`;
      expect(r.code, why).to.not.equal(0);
      expect(seconds, why).to.be.at.least(HANG_MS / 1000 - 0.5);
      expect(silent.connections() - before, why).to.be.greaterThan(0);
      expect(viaSilent.connections(), why).to.equal(0);
    });
  }
});
