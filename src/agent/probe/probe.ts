// One probe of one mirror from the node: TCP, TLS with exactly the installed
// CA / client certificate / verification setting, GET on the API root, the
// credentials the runtime would send (containerd's header on every request;
// containers/image's auth.json entry after a challenge; a bearer token from
// the realm a registry names), and optionally the probe image's manifest
// at the URLs explain predicts. Every step is bounded by one deadline, and
// every failure is classified. Messages never carry a credential.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type TLSSocket } from 'node:tls';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { parseChallenges } from './challenge.js';
import type { ProbeTarget } from './targets.js';

export type ErrorClass =
  | 'dns'
  | 'connection-refused'
  | 'connect-timeout'
  | 'network'
  | 'tls-unknown-authority'
  | 'tls-hostname-mismatch'
  | 'tls-certificate-expired'
  | 'tls-handshake'
  | 'tls-handshake-timeout'
  | 'no-answer'
  | 'http-status'
  | 'not-a-registry'
  | 'auth-required'
  | 'auth-rejected'
  | 'token-exchange';

export const ERROR_CLASSES: readonly ErrorClass[] = [
  'dns',
  'connection-refused',
  'connect-timeout',
  'network',
  'tls-unknown-authority',
  'tls-hostname-mismatch',
  'tls-certificate-expired',
  'tls-handshake',
  'tls-handshake-timeout',
  'no-answer',
  'http-status',
  'not-a-registry',
  'auth-required',
  'auth-rejected',
  'token-exchange',
];

export interface ProbeResult {
  ok: boolean;
  errorClass?: ErrorClass;
  /** What failed, for people; never a credential. */
  message?: string;
  latencyMs: number;
  /** The scheme that answered (after a fallback to HTTP, `http`). */
  scheme?: 'https' | 'http';
  /** How the registry let the probe in. */
  auth?: 'anonymous' | 'basic' | 'bearer';
  image?: { status: 'resolved' | 'missing' | 'error'; message: string };
}

export interface ProbeOptions {
  /** Deadline for the whole probe of one mirror, image included. */
  timeoutMs: number;
  now?: () => number;
}

class ProbeError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
  ) {
    super(message);
  }
}

interface Endpoint {
  scheme: 'https' | 'http';
  host: string;
  port: number;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export async function probe(t: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const deadline = started + opts.timeoutMs;
  const session = new Session(t, deadline, now);
  try {
    const auth = await session.login();
    const result: ProbeResult = { ok: true, latencyMs: now() - started, scheme: session.scheme, auth };

    if (t.imageRequests.length > 0) result.image = await session.image();
    result.latencyMs = now() - started;
    return result;
  } catch (e) {
    const err = e instanceof ProbeError ? e : new ProbeError('network', (e as Error).message);
    return { ok: false, errorClass: err.errorClass, message: err.message, latencyMs: now() - started, scheme: session.scheme };
  }
}

/** One probe's connection settings, scheme (after any fallback) and credentials in use. */
class Session {
  scheme: 'https' | 'http';
  private authorization: string | undefined;

  constructor(
    private readonly t: ProbeTarget,
    private readonly deadline: number,
    private readonly now: () => number,
  ) {
    this.scheme = t.scheme;
    // containerd sends a hosts.toml header with every request; containers/image answers challenges only.
    if (t.authFrom === 'header') this.authorization = t.authorization;
  }

  /** GET on the API root until it answers 200, authenticating as the runtime would. */
  async login(): Promise<NonNullable<ProbeResult['auth']>> {
    const first = await this.get(this.t.pingPath, this.authorization);
    if (first.status === 200) return this.authorization ? 'basic' : 'anonymous';
    if (first.status !== 401) throw this.unexpected(first, this.t.pingPath);
    const challenges = parseChallenges(first.headers['www-authenticate'] as string | undefined);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      this.authorization = `Bearer ${await this.token(bearer.params, undefined)}`;
      const again = await this.get(this.t.pingPath, this.authorization);
      if (again.status === 200) return 'bearer';
      throw new ProbeError('auth-rejected', `${this.t.pingPath} answered ${again.status} to the bearer token from ${realmOf(bearer.params)}`);
    }
    if (!challenges.some((c) => c.scheme === 'basic')) throw this.unexpected(first, this.t.pingPath);
    if (this.authorization) throw new ProbeError('auth-rejected', `the registry rejected the credentials of ${this.credentialsFrom()} (401)`);
    if (!this.t.authorization) throw new ProbeError('auth-required', 'the registry asks for credentials (401, Basic) and none are installed for it');
    this.authorization = this.t.authorization;
    const again = await this.get(this.t.pingPath, this.authorization);
    if (again.status === 200) return 'basic';
    if (again.status === 401) throw new ProbeError('auth-rejected', `the registry rejected the credentials of ${this.credentialsFrom()} (401)`);
    throw this.unexpected(again, this.t.pingPath);
  }

