// Scenario 5: a TLS mirror whose certificate comes from a private CA. With
// the CA rendered from RegistryAccess (a ConfigMap key) both consumers trust
// the mirror; without it they reject its certificate (x509) and either fall
// back to the source (AllowContactingSource) or fail (NeverContactSource).
//
// The mirror is on 127.0.0.1, which containerd treats specially (plain
// HTTP is allowed for localhost): these tests never render skip_verify for
// the mirror, and they check that a rejected mirror got a TLS connection but
// no HTTP request at all, so no plain-HTTP fallback hides a CA problem.
import { expect } from 'chai';
import { configMap, idms, NS, registryAccess, type HostSpec, type Policy } from './lib/inputs.js';
import { tempDir, removeDir } from './lib/proc.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { makeServerCert, type TlsMaterial } from './lib/tls.js';
import { consumers, explain, lines, statusesOf, World, type TestImage } from './lib/world.js';

describe('consumer: TLS mirror with a private CA', function () {
  const world = new World();
  let certDir: string;
  let tls: TlsMaterial;
  let source: Registry;
  let mirror: Registry;
  let img: TestImage;
  let rendered: Record<'allowWithCA' | 'allowNoCA' | 'neverNoCA', Rendered>;

  const render = (policy: Policy, withCA: boolean): Promise<Rendered> => {
    const mirrorAccess: HostSpec = { host: mirror.host };
    if (withCA) mirrorAccess.ca = { configMapKeyRef: { namespace: NS, name: 'mirror-ca', key: 'ca.crt' } };
    return renderOk([
      idms('tls', [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`], mirrorSourcePolicy: policy }]),
      registryAccess('test-registries', [mirrorAccess, { host: source.host, plainHTTP: true }]),
      configMap('mirror-ca', { 'ca.crt': tls.caPEM }),
    ]);
  };

  before(async function () {
    certDir = await tempDir('certs');
    tls = await makeServerCert(certDir);
    [source, mirror] = await Promise.all([world.registry(), world.registry({ tls })]);
    img = await world.image('tls');
    const [[allowWithCA, allowNoCA, neverNoCA]] = await Promise.all([
      Promise.all([render('AllowContactingSource', true), render('AllowContactingSource', false), render('NeverContactSource', false)]),
      world.push(img, source, 'team/app'),
      world.push(img, mirror, 'team/app'),
    ]);
    rendered = { allowWithCA, allowNoCA, neverNoCA };
  });
  after(async () => {
    await world.stop();
    await removeDir(certDir);
  });
  beforeEach(() => world.clearLogs());

  for (const c of consumers(world)) {
    it(`${c.label}: trusts the mirror with the rendered CA and pulls from it`, async function () {
      const out = rendered.allowWithCA;
      const r = await c.pull(out, `${source.host}/team/app@${img.manifestDigest}`);
      const why = await explain(out, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(statusesOf(mirror, `/v2/team/app/manifests/${img.manifestDigest}`), why).to.deep.equal([200]);
      expect(lines(mirror.requestsFor('team/app')), why).to.include(`GET /v2/team/app/blobs/${img.layerDigest} 200`);
      expect(source.connections(), why).to.equal(0);
    });

    it(`${c.label}: without the CA rejects the mirror (x509) and falls back to the source`, async function () {
      const out = rendered.allowNoCA;
      const r = await c.pull(out, `${source.host}/team/app@${img.manifestDigest}`);
      const why = await explain(out, r, { source, mirror });
      expect(r.code, why).to.equal(0);
      expect(r.stderr, why).to.match(/x509: certificate signed by unknown authority/);
      expect(mirror.connections(), why).to.be.greaterThan(0);
      expect(mirror.requests(), why).to.deep.equal([]); // handshake refused: not one HTTP request
      expect(statusesOf(source, `/v2/team/app/manifests/${img.manifestDigest}`), why).to.deep.equal([200]);
    });

    it(`${c.label}: without the CA and with NeverContactSource fails with x509, source untouched`, async function () {
      const out = rendered.neverNoCA;
      const r = await c.pull(out, `${source.host}/team/app@${img.manifestDigest}`);
      const why = await explain(out, r, { source, mirror });
      expect(r.code, why).to.not.equal(0);
      expect(r.stderr, why).to.match(/x509: certificate signed by unknown authority/);
      expect(mirror.requests(), why).to.deep.equal([]);
      expect(source.connections(), why).to.equal(0);
    });
  }
});
