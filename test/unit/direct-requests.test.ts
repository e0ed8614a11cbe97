// Output writes sent without client-node's API clients (direct-requests.ts),
// against a local HTTP server: what goes out (method, path, credentials,
// identity, answer asked for, body) and how refusals come back (as
// client-node's ApiException, read by write-errors.ts as before).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { identifyAs, userAgent } from '../../src/common/client-identity.js';
import { statusCode } from '../../src/common/api-errors.js';
import { bodyJson, DirectRequests } from '../../src/controller/direct-requests.js';
import { apiWriter, KubeApi } from '../../src/controller/kube.js';
import { reuseConnections } from '../../src/controller/keepalive.js';
import { refusedWrite } from '../../src/controller/write-errors.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Reply = { status: number; body: string; headers?: Record<string, string> };

describe('direct output writes (direct-requests.ts)', () => {
  let server: Server;
  let seen: Seen[] = [];
  let reply: Reply = { status: 200, body: '{}' };
  let base = '';

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
        res.end(reply.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen = [];
    reply = { status: 200, body: '{}' };
  });

  function config(server = base, user: { token?: string; username?: string; password?: string } = { token: 'secret-token' }): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'u', ...user }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return identifyAs(reuseConnections(kc), 'controller');
  }

  const meta = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'out', namespace: 'ns-1', resourceVersion: '42' } };
  const body = {
    metadata: { name: 'out', namespace: 'ns-1', resourceVersion: '41', labels: { 'imagemirror.io/output': 'true' } },
    data: { 'registries.conf': 'x = 1\n' },
  };

  it('replace and create: the path, the credentials, the identity, a metadata-only answer and the body as sent', async () => {
    reply = { status: 200, body: JSON.stringify(meta) };
    const w = apiWriter(new KubeApi(config()), () => undefined);
    expect(await w.replaceConfigMap(body)).to.deep.equal(meta);
    reply = { status: 201, body: JSON.stringify(meta) };
    await w.createSecret({ metadata: { name: 'out', namespace: 'ns-1' }, data: { k: 'djE=' } });
    expect(seen.map((s) => `${s.method} ${s.url}`)).to.deep.equal([
      'PUT /api/v1/namespaces/ns-1/configmaps/out?fieldManager=image-mirror',
      'POST /api/v1/namespaces/ns-1/secrets?fieldManager=image-mirror',
    ]);
    for (const s of seen) {
      expect(s.headers.authorization).to.equal('Bearer secret-token');
      expect(s.headers['user-agent']).to.equal(userAgent('controller'));
      expect(s.headers.accept).to.equal('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
      expect(s.headers['content-type']).to.equal('application/json');
    }
    expect(JSON.parse(seen[0]?.body ?? '')).to.deep.equal(body);
  });

  it('keeps a path prefix of the server URL, and sends basic credentials as client-node does', async () => {
    await new DirectRequests(config(`${base}/k8s/clusters/c-1/`, { username: 'ann', password: 'pw' })).send(
      'PUT',
      '/api/v1/namespaces/a/configmaps/b',
      {},
      'object',
    );
    expect(seen[0]?.url).to.equal('/k8s/clusters/c-1/api/v1/namespaces/a/configmaps/b?fieldManager=image-mirror');
    expect(seen[0]?.headers.authorization).to.equal(`Basic ${Buffer.from('ann:pw').toString('base64')}`);
    expect(seen[0]?.headers.accept).to.equal('application/json');
  });

  it('a refusal is client-node ApiException: code, the Status as body, the headers; write-errors reads it as before', async () => {
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'ConfigMap "out" is invalid: data: Too long', reason: 'Invalid', code: 422 };
    reply = { status: 422, body: JSON.stringify(status), headers: { 'retry-after': '2' } };
    const err = await new DirectRequests(config()).send('PUT', '/api/v1/namespaces/ns-1/configmaps/out', body, 'metadata').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ApiException);
    expect(statusCode(err)).to.equal(422);
    expect((err as ApiException<string>).headers['retry-after']).to.equal('2');
    const problem = refusedWrite(err, { kind: 'ConfigMap', namespace: 'ns-1', name: 'out' }, 'update');
    expect(problem?.message).to.include('ConfigMap "out" is invalid: data: Too long');
  });

  it('a 401 carries no body (as the generated client), and a refused connection rejects with its error', async () => {
    reply = { status: 401, body: '{"kind":"Status","message":"Unauthorized"}' };
    const err = await new DirectRequests(config()).send('POST', '/api/v1/namespaces/a/configmaps', {}, 'metadata').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusCode(err)).to.equal(401);
    expect((err as ApiException<unknown>).body).to.equal(undefined);
    const refused = await new DirectRequests(config('http://127.0.0.1:1')).send('POST', '/api/v1/namespaces/a/configmaps', {}, 'metadata').then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(refused?.code).to.equal('ECONNREFUSED');
  });
});

describe('bodyJson: the JSON of a write, a frozen data object serialised once', () => {
  const data = Object.freeze({ 'registries.conf': '[[registry]]\nlocation = "quay.io"\n', 'files.json': '{"a": 1}\n' });
  const meta = { name: 'out', namespace: 'ns', labels: { a: 'b' } };

  it('parses back to the body, frozen data or not, with or without other fields', () => {
    for (const body of [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { ...data } },
      { data },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta },
    ]) {
      expect(JSON.parse(bodyJson(body))).to.deep.equal(body);
    }
  });

  it('gives every body that shares a frozen data object its own metadata', () => {
    const a = JSON.parse(bodyJson({ metadata: { name: 'a' }, data }));
    const b = JSON.parse(bodyJson({ metadata: { name: 'b' }, data }));
    expect([a.metadata.name, b.metadata.name]).to.deep.equal(['a', 'b']);
    expect(a.data).to.deep.equal(b.data).and.deep.equal(data);
  });
});
