// A real registry (distribution 2.8, Debian's `docker-registry`) behind a
// small recording HTTP(S) proxy.
//
// Why a proxy rather than parsing the registry's access log: distribution
// writes its access log line after the handler returns, i.e. after the
// client already has its answer, so a test reading the log right after
// skopeo or ctr exits can miss the last requests. The proxy records each
// request when it arrives and its status when the registry answers, before
// the client sees that answer: once a client process has exited, every
// request it made is in `requests()`. The proxy also terminates TLS (with a
// certificate from our throwaway CA), which keeps the registry itself on
// plain HTTP on a private port; storage, manifests, blobs and htpasswd
// authentication are all the real registry's.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { freePort, removeDir, runOk, stopProcess, tailOf, tempDir, track, waitFor } from './proc.js';
import type { TlsMaterial } from './tls.js';

export interface RegistryOptions {
  /** Serve HTTPS with this certificate; otherwise plain HTTP. */
  tls?: TlsMaterial;
  /** Require HTTP basic authentication with these credentials (htpasswd, bcrypt). */
  auth?: { username: string; password: string };
  /** Require bearer tokens from a token service (distribution's `auth.token`); see token-auth.ts. */
  tokenAuth?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface RequestRecord {
  method: string;
  /** URL path without the query string, e.g. `/v2/team/app/manifests/v1`. */
  path: string;
  /** HTTP status the registry answered with; 0 while still in flight. */
  status: number;
  /** Whether the request carried an Authorization header. */
  authorized: boolean;
  /** The query string with its "?" (containerd's `?ns=`), or ''. */
  query: string;
  /** Arrival order across every registry of the test process (the same counter for all). */
  seq: number;
}

/** One counter for all registries, so requests to several of them can be put in arrival order. */
let nextSeq = 0;

/** The `seq` the next request to any registry will get. */
export function requestSeq(): number {
  return nextSeq;
}

/** The proxy's record: requests in arrival order plus a connection count. */
type Log = RequestRecord[] & { connections: number };

type Server = http.Server | https.Server;

export class Registry {
  private constructor(
    /** `127.0.0.1:PORT`: what configuration files and image references name. */
    readonly host: string,
    readonly tls: TlsMaterial | undefined,
    /** The credentials the registry requires, if any. */
    readonly credentials: { username: string; password: string } | undefined,
    private readonly proc: ChildProcess,
    private readonly proxy: Server,
    private readonly dir: string,
    /** Shared with the proxy, which appends to it. */
    private readonly log: Log,
  ) {}

  /** Starts the registry and its proxy on free ports; resolves once it answers. */
  static async start(opts: RegistryOptions = {}): Promise<Registry> {
    const dir = await tempDir('registry');
    const { proc, port: backendPort } = await startBackendOnFreePort(dir, opts);
    const log: Log = Object.assign([] as RequestRecord[], { connections: 0 });
    const proxy = await listenProxy(backendPort, opts.tls, log).catch(async (e: unknown) => {
      await stopProcess(proc);
      throw e;
    });
    const addr = proxy.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return new Registry(`127.0.0.1:${port}`, opts.tls, opts.auth, proc, proxy, dir, log);
  }

  /** Every request since the start or the last `clearRequests()`, in arrival order. */
  requests(): RequestRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  /**
   * TCP connections accepted since the start or the last `clearRequests()`,
   * whether or not an HTTP request followed (an HTTPS attempt on a plain-HTTP
   * port, or a failed TLS handshake, is a connection without a request).
   * Zero connections is the strict form of "never contacted".
   */
  connections(): number {
    return this.log.connections;
  }

  clearRequests(): void {
    this.log.length = 0;
    this.log.connections = 0;
  }

  /** Requests whose path is under `/v2/<repo>/` (manifests, blobs, tags of that repository). */
  requestsFor(repo: string): RequestRecord[] {
    return this.requests().filter((r) => r.path.startsWith(`/v2/${repo}/`));
  }

  /** `https://` or `http://` plus host. */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host}`;
  }

  /** True once `stop()` was called: its port refuses connections from then on. */
  stopped = false;

  /** Stops the proxy and the registry and removes its storage. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    await new Promise<void>((resolve) => {
      this.proxy.close(() => resolve());
      this.proxy.closeAllConnections();
    });
    await stopProcess(this.proc);
    await removeDir(this.dir);
  }
}

/**
 * A port picked by `freePort` is free only until someone else binds it: a
 * registry or proxy started in parallel may take it in between. A backend that
 * fails on `address already in use` is started again on another port.
 */
async function startBackendOnFreePort(dir: string, opts: RegistryOptions): Promise<{ proc: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { proc: await startBackend(dir, port, opts), port };
    } catch (e) {
      if (attempt >= 5 || !String(e).includes('address already in use')) throw e;
    }
  }
}

async function startBackend(dir: string, port: number, opts: RegistryOptions): Promise<ChildProcess> {
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'storage') } },
    http: { addr: `127.0.0.1:${port}`, secret: 'consumer-test-secret' },
  };
  if (opts.auth) {
    const line = await runOk('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]);
    await writeFile(join(dir, 'htpasswd'), line.stdout);
    config.auth = { htpasswd: { realm: 'consumer-test', path: join(dir, 'htpasswd') } };
  }
  if (opts.tokenAuth) {
    const t = opts.tokenAuth;
    config.auth = { token: { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.rootCertBundle } };
  }
  // YAML is a superset of JSON: the registry's YAML loader reads this as is.
  await writeFile(join(dir, 'config.yml'), JSON.stringify(config, null, 2));
  const proc = track(spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const tail = tailOf(proc);
  try {
    await waitFor(
      `docker-registry on 127.0.0.1:${port}`,
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        return res.status === 200 || res.status === 401;
      },
      10_000,
      50,
      proc,
    );
  } catch (e) {
    await stopProcess(proc);
    throw new Error(`docker-registry did not start: ${String(e)}\n${tail()}`, { cause: e });
  }
  return proc;
}

function listenProxy(backendPort: number, tls: TlsMaterial | undefined, log: Log): Promise<Server> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: RequestRecord = {
      method: req.method ?? '',
      path: url.pathname,
      status: 0,
      authorized: req.headers.authorization !== undefined,
      query: url.search,
      seq: nextSeq++,
    };
    log.push(rec);
    forward(req, res, backendPort, tls !== undefined, rec);
  };
  const server: Server = tls ? https.createServer({ cert: tls.certPEM, key: tls.keyPEM }, handler) : http.createServer(handler);
  server.on('connection', () => {
    log.connections += 1;
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, port: number, tls: boolean, rec: RequestRecord): void {
  // Host is kept and X-Forwarded-Proto set, so the upload URLs the registry
  // hands out point back at the proxy with the right scheme.
  const headers = { ...req.headers, 'x-forwarded-proto': tls ? 'https' : 'http' };
  const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (ur) => {
    rec.status = ur.statusCode ?? 0;
    res.writeHead(rec.status, ur.rawHeaders);
    ur.pipe(res);
  });
  up.on('error', (e) => {
    rec.status = 502;
    if (!res.headersSent) res.writeHead(502);
    res.end(String(e));
  });
  req.pipe(up);
}