  /** HEAD on each predicted manifest URL of the probe image; resolved when one answers 200. */
  async image(): Promise<NonNullable<ProbeResult['image']>> {
    const seen: string[] = [];
    for (const q of this.t.imageRequests) {
      let authorization = this.authorization;
      let a = await this.request('HEAD', q.path + q.query, authorization, MANIFEST_ACCEPT);
      if (a.status === 401) {
        // A bearer token is scoped: ask again for this repository.
        const bearer = parseChallenges(a.headers['www-authenticate'] as string | undefined).find((c) => c.scheme === 'bearer');
        if (bearer) {
          authorization = `Bearer ${await this.token(bearer.params, bearer.params.scope)}`;
          a = await this.request('HEAD', q.path + q.query, authorization, MANIFEST_ACCEPT);
        }
      }
      if (a.status === 200) return { status: 'resolved', message: `${q.path} answered 200` };
      seen.push(`${q.path}: ${a.status}`);
    }
    const missing = seen.every((s) => s.endsWith(': 404'));
    return { status: missing ? 'missing' : 'error', message: seen.join('; ') };
  }

  private credentialsFrom(): string {
    return this.t.authFrom === 'header' ? 'the hosts.toml authorization header' : 'the auth.json entry';
  }

  /** The bearer token exchange (distribution's token spec), with the installed credentials when there are any. */
  private async token(params: Record<string, string>, scope: string | undefined): Promise<string> {
    const realm = realmOf(params);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ProbeError('token-exchange', `the registry names an invalid token realm ${JSON.stringify(realm)}`);
    }
    if (params.service) url.searchParams.set('service', params.service);
    if (scope) url.searchParams.set('scope', scope);
    const basic = this.t.authorization?.startsWith('Basic ') ? this.t.authorization : undefined;
    const endpoint: Endpoint = {
      scheme: url.protocol === 'http:' ? 'http' : 'https',
      host: url.hostname,
      port: Number(url.port) || (url.protocol === 'http:' ? 80 : 443),
    };
    const a = await this.send(endpoint, 'GET', url.pathname + url.search, basic, undefined);
    if (a.status === 401 || a.status === 403) {
      throw new ProbeError(
        basic ? 'auth-rejected' : 'auth-required',
        `the token service ${url.origin}${url.pathname} refused ${basic ? `the credentials of ${this.credentialsFrom()}` : 'an anonymous token'} (${a.status})`,
      );
    }
    if (a.status !== 200) throw new ProbeError('token-exchange', `the token service ${url.origin}${url.pathname} answered ${a.status}`);
    try {
      const doc = JSON.parse(a.body) as { token?: string; access_token?: string };
      const token = doc.token ?? doc.access_token;
      if (typeof token === 'string' && token !== '') return token;
    } catch {
      // fall through
    }
    throw new ProbeError('token-exchange', `the token service ${url.origin}${url.pathname} answered without a token`);
  }

  private unexpected(a: Answer, path: string): ProbeError {
    if (a.status === 404 && !a.headers['docker-distribution-api-version']) {
      return new ProbeError('not-a-registry', `${path} answered 404 without Docker-Distribution-API-Version: not a registry API root`);
    }
    return new ProbeError('http-status', `${path} answered ${a.status}`);
  }

  private get(path: string, authorization: string | undefined): Promise<Answer> {
    return this.request('GET', path, authorization, undefined);
  }

  /** A request to the mirror; the first one settles the scheme (HTTPS, or HTTP after a fallback). */
  private async request(method: string, path: string, authorization: string | undefined, accept: string | undefined): Promise<Answer> {
    const endpoint: Endpoint = { scheme: this.scheme, host: this.t.host, port: this.t.port ?? (this.scheme === 'https' ? 443 : 80) };
    try {
      return await this.send(endpoint, method, path, authorization, accept);
    } catch (e) {
      // With an implicit port, HTTP is another port (80): a refused or silent 443 falls back too, as containers/image does.
      const fallback =
        e instanceof ProbeError &&
        (e.errorClass.startsWith('tls') || (this.t.port === undefined && (e.errorClass === 'connection-refused' || e.errorClass === 'connect-timeout')));
      if (!fallback || !this.t.httpFallback || this.scheme !== 'https') throw e;
      // Both runtimes retry an insecure endpoint over plain HTTP after a TLS failure (containerd on the same port).
      this.scheme = 'http';
      return this.send({ ...endpoint, scheme: 'http', port: this.t.port ?? 80 }, method, path, authorization, accept);
    }
  }

  private remaining(): number {
    return Math.max(1, this.deadline - this.now());
  }

  private async send(e: Endpoint, method: string, path: string, authorization: string | undefined, accept: string | undefined): Promise<Answer> {
    const socket = await this.open(e);
    return new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string> = { Host: hostHeader(e), 'User-Agent': 'image-mirror-agent-probe', Connection: 'close' };
      if (authorization) headers.Authorization = authorization;
      if (accept) headers.Accept = accept;
      const timer = setTimeout(() => {
        req.destroy();
        reject(
          new ProbeError(
            'no-answer',
            `${e.scheme}://${hostHeader(e)} accepted the connection but sent no answer to ${method} ${path.split('?')[0]} within the probe deadline`,
          ),
        );
      }, this.remaining());
      const req = httpRequest({ method, path, headers, createConnection: () => socket }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          size += b.length;
          if (size <= 65_536) chunks.push(b);
        });
        res.on('end', () => {
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(new ProbeError('network', `reading the answer of ${hostHeader(e)}: ${err.message}`));
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof ProbeError ? err : new ProbeError('network', `${hostHeader(e)}: ${err.message}`));
      });
      req.end();
    });
  }

  /** TCP, then TLS for https, each within the deadline, each failure classified. */
  private async open(e: Endpoint): Promise<Socket> {
    const tcp = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: e.host, port: e.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ProbeError('connect-timeout', `no TCP connection to ${hostHeader(e)} within the probe deadline`));
      }, this.remaining());
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(classifyNet(err, e));
      });
    });
    if (e.scheme === 'http') return tcp;
    return new Promise<TLSSocket>((resolve, reject) => {
      const t = this.t;
      const secure = tlsConnect({
        socket: tcp,
        servername: isIP(e.host) ? undefined : e.host,
        ca: t.caPEM ? [...rootCertificates, t.caPEM] : undefined,
        cert: t.clientCert?.certPEM,
        key: t.clientCert?.keyPEM,
        rejectUnauthorized: t.verify,
        ALPNProtocols: ['http/1.1'],
      });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new ProbeError('tls-handshake-timeout', `${hostHeader(e)} accepted TCP but did not complete a TLS handshake within the probe deadline`));
      }, this.remaining());
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(secure);
      });
      secure.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        tcp.destroy();
        reject(classifyTls(err, e, t.caPEM !== undefined));
      });
    });
  }
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function realmOf(params: Record<string, string>): string {
  return params.realm ?? '';
}

