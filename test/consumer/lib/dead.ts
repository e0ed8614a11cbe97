// Mirrors that are down without refusing connections, the two ways a dead
// mirror holds a pull instead of failing fast:
// - `Blackhole`: its address never completes a TCP handshake (a host that is
//   gone, a firewall that drops packets). Made on loopback by a listener
//   whose accept queue is full: a child process listens with a backlog of 1
//   and then blocks its event loop so it never accepts; two connections of
//   ours fill the queue, and Linux then drops every further SYN, so clients
//   wait in connect() until their dial timeout.
// - `Silent`: accepts connections and never sends a byte (a hung process).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { stopProcess, track } from './proc.js';

const LISTEN_AND_BLOCK = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(String(s.address().port) + '\\n');
  // Blocks the event loop for good: nothing is ever accepted.
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 100);
});`;

export class Blackhole {
  private constructor(
    readonly host: string,
    private readonly proc: ChildProcess,
    private readonly fillers: net.Socket[],
  ) {}

  static async start(): Promise<Blackhole> {
    const proc = track(spawn(process.execPath, ['-e', LISTEN_AND_BLOCK], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const port = await new Promise<number>((resolve, reject) => {
      proc.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      proc.once('exit', () => reject(new Error('blackhole listener exited')));
    });
    await new Promise((r) => setTimeout(r, 300)); // let it block first
    const fillers: net.Socket[] = [];
    // Fill the accept queue until a connection attempt no longer completes.
    for (let i = 0; i < 8; i++) {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      fillers.push(sock);
      const connected = await new Promise<boolean>((resolve) => {
        sock.once('connect', () => resolve(true));
        setTimeout(() => resolve(false), 300);
      });
      if (!connected) return new Blackhole(`127.0.0.1:${port}`, proc, fillers);
    }
    for (const f of fillers) f.destroy();
    await stopProcess(proc);
    throw new Error('could not fill the accept queue: connections still complete');
  }

  async stop(): Promise<void> {
    for (const f of this.fillers) f.destroy();
    await stopProcess(this.proc, 500);
  }
}

export class Silent {
  private readonly sockets = new Set<net.Socket>();
  private accepted = 0;

  private constructor(
    readonly host: string,
    private readonly server: net.Server,
  ) {
    server.on('connection', (s) => {
      this.accepted += 1;
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  static async start(): Promise<Silent> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address() as net.AddressInfo;
    return new Silent(`127.0.0.1:${addr.port}`, server);
  }

  /** Connections accepted so far. */
  connections(): number {
    return this.accepted;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
