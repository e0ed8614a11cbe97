// A private containerd daemon (root, state and sockets in a temp dir) used
// only for its content store and registry resolver: `ctr content fetch
// --hosts-dir DIR` resolves and fetches an image with the release's own
// hosts.toml loader (core/remotes/docker/config in 2.x), driven only by the
// hosts.toml files there. One class for 1.6 (config version 2) and 2.x
// (config version 3): the runtime says which binaries to run.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, run, stopProcess, tailOf, tempDir, track, waitFor, type RunResult } from './proc.js';
import type { ContainerdRuntime } from './runtimes.js';

// Everything that needs privileges or host state beyond a content store:
// CRI, runtimes, cgroup monitor, snapshotters that mount, and the `opt`
// plugin (which would create /opt/containerd on the machine).
const DISABLED_1 = [
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

// The same for 2.x, whose plugin IDs moved (CRI is three plugins; the task
// monitor and restart manager were renamed) and which adds NRI (a socket
// under /var/run/nri), the erofs and blockfile snapshotters and the sandbox
// controller. The transfer service stays (it needs nothing privileged).
const DISABLED_2 = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.cri.v1.images',
  'io.containerd.cri.v1.runtime',
  'io.containerd.nri.v1.nri',
  'io.containerd.internal.v1.opt',
  'io.containerd.monitor.container.v1.restart',
  'io.containerd.monitor.task.v1.cgroups',
  'io.containerd.runtime.v2.task',
  'io.containerd.shim.v1.manager',
  'io.containerd.service.v1.tasks-service',
  'io.containerd.grpc.v1.tasks',
  'io.containerd.podsandbox.controller.v1.podsandbox',
  'io.containerd.sandbox.controller.v1.shim',
  'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.erofs',
  'io.containerd.snapshotter.v1.overlayfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.mount-handler.v1.erofs',
];

function configToml(dir: string, major: 1 | 2): string {
  const q = (s: string): string => JSON.stringify(s); // TOML basic strings accept JSON string escapes
  return [
    major === 1 ? 'version = 2' : 'version = 3',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    `disabled_plugins = [${(major === 1 ? DISABLED_1 : DISABLED_2).map(q).join(', ')}]`,
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
    readonly runtime: ContainerdRuntime,
    readonly address: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly tail: () => string,
  ) {}

  static async start(runtime: ContainerdRuntime): Promise<Containerd> {
    const dir = await tempDir(`containerd${runtime.major}`);
    await writeFile(join(dir, 'config.toml'), configToml(dir, runtime.major));
    const proc = track(spawn(runtime.containerd, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const tail = tailOf(proc);
    const address = join(dir, 'containerd.sock');
    try {
      await waitFor(
        'containerd to answer',
        async () => (await run(runtime.ctr, ['--address', address, 'version'], { timeoutMs: 5_000 })).code === 0,
        20_000,
        100,
        proc,
      );
    } catch (e) {
      await stopProcess(proc);
      await removeDir(dir);
      throw new Error(`${runtime.label} did not start: ${String(e)}\n${tail()}`, { cause: e });
    }
    return new Containerd(runtime, address, proc, dir, tail);
  }

  /**
   * `ctr content fetch --hosts-dir HOSTS REF`, with no --plain-http, --user or
   * TLS flags: only the hosts.toml files decide where it goes. Each fetch
   * uses its own namespace so nothing cached by an earlier fetch is reused.
   */
  fetch(hostsDir: string, ref: string, timeoutMs = 60_000): Promise<RunResult> {
    this.fetches += 1;
    const ns = `consumer-${this.fetches}`;
    return run(this.runtime.ctr, ['--address', this.address, '--namespace', ns, '--debug', 'content', 'fetch', '--hosts-dir', hostsDir, ref], {
      timeoutMs,
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
