// CRI-O as a node runs it, without touching the machine: its own config,
// root, runroot, state, socket and logs in a temp dir, and the node's
// /etc/containers (registries.conf + registries.conf.d/, certs.d/,
// policy.json) bind-mounted in a private mount namespace (lib/cri.ts), so it
// finds the files of a MachineConfig at the paths RHCOS has them. runc runs
// containers, conmon (Debian) monitors them, pinns (built with CRI-O) pins
// namespaces; storage is vfs (no overlay mounts needed for pulls).
//
// `Crio.start` returns the CRI socket: the consumer tests pull with crictl;
// a cluster tier can hand the same socket to a kubelet
// (`--container-runtime-endpoint unix://<endpoint>`) and give the node a
// loopback CNI config in `cniConfDir`.
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Crictl, spawnWithBinds, type CriRuntime, type NodeEtc } from './cri.js';
import { removeDir, stopProcess, tailOf, tempDir, waitFor } from './proc.js';
import { runtimeBin } from './runtimes.js';

export const CRIO_VERSION = '1.34.0';

export interface CrioOptions {
  /** Log level (`info`; `debug` shows every registry endpoint tried). */
  logLevel?: string;
  /** `global_auth_file`: the node's credentials for every pull (/etc/containers/auth.json from the agent). */
  globalAuthFile?: string;
  conmon?: string;
  runc?: string;
}

/** crio.conf for a node whose every path is under `dir` (except the node's /etc, read at its usual paths). */
export function crioConfig(dir: string, bin: string, opts: CrioOptions = {}): string {
  const q = (s: string): string => JSON.stringify(s);
  const p = (name: string): string => q(join(dir, name));
  return [
    '[crio]',
    `root = ${p('storage')}`,
    `runroot = ${p('run/storage')}`,
    'storage_driver = "vfs"',
    `log_dir = ${p('log/pods')}`,
    `version_file = ${p('run/version')}`,
    `version_file_persist = ${p('version')}`,
    `clean_shutdown_file = ${p('clean.shutdown')}`,
    '[crio.api]',
    `listen = ${p('crio.sock')}`,
    'stream_address = "127.0.0.1"',
    'stream_port = "0"',
    '[crio.runtime]',
    'default_runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'selinux = false',
    'apparmor_profile = ""',
    // Both default to files under /etc/sysconfig, which CRI-O would write.
    'irqbalance_config_file = ""',
    'irqbalance_config_restore_file = "disable"',
    `namespaces_dir = ${p('run/ns')}`,
    `pinns_path = ${q(join(bin, 'pinns'))}`,
    `container_exits_dir = ${p('run/exits')}`,
    `container_attach_socket_dir = ${p('run')}`,
    `hooks_dir = [${p('hooks.d')}]`,
    `cdi_spec_dirs = [${p('cdi')}]`,
    `log_level = ${q(opts.logLevel ?? 'info')}`,
    '[crio.runtime.runtimes.runc]',
    `runtime_path = ${q(opts.runc ?? '/usr/sbin/runc')}`,
    `runtime_root = ${p('run/runc')}`,
    `monitor_path = ${q(opts.conmon ?? '/usr/bin/conmon')}`,
    'monitor_cgroup = "pod"',
    '[crio.image]',
    'signature_policy = "/etc/containers/policy.json"',
    `signature_policy_dir = ${p('policies')}`,
    `global_auth_file = ${q(opts.globalAuthFile ?? '')}`,
    `big_files_temporary_dir = ${p('tmp')}`,
    '[crio.network]',
    `network_dir = ${p('cni')}`,
    `plugin_dirs = [${p('cni-bin')}]`,
    '[crio.nri]',
    'enable_nri = false',
    '',
  ].join('\n');
}

/** A node's own /etc/containers base (RHCOS ships these): an empty main registries.conf and a permissive policy. */
export async function nodeContainersBase(etc: NodeEtc): Promise<void> {
  await mkdir(etc.hostPath('/etc/containers/registries.conf.d'), { recursive: true });
  await writeFile(etc.hostPath('/etc/containers/registries.conf'), '');
  await writeFile(etc.hostPath('/etc/containers/policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
}

export class Crio implements CriRuntime {
  readonly label = `CRI-O ${CRIO_VERSION}`;

  private constructor(
    readonly endpoint: string,
    readonly crictl: Crictl,
    /** Where a cluster tier puts the node's CNI config. */
    readonly cniConfDir: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly tail: () => string,
  ) {}

  static async start(etc: NodeEtc, opts: CrioOptions = {}): Promise<Crio> {
    const bin = runtimeBin('crio');
    const dir = await tempDir('crio');
    for (const d of ['cni', 'cni-bin', 'hooks.d', 'cdi', 'policies', 'tmp', 'conf.d', 'log/pods', 'run']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'crio.conf'), crioConfig(dir, bin, opts));
    // --config-dir: an empty directory of ours, so /etc/crio/crio.conf.d of the machine plays no part.
    const proc = spawnWithBinds(join(bin, 'crio'), ['--config', join(dir, 'crio.conf'), '--config-dir', join(dir, 'conf.d')], etc.binds());
    const tail = tailOf(proc, 16_000);
    const endpoint = join(dir, 'crio.sock');
    const crictl = new Crictl(endpoint);
    try {
      await waitFor('CRI-O to serve the CRI', () => crictl.ready(), 60_000, 200, proc);
    } catch (e) {
      await stopProcess(proc);
      await removeDir(dir);
      throw new Error(`CRI-O did not start: ${String(e)}\n${tail()}`, { cause: e });
    }
    return new Crio(endpoint, crictl, join(dir, 'cni'), proc, dir, tail);
  }

  log(): string {
    return this.tail();
  }

  /** SIGHUP: CRI-O re-reads registries.conf (what the node agent's --reload-crio-command triggers). */
  reload(): void {
    this.proc.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc, 10_000);
    await removeDir(this.dir);
  }
}
