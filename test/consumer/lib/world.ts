// What a scenario file needs, started once per file: registries, one
// containerd daemon per release, images to push, and the consumers behind
// one interface so every scenario runs the same checks for each of them:
// skopeo 1.9.3 and the current containers/image, containerd 1.6.20 and 2.x.
import { Containerd } from './containerd.js';
import { writeOciLayout, type OciImage } from './oci.js';
import { removeDir, tempDir, type RunResult } from './proc.js';
import { Registry, type RegistryOptions, type RequestRecord } from './registry.js';
import { describeRendered, type Rendered } from './render.js';
import type { Runtime } from '../../../src/explain/types.js';
import { expectAsPredicted, openWindow } from './oracle.js';
import { containerdRuntimes, containersImageRuntimes, DEBIAN_CONTAINERD, type ContainerdRuntime, type ContainersImageRuntime } from './runtimes.js';
import { copyOnNode, push } from './skopeo.js';

export interface TestImage extends OciImage {
  layout: string;
  tag: string;
}

export class World {
  private readonly registries: Registry[] = [];
  private readonly dirs: string[] = [];
  private readonly daemons = new Map<string, Promise<Containerd>>();

  /** Starts a registry that is stopped with the world. */
  async registry(opts: RegistryOptions = {}): Promise<Registry> {
    const r = await Registry.start(opts);
    this.registries.push(r);
    return r;
  }

  /** The file's daemon of that release (default: Debian's 1.6.20), started on first use. */
  containerd(runtime: ContainerdRuntime = DEBIAN_CONTAINERD): Promise<Containerd> {
    let d = this.daemons.get(runtime.label);
    if (!d) {
      d = Containerd.start(runtime);
      this.daemons.set(runtime.label, d);
    }
    return d;
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
    await Promise.all([...this.daemons.values()].map(async (d) => (await d.catch(() => undefined))?.stop()));
    await Promise.all(this.dirs.map(removeDir));
  }
}

/** A program that pulls an image the way a node's runtime would. */
export interface Consumer {
  /** containers/image (skopeo, CRI-O, podman) or containerd: which files it reads, how it behaves. */
  family: 'containers-image' | 'containerd';
  /** Program and version, e.g. `skopeo 1.9.3`, `containerd 2.4.2`: test titles say which one ran. */
  label: string;
  runtime: ContainersImageRuntime | ContainerdRuntime;
  pull(rendered: Rendered, ref: string): Promise<RunResult>;
}

/**
 * Every consumer version, containers/image first: skopeo 1.9.3 and the
 * current containers/image copy to a directory; containerd 1.6.20 and 2.x
 * fetch into a private daemon's content store. Every pull is checked
 * against explain's prediction for its family (oracle.ts).
 */
export function consumers(world: World): Consumer[] {
  return [...containersImageConsumers(world), ...containerdConsumers(world)];
}

export function containersImageConsumers(world: World): Consumer[] {
  return containersImageRuntimes().map((rt) => ({
    family: 'containers-image',
    label: rt.label,
    runtime: rt,
    pull: (r: Rendered, ref: string) => world.asPredicted('containers-image', r, ref, () => copyOnNode(r.out, ref, rt.bin)),
  }));
}

export function containerdConsumers(world: World): Consumer[] {
  return containerdRuntimes().map((rt) => ({
    family: 'containerd',
    label: rt.label,
    runtime: rt,
    pull: (r: Rendered, ref: string) => world.asPredicted('containerd', r, ref, async () => (await world.containerd(rt)).fetch(r.hostsDir, ref)),
  }));
}

/** What each registry saw, in arrival order: the scenario's result, as plain data. */
export interface Observed {
  connections: number;
  requests: RequestRecord[];
}

/** A snapshot of every named registry's record (for assertions, reports, or comparing consumers). */
export function observe(regs: Record<string, Registry>): Record<string, Observed> {
  return Object.fromEntries(Object.entries(regs).map(([name, r]) => [name, { connections: r.connections(), requests: r.requests() }]));
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
