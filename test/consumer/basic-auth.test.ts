// Scenario 6: a mirror that requires basic authentication. Credentials come
// from a Secret named by RegistryAccess.credentialsSecretRef, in the same
// input file; containerd gets them as an authorization header in the
// rendered hosts.toml, skopeo from the rendered auth.json (--authfile).
import { expect } from 'chai';
import { basicAuthSecret, idms, NS, registryAccess, type Doc } from './lib/inputs.js';
import type { Registry } from './lib/registry.js';
import { renderOk, type Rendered } from './lib/render.js';
import { consumers, explain, lines, World, type TestImage } from './lib/world.js';

const USER = 'puller';
const PASSWORD = 'consumer-test-password';

/** The same credentials as a `kubernetes.io/dockerconfigjson` Secret. */
function dockerConfigSecret(name: string, host: string): Doc {
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: NS, name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [host]: { auth } } })).toString('base64') },
  };
}

describe('consumer: basic-auth mirror with rendered credentials', function () {
  const world = new World();
  let source: Registry;
  let mirror: Registry;
  let img: TestImage;
  let rendered: Record<'basicAuth' | 'dockerConfig' | 'none', Rendered>;

  const render = (secret: Doc | undefined): Promise<Rendered> => {
    const ref = secret ? { credentialsSecretRef: { namespace: NS, name: secret.metadata.name } } : {};
    return renderOk([
      idms('auth', [{ source: `${source.host}/team/app`, mirrors: [`${mirror.host}/team/app`], mirrorSourcePolicy: 'NeverContactSource' }]),
      registryAccess('test-registries', [
        { host: mirror.host, plainHTTP: true, ...ref },
        { host: source.host, plainHTTP: true },
      ]),
      ...(secret ? [secret] : []),
    ]);
  };

  before(async function () {
    [source, mirror] = await Promise.all([world.registry(), world.registry({ auth: { username: USER, password: PASSWORD } })]);
    img = await world.image('basic-auth');
    const [[basicAuth, dockerConfig, none]] = await Promise.all([
      Promise.all([render(basicAuthSecret('mirror-basic', USER, PASSWORD)), render(dockerConfigSecret('mirror-dockercfg', mirror.host)), render(undefined)]),
      world.push(img, source, 'team/app'),
      world.push(img, mirror, 'team/app'),
    ]);
    rendered = { basicAuth, dockerConfig, none };
  });
  after(() => world.stop());
  beforeEach(() => world.clearLogs());

  for (const c of consumers(world)) {
    for (const kind of ['basicAuth', 'dockerConfig'] as const) {
      const secretType = kind === 'basicAuth' ? 'kubernetes.io/basic-auth' : 'kubernetes.io/dockerconfigjson';
      it(`${c.label}: authenticates to the mirror with credentials from a ${secretType} Secret`, async function () {
        const out = rendered[kind];
        const r = await c.pull(out, `${source.host}/team/app@${img.manifestDigest}`);
        const why = await explain(out, r, { source, mirror });
        expect(r.code, why).to.equal(0);
        const manifest = mirror.requests().filter((q) => q.path === `/v2/team/app/manifests/${img.manifestDigest}`);
        expect(
          manifest.map((q) => [q.status, q.authorized]),
          why,
        ).to.deep.include([200, true]);
        // containerd sends the rendered header with every request; skopeo first meets a 401 challenge on /v2/.
        if (c.family === 'containerd')
          expect(
            mirror.requests().filter((q) => !q.authorized),
            why,
          ).to.deep.equal([]);
        expect(lines(mirror.requestsFor('team/app')), why).to.include(`GET /v2/team/app/blobs/${img.layerDigest} 200`);
        expect(source.connections(), why).to.equal(0);
      });
    }

    it(`${c.label}: without rendered credentials the mirror answers 401 and the pull fails`, async function () {
      const out = rendered.none;
      const r = await c.pull(out, `${source.host}/team/app@${img.manifestDigest}`);
      const why = await explain(out, r, { source, mirror });
      expect(r.code, why).to.not.equal(0);
      expect(
        mirror.requests().map((q) => q.status),
        why,
      ).to.include(401);
      expect(
        mirror.requests().filter((q) => q.status === 200 && q.path.startsWith('/v2/team/app/')),
        why,
      ).to.deep.equal([]);
      expect(source.connections(), why).to.equal(0);
    });
  }
});
