// A byte-for-byte TCP/Unix-socket forwarder, the cluster tier's only link
// between the machine's loopback and the cluster's network namespace:
//
//   node dist/e2e/cluster/forward.js [--tag TEXT] [--config FILE] [LISTEN=TARGET...]
//
// LISTEN and TARGET are `HOST:PORT` or `unix:PATH`. A Unix socket is a file,
// reachable from every network namespace, so one forwarder on the machine
// (127.0.0.1:PORT -> unix:S) and one inside the namespace (unix:S ->
// 127.0.0.1:PORT) join the two loopbacks without any routed address. TLS
// passes through untouched. `--config FILE` adds the LISTEN=TARGET lines of
// FILE, and those appended to it later (checked every 100 ms): one process per
// namespace serves every registry a test starts. Each mapping logs
// "forwarding LISTEN -> TARGET" once it listens. `--tag` only marks the
// command line (the state directory, so that teardown can tell its own
// processes from others').
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';

interface Endpoint {
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
}

function endpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) return { path: text.slice('unix:'.length) };
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not HOST:PORT or unix:PATH: ${text}`);
  return { host: text.slice(0, i), port };
}

function show(e: Endpoint): string {
  return e.path !== undefined ? `unix:${e.path}` : `${e.host}:${e.port}`;
}

function serve(from: Endpoint, to: Endpoint): Promise<void> {
  const server = net.createServer((client) => {
    const upstream = to.path !== undefined ? net.connect(to.path) : net.connect(to.port as number, to.host);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  if (from.path !== undefined) rmSync(from.path, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${show(from)}: ${err.message}`)));
    const done = (): void => {
      console.log(`forwarding ${show(from)} -> ${show(to)}`);
      resolve();
    };
    if (from.path !== undefined) server.listen(from.path, done);
    else server.listen(from.port, from.host, done);
  });
}

function start(pair: string): Promise<void> {
  const [from, to] = pair.split('=');
  if (!from || !to) return Promise.reject(new Error(`not LISTEN=TARGET: ${pair}`));
  return serve(endpoint(from), endpoint(to));
}

/** Serves every line of `file` now and every line appended later. */
async function follow(file: string): Promise<void> {
  const seen = new Set<string>();
  const poll = async (): Promise<void> => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    const fresh = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !seen.has(l));
    for (const l of fresh) seen.add(l);
    await Promise.all(fresh.map((l) => start(l).catch((err: unknown) => console.error(`forward: ${err instanceof Error ? err.message : String(err)}`))));
  };
  await poll();
  const timer = setInterval(() => void poll(), 100);
  timer.unref();
  // Keep running: the listeners hold the process, and so does this.
  setInterval(() => undefined, 1 << 30);
}

async function main(argv: string[]): Promise<void> {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const config = value('--config');
  const pairs = argv.filter((a, i) => !a.startsWith('--') && !['--tag', '--config'].includes(argv[i - 1] ?? ''));
  if (pairs.length === 0 && config === undefined) throw new Error('usage: forward.js [--tag TEXT] [--config FILE] [LISTEN=TARGET...]');
  await Promise.all(pairs.map(start));
  if (config !== undefined) await follow(config);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`forward: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
