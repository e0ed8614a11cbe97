// A private containerd daemon (root, state and sockets in a temp dir) used
// only for its content store and registry resolver: `ctr content fetch
// --hosts-dir DIR` resolves and fetches an image exactly as the CRI plugin
// would with `config_path = DIR`, driven only by the hosts.toml files there.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, run, stopProcess, tailOf, tempDir, track, waitFor, type RunResult } from './proc.js';

// Everything that needs privileges or host state beyond a content store:
// CRI, runtimes, cgroup monitor, snapshotters that mount, and the `opt`
// plugin (which would create /opt/containerd on the machine).
const DISABLED = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.internal.v1.opt',
  'io.containerd.internal.v1.restart',
  'io.containerd.runtime.v1.linux',
  'io.containerd.runtime.v2.task',
  'io.containerd.monitor.v1.cgroups',
  'io.containerd.service.v1.tasks-service',
  'io.containerd.grpc.v1.tasks',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.overlayfs',
  'io.containerd.snapshotter.v1.zfs',
];

function configToml(dir: string): string {
  const q = (s: string): string => JSON.stringify(s); // TOML basic strings accept JSON string escapes
  return [
    'version = 2',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    `disabled_plugins = [${DISABLED.map(q).join(', ')}]`,
    '[grpc]',
    `  address = ${q(join(dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${q(join(dir, 'containerd.sock.ttrpc'))}`,
    // Isolated: a fetch in a new namespace downloads every blob again instead
    // of reusing one another namespace already holds, so each fetch behaves
    // like a fresh node and shows up fully in the registries' request logs.
    '[plugins."io.containerd.metadata.v1.bolt"]',
    '  content_sharing_policy = "isolated"',
    '',
  ].join('\n');
}

export class Containerd {
  private fetches = 0;

  private constructor(
    readonly address: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly tail: () => string,
  ) {}

  static async start(): Promise<Containerd> {
    const dir = await tempDir('containerd');
    await writeFile(join(dir, 'config.toml'), configToml(dir));
    const proc = track(spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const tail = tailOf(proc);
    const address = join(dir, 'containerd.sock');
    try {
      await waitFor(
        'containerd to answer',
        async () => {
          if (proc.exitCode !== null) throw new Error('exited');
          return (await run('ctr', ['--address', address, 'version'], { timeoutMs: 5_000 })).code === 0;
        },
        20_000,
        100,
      );
    } catch (e) {
      await stopProcess(proc);
      await removeDir(dir);
      throw new Error(`containerd did not start: ${String(e)}\n${tail()}`, { cause: e });
    }
    return new Containerd(address, proc, dir, tail);
  }

  /**
   * `ctr content fetch --hosts-dir HOSTS REF`, with no --plain-http, --user or
   * TLS flags: only the hosts.toml files decide where it goes. Each fetch
   * uses its own namespace so nothing cached by an earlier fetch is reused.
   */
  fetch(hostsDir: string, ref: string): Promise<RunResult> {
    this.fetches += 1;
    const ns = `consumer-${this.fetches}`;
    return run('ctr', ['--address', this.address, '--namespace', ns, '--debug', 'content', 'fetch', '--hosts-dir', hostsDir, ref], {
      timeoutMs: 60_000,
    });
  }

  /** The daemon's own recent log, for failure messages. */
  log(): string {
    return this.tail();
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
    await removeDir(this.dir);
  }
}
