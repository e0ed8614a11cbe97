// Every request the operator and the agent send names them (user agent
// `image-mirror/<version> (<component>)`) and every write carries their field
// manager: API calls and watches alike, with the keep-alive wrapper of the
// controller in place. Checked against a local HTTP server that records what
// arrives; e2e/operator checks managedFields and the audit log of the real
// API server.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { expect } from 'chai';
import { FIELD_MANAGERS, identifyAs, userAgent, version } from '../../src/common/client-identity.js';
import { reuseConnections } from '../../src/controller/keepalive.js';

interface Seen {
  method: string;
  path: string;
  fieldManager: string | null;
  userAgent: string | undefined;
}

const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('client identity: user agent and field manager on every request', () => {
  let server: Server;
  let seen: Seen[] = [];
  let url = '';

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push({ method: req.method ?? '', path: u.pathname, fieldManager: u.searchParams.get('fieldManager'), userAgent: req.headers['user-agent'] });
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        if (u.searchParams.get('watch') === 'true') {
          res.end(`${JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'a' } } })}\n`);
          return;
        }
        res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'a', namespace: 'ns' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen = []));

  function config(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  it('the version is the one in package.json', () => {
    expect(version()).to.equal(PKG.version);
    expect(userAgent('controller')).to.equal(`image-mirror/${PKG.version} (controller)`);
    expect(userAgent('agent')).to.equal(`image-mirror/${PKG.version} (agent)`);
  });

  for (const component of ['controller', 'agent'] as const) {
    it(`${component}: reads, writes and watches carry the user agent; creates, updates and patches the field manager`, async () => {
      const kc = identifyAs(component === 'controller' ? reuseConnections(config()) : config(), component);
      const core = kc.makeApiClient(CoreV1Api);
      const body = { metadata: { name: 'a', namespace: 'ns' }, data: {} };
      await core.readNamespacedConfigMap({ namespace: 'ns', name: 'a' });
      await core.createNamespacedConfigMap({ namespace: 'ns', body });
      await core.replaceNamespacedConfigMap({ namespace: 'ns', name: 'a', body });
      await core.patchNamespacedConfigMap(
        { namespace: 'ns', name: 'a', body: { data: { k: 'v' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ namespace: 'ns', name: 'a' });
      // A call that names its own field manager keeps it.
      await core.createNamespacedConfigMap({ namespace: 'ns', body, fieldManager: 'someone-else' });
      await new Promise<void>((resolve, reject) => {
        void new Watch(kc).watch(
          '/api/v1/namespaces/ns/configmaps',
          {},
          () => undefined,
          (err) => (err ? reject(err) : resolve()),
        );
      });
      const manager = FIELD_MANAGERS[component];
      expect(seen.map((s) => `${s.method} ${s.fieldManager ?? '-'}`)).to.deep.equal([
        'GET -',
        `POST ${manager}`,
        `PUT ${manager}`,
        `PATCH ${manager}`,
        'DELETE -',
        'POST someone-else',
        'GET -',
      ]);
      expect(new Set(seen.map((s) => s.userAgent))).to.deep.equal(new Set([`image-mirror/${PKG.version} (${component})`]));
    });
  }

  it('without it, requests go out as node-fetch with no field manager (what the fix is about)', async () => {
    const core = config().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'a' } } });
    expect(seen[0]?.userAgent).to.match(/node-fetch/);
    expect(seen[0]?.fieldManager).to.equal(null);
  });
});
