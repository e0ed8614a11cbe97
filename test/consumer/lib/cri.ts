// A container runtime as a node runs it, behind its CRI socket, without
// touching the machine: the runtime runs in a private mount namespace where
// the node's own directories are bind-mounted over /etc/containerd,
// /etc/containers and /etc/docker, so it reads files from the paths a real
// node uses (config_path = /etc/containerd/certs.d, /etc/containers/
// registries.conf.d) and the machine's /etc is never changed. Root, state,
// sockets and logs live in a temp dir. crictl drives it, as the kubelet would.
//
// Reusable beyond the consumer tests: a cluster tier can start the same
// runtimes for its kubelets (`ContainerdCri.start`, `Crio.start` in crio.ts
// take a NodeEtc and return the socket to hand to the kubelet).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, run, stopProcess, tailOf, tempDir, track, waitFor, type RunResult } from './proc.js';
import { runtimeBin, type ContainerdRuntime } from './runtimes.js';

/** The node directories a runtime sees at these paths. */
export const NODE_ETC_DIRS = ['/etc/containerd', '/etc/containers', '/etc/docker'] as const;

/** A node's private /etc/containerd, /etc/containers and /etc/docker (and optionally /etc/hosts). */
export class NodeEtc {
  private constructor(
    readonly dir: string,
    private readonly etcHosts: boolean,
  ) {}

  /**
   * `hosts`: name -> address lines for the node's own /etc/hosts (Go's
   * resolver reads it before any DNS query, so the names never leave the
   * machine). Loopback stays as it is.
   */
  static async create(opts: { hosts?: Record<string, string> } = {}): Promise<NodeEtc> {
    const dir = await tempDir('node-etc');
    for (const d of NODE_ETC_DIRS) await mkdir(join(dir, d), { recursive: true });
    if (opts.hosts) {
      const lines = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(opts.hosts).map(([name, addr]) => `${addr} ${name}`)];
      await writeFile(join(dir, 'hosts'), `${lines.join('\n')}\n`);
    }
    return new NodeEtc(dir, opts.hosts !== undefined);
  }

  /** Where the node path `/etc/...` is on the machine. */
  hostPath(nodePath: string): string {
    if (!NODE_ETC_DIRS.some((d) => nodePath === d || nodePath.startsWith(`${d}/`))) {
      throw new Error(`${nodePath} is not under ${NODE_ETC_DIRS.join(', ')}`);
    }
    return join(this.dir, nodePath);
  }

  /** `[machine dir, node dir]` pairs for the mount namespace. */
  binds(): Array<[string, string]> {
    const binds: Array<[string, string]> = NODE_ETC_DIRS.map((d) => [join(this.dir, d), d]);
    if (this.etcHosts) binds.push([join(this.dir, 'hosts'), '/etc/hosts']);
    return binds;
  }

  remove(): Promise<void> {
    return removeDir(this.dir);
  }
}

/**
 * Starts `cmd args` in a new mount namespace (private propagation, so
 * nothing leaks back) with each `[from, to]` bind-mounted first. Every `to`
 * must exist on the machine: it is only covered, never created.
 */