function hostHeader(e: Endpoint): string {
  const host = isIP(e.host) === 6 ? `[${e.host}]` : e.host;
  const defaultPort = e.scheme === 'https' ? 443 : 80;
  return e.port === defaultPort ? host : `${host}:${e.port}`;
}

function classifyNet(err: NodeJS.ErrnoException, e: Endpoint): ProbeError {
  const where = hostHeader(e);
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new ProbeError('dns', `${e.host} does not resolve (${err.code})`);
  if (err.code === 'ECONNREFUSED') return new ProbeError('connection-refused', `${where} refused the connection`);
  if (err.code === 'ETIMEDOUT') return new ProbeError('connect-timeout', `no TCP connection to ${where} (ETIMEDOUT)`);
  return new ProbeError('network', `${where}: ${err.code ?? err.message}`);
}

/** Node's TLS error codes in the words Go runtimes use, so the message matches what a pull would log. */
function classifyTls(err: NodeJS.ErrnoException, e: Endpoint, withCA: boolean): ProbeError {
  const where = hostHeader(e);
  const code = err.code ?? '';
  const ca = withCA ? ' (with the installed CA)' : ' (no CA installed for it: system CAs only)';
  if (
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
    ].includes(code)
  ) {
    return new ProbeError('tls-unknown-authority', `x509: certificate signed by unknown authority: ${where}${ca}`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new ProbeError('tls-hostname-mismatch', `x509: the certificate of ${where} is not valid for ${e.host}`);
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return new ProbeError('tls-certificate-expired', `x509: the certificate of ${where} has expired or is not yet valid`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new ProbeError('tls-handshake', `${where} closed the connection during the TLS handshake`);
  if (/wrong version number|packet length too long|http request/i.test(err.message))
    return new ProbeError('tls-handshake', `${where} does not speak TLS (plain HTTP?)`);
  return new ProbeError('tls-handshake', `TLS handshake with ${where} failed: ${code || err.message}`);
}
