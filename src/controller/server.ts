// HTTP endpoints: /healthz (the process serves requests), /readyz (caches
// are filled; a follower is ready too, so that a rollout does not wait for
// leadership) and /metrics (Prometheus text format).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Probes {
  ready: () => boolean;
}

export interface BindAddress {
  host: string;
  port: number;
}

/**
 * `host:port`, `:port` (every interface) or `0`/empty (disabled, returns
 * undefined). Port 0 after a host picks a free port.
 */
export function parseBindAddress(value: string): BindAddress | undefined {
  if (value === '' || value === '0') return undefined;
  const i = value.lastIndexOf(':');
  if (i < 0) throw new Error(`bind address ${JSON.stringify(value)}: expected host:port or :port`);
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(value.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bind address ${JSON.stringify(value)}: invalid port`);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export interface Endpoints {
  probes?: Probes;
  metrics?: Registry;
}

/** One server for any of the endpoints (metrics and probes may share an address or not). */
export async function serve(addr: BindAddress, endpoints: Endpoints): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (endpoints.probes && path === '/healthz') return reply(200, 'ok\n');
    if (endpoints.probes && path === '/readyz') {
      return endpoints.probes.ready() ? reply(200, 'ok\n') : reply(503, 'caches not filled yet\n');
    }
    if (endpoints.metrics && path === '/metrics') {
      const registry = endpoints.metrics;
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: unknown) => reply(500, `metrics: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
