// What a scenario file needs, started once per file: registries, one
// containerd daemon, images to push, and the two consumers behind one
// interface so every scenario runs the same checks for skopeo and containerd.
import { Containerd } from './containerd.js';
import { writeOciLayout, type OciImage } from './oci.js';
import { removeDir, tempDir, type RunResult } from './proc.js';
import { Registry, type RegistryOptions, type RequestRecord } from './registry.js';
import { describeRendered, type Rendered } from './render.js';
import type { Runtime } from '../../../src/explain/types.js';
import { expectAsPredicted, openWindow, runtimeOf } from './oracle.js';
import { copyOnNode, push } from './skopeo.js';

export interface TestImage extends OciImage {
  layout: string;
  tag: string;
}

export class World {
  private readonly registries: Registry[] = [];
  private readonly dirs: string[] = [];
  private daemon: Containerd | undefined;

  /** Starts a registry that is stopped with the world. */
  async registry(opts: RegistryOptions = {}): Promise<Registry> {
    const r = await Registry.start(opts);
    this.registries.push(r);
    return r;
  }

  async containerd(): Promise<Containerd> {
    this.daemon ??= await Containerd.start();
    return this.daemon;
  }

  /** A new image whose digests differ from every other image with another marker. */
  async image(marker: string, tag = 'v1'): Promise<TestImage> {
    const layout = await tempDir('oci');
    this.dirs.push(layout);
    return { ...(await writeOciLayout(layout, tag, marker)), layout, tag };
  }

  async push(img: TestImage, to: Registry, repo: string, tag = img.tag): Promise<void> {
    await push(img.layout, img.tag, to, repo, tag);
  }

  /** Runs a pull and checks the requests the registries saw against explain's prediction (oracle.ts). */
  async asPredicted(runtime: Runtime, rendered: Rendered, ref: string, pull: () => Promise<RunResult>): Promise<RunResult> {
    const window = openWindow(this.registries);
    const result = await pull();
    await expectAsPredicted({ runtime, rendered, ref, registries: this.registries, window, result });
    return result;
  }

  /** Forgets what every registry has seen so far. */
  clearLogs(): void {
    for (const r of this.registries) r.clearRequests();
  }

  async stop(): Promise<void> {
    await Promise.all(this.registries.map((r) => r.stop()));
    if (this.daemon) await this.daemon.stop();
    await Promise.all(this.dirs.map(removeDir));
  }
}

/** A program that pulls an image the way a node's runtime would. */
export interface Consumer {
  name: 'skopeo' | 'containerd';
  pull(rendered: Rendered, ref: string): Promise<RunResult>;
}

/**
 * skopeo copies to a directory; containerd fetches into its content store.
 * Every pull is checked against explain's prediction (oracle.ts).
 */
export function consumers(world: World): Consumer[] {
  const list: Consumer[] = [
    { name: 'skopeo', pull: (r, ref) => copyOnNode(r.out, ref) },
    { name: 'containerd', pull: async (r, ref) => (await world.containerd()).fetch(r.hostsDir, ref) },
  ];
  return list.map((c) => ({ ...c, pull: (r, ref) => world.asPredicted(runtimeOf(c.name), r, ref, () => c.pull(r, ref)) }));
}

/** Requests for manifests of `repo` (by tag or digest). */
export function manifestRequests(reg: Registry, repo: string): RequestRecord[] {
  return reg.requestsFor(repo).filter((r) => r.path.startsWith(`/v2/${repo}/manifests/`));
}

/** Distinct statuses `reg` answered for `path`, sorted (method ignored: GET vs HEAD is the client's choice). */
export function statusesOf(reg: Registry, path: string): number[] {
  return [
    ...new Set(
      reg
        .requests()
        .filter((r) => r.path === path)
        .map((r) => r.status),
    ),
  ].sort((a, b) => a - b);
}

/** `METHOD path status` lines, for readable deep-equal failures. */
export function lines(reqs: readonly RequestRecord[]): string[] {
  return reqs.map((r) => `${r.method} ${r.path} ${r.status}`);
}

/** Everything worth seeing when a pull assertion fails. */
export async function explain(rendered: Rendered, result: RunResult, regs: Record<string, Registry>): Promise<string> {
  const seen = Object.entries(regs)
    .map(([name, r]) => `${name} ${r.host}: ${r.connections()} connection(s)\n  ${lines(r.requests()).join('\n  ')}`)
    .join('\n');
  const tool = result.stderr
    .split('\n')
    .filter((l) => !l.includes('No credentials matching'))
    .slice(-25)
    .join('\n');
  return `\n$ ${result.command}\nexit ${result.code}\n${tool}\n${seen}\nrendered files:\n${await describeRendered(rendered.out)}`;
}
