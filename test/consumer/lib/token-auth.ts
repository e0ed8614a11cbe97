// A token service for docker-registry's token authentication (distribution's
// `auth.token`): GET /token?service=&scope= with HTTP basic credentials
// returns a JWT signed with a throwaway RSA key whose self-signed
// certificate is the registry's `rootcertbundle` (sent in the `x5c` header,
// which distribution verifies against that bundle).
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { runOk } from './proc.js';

export interface TokenService {
  realm: string;
  service: string;
  issuer: string;
  /** Path of the signing certificate (PEM): the registry's rootcertbundle. */
  rootCertBundle: string;
  /** Requests seen: `scope` and whether the credentials were right. */
  requests(): Array<{ scope: string; accepted: boolean }>;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startTokenService(dir: string, creds: { username: string; password: string }): Promise<TokenService> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  await runOk('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=consumer-test token issuer',
  ]);
  const [keyPEM, certPEM] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  const key = createPrivateKey(keyPEM);
  const der = Buffer.from(certPEM.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64').toString('base64');
  const service = 'consumer-test-registry';
  const issuer = 'consumer-test-issuer';
  const seen: Array<{ scope: string; accepted: boolean }> = [];
  const expected = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scope = url.searchParams.get('scope') ?? '';
    const accepted = req.headers.authorization === expected;
    seen.push({ scope, accepted });
    if (url.pathname !== '/token' || !accepted) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',') };
      });
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
    const claims = b64url(
      JSON.stringify({ iss: issuer, sub: creds.username, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }),
    );
    const signature = b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests: () => seen.map((s) => ({ ...s })),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