export function spawnWithBinds(cmd: string, args: readonly string[], binds: ReadonlyArray<[string, string]>): ChildProcess {
  for (const [, to] of binds) if (!existsSync(to)) throw new Error(`${to} must exist on the machine to be covered by a bind mount`);
  // ${N} with braces: sh reads $10 as ${1}0.
  const mounts = binds.map((_, i) => `mount --bind "\${${2 * i + 1}}" "\${${2 * i + 2}}"`).join(' && ');
  const script = `${mounts} && shift ${2 * binds.length} && exec "$@"`;
  return track(
    spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...binds.flat(), cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** crictl against one runtime's socket. */
export class Crictl {
  constructor(
    readonly endpoint: string,
    private readonly bin = join(runtimeBin('crictl'), 'crictl'),
  ) {}

  run(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    // --config /dev/null: no /etc/crictl.yaml of the machine plays a part.
    return run(
      this.bin,
      [
        '--config',
        '/dev/null',
        '--runtime-endpoint',
        `unix://${this.endpoint}`,
        '--image-endpoint',
        `unix://${this.endpoint}`,
        '--timeout',
        `${Math.ceil(timeoutMs / 1000)}s`,
        ...args,
      ],
      {
        timeoutMs: timeoutMs + 5_000,
      },
    );
  }

  /** `crictl pull REF`: the kubelet's PullImage. */
  pull(ref: string, timeoutMs = 60_000): Promise<RunResult> {
    return this.run(['pull', ref], timeoutMs);
  }

  /** Answers once the runtime serves the CRI (image service and runtime status). */
  ready(): Promise<boolean> {
    return this.run(['info'], 5_000).then((r) => r.code === 0);
  }
}

/** A runtime serving the CRI on a socket of its own. */
export interface CriRuntime {
  label: string;
  endpoint: string;
  crictl: Crictl;
  /** The runtime's recent log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** CRI image-service settings of a containerd under test. */
export interface ContainerdRegistryConfig {
  /** `registry.config_path`; undefined leaves it unset (the release's default). */
  configPath?: string;
  /** 2.x only: `use_local_image_pull` (pull in the CRI plugin instead of the transfer service). */
  localPull?: boolean;
}

/** containerd's config for a CRI node: version 2 for 1.x, version 3 for 2.x; the native snapshotter (no mounts). */
export function containerdCriConfig(dir: string, major: 1 | 2, reg: ContainerdRegistryConfig): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    major === 1 ? 'version = 2' : 'version = 3',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    // opt would create /opt/containerd; NRI a socket under /var/run/nri.
    `disabled_plugins = [${['io.containerd.internal.v1.opt', 'io.containerd.nri.v1.nri'].map(q).join(', ')}]`,
    '[grpc]',
    `  address = ${q(join(dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${q(join(dir, 'containerd.sock.ttrpc'))}`,
  ];
  const cni = [`  conf_dir = ${q(join(dir, 'cni'))}`, `  bin_dir = ${q(join(dir, 'cni-bin'))}`];
  const configPath = reg.configPath === undefined ? [] : [`  config_path = ${q(reg.configPath)}`];
  if (major === 1) {
    lines.push(
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  stream_server_address = "127.0.0.1"`,
      `  stream_server_port = "0"`,
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  snapshotter = "native"',
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      ...cni,
      '[plugins."io.containerd.grpc.v1.cri".registry]',
      ...configPath,
    );
  } else {
    lines.push(
      '[plugins."io.containerd.cri.v1.images"]',
      '  snapshotter = "native"',
      ...(reg.localPull === undefined ? [] : [`  use_local_image_pull = ${reg.localPull}`]),
      '[plugins."io.containerd.cri.v1.images".registry]',
      ...configPath,
      '[plugins."io.containerd.cri.v1.runtime".cni]',
      `  conf_dir = ${q(join(dir, 'cni'))}`,
      `  bin_dirs = [${q(join(dir, 'cni-bin'))}]`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  stream_server_address = "127.0.0.1"`,
      `  stream_server_port = "0"`,
      // The transfer service unpacks for the CRI; with the native snapshotter it needs to be told so.
      '[[plugins."io.containerd.transfer.v1.local".unpack_config]]',
      '  platform = "linux/amd64"',
      '  snapshotter = "native"',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** containerd with its CRI plugin, reading the node's /etc/containerd. */
export class ContainerdCri implements CriRuntime {
  private constructor(
    readonly label: string,
    readonly endpoint: string,
    readonly crictl: Crictl,
    /** The config it runs with (what a node's /etc/containerd/config.toml would say). */
    readonly configText: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly tail: () => string,
  ) {}

  static async start(
    runtime: ContainerdRuntime,
    etc: NodeEtc,
    reg: ContainerdRegistryConfig = { configPath: '/etc/containerd/certs.d' },
  ): Promise<ContainerdCri> {
    const dir = await tempDir(`cri-containerd${runtime.major}`);
    const configText = containerdCriConfig(dir, runtime.major, reg);
    await writeFile(join(dir, 'config.toml'), configText);
    const proc = spawnWithBinds(runtime.containerd, ['--config', join(dir, 'config.toml')], etc.binds());
    const tail = tailOf(proc, 8_000);
    const endpoint = join(dir, 'containerd.sock');
    const crictl = new Crictl(endpoint);
    try {
      await waitFor(`${runtime.label} CRI`, () => crictl.ready(), 30_000, 200, proc);
    } catch (e) {
      await stopProcess(proc);
      await removeDir(dir);
      throw new Error(`${runtime.label} with CRI did not start: ${String(e)}\n${tail()}`, { cause: e });
    }
    return new ContainerdCri(`${runtime.label} (CRI)`, endpoint, crictl, configText, proc, dir, tail);
  }

  log(): string {
    return this.tail();
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc);
    await removeDir(this.dir);
  }
}

/** Copies the CLI's rendered tree (`--out DIR`) into the node's /etc, as the node agent would install it. */
export async function installRendered(out: string, etc: NodeEtc): Promise<void> {
  const { cp } = await import('node:fs/promises');
  for (const d of NODE_ETC_DIRS) {
    const from = join(out, d);
    if (existsSync(from)) await cp(from, etc.hostPath(d), { recursive: true });
  }
}
