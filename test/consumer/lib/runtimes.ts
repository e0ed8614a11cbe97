// The consumer versions every scenario runs against: Debian's packages and
// the current releases that e2e/runtimes/build.sh builds from the Go module
// proxy into ~/.cache/image-mirror/runtimes (make runtimes-build). A missing
// build fails the suite with the command to run: skipping would hide exactly
// the version differences these tests exist to find.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './render.js';

/** A containerd daemon and the ctr that drives it, from one release. */
export interface ContainerdRuntime {
  family: 'containerd';
  /** e.g. `containerd 1.6.20`, in test titles and failure messages. */
  label: string;
  major: 1 | 2;
  containerd: string;
  ctr: string;
  /** containerd-shim-runc-v2 of the same release (the CRI tier runs Pods with it). */
  shim: string;
}

/** A program on containers/image that reads the node's /etc/containers. */
export interface ContainersImageRuntime {
  family: 'containers-image';
  label: string;
  /** skopeo 1.9.3 (the CLI itself) or imagecopy (the current library, skopeo's copy/inspect --raw subset). */
  tool: 'skopeo' | 'imagecopy';
  bin: string;
}

const cache = new Map<string, string>();

/** Bin directory of a component built by e2e/runtimes/build.sh; throws with the command to run when missing. */
export function runtimeBin(component: 'containerd' | 'containers-image' | 'crio' | 'crictl'): string {
  const hit = cache.get(component);
  if (hit) return hit;
  const script = join(REPO_ROOT, 'e2e', 'runtimes', 'build.sh');
  let out: string;
  try {
    out = execFileSync(script, ['--locate', component], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${component} is not built: run \`make runtimes-build\` (e2e/runtimes/build.sh ${component})`, { cause: e });
  }
  const dir = out.trim().split(' ')[1];
  if (!dir) throw new Error(`e2e/runtimes/build.sh --locate ${component} printed no directory: ${out}`);
  cache.set(component, dir);
  return dir;
}

/** Whether a component is in the cache (for the one suite that may run without CRI-O). */
export function runtimeBuilt(component: 'crio' | 'crictl'): boolean {
  try {
    return existsSync(runtimeBin(component));
  } catch {
    return false;
  }
}

export const CONTAINERD_1 = '1.6.20';
export const CONTAINERD_2 = '2.4.2';
export const SKOPEO_DEBIAN = '1.9.3';
/** go.podman.io/image/v5, e2e/runtimes/imagecopy/go.mod. */
export const CONTAINERS_IMAGE_CURRENT = '5.42.1';

/** Debian 12's containerd, on PATH (scripts/install-system-deps.sh). */
export const DEBIAN_CONTAINERD: ContainerdRuntime = {
  family: 'containerd',
  label: `containerd ${CONTAINERD_1}`,
  major: 1,
  containerd: 'containerd',
  ctr: 'ctr',
  shim: 'containerd-shim-runc-v2',
};

export function containerdRuntimes(): ContainerdRuntime[] {
  const v2 = runtimeBin('containerd');
  return [
    DEBIAN_CONTAINERD,
    {
      family: 'containerd',
      label: `containerd ${CONTAINERD_2}`,
      major: 2,
      containerd: join(v2, 'containerd'),
      ctr: join(v2, 'ctr'),
      shim: join(v2, 'containerd-shim-runc-v2'),
    },
  ];
}

export function containersImageRuntimes(): ContainersImageRuntime[] {
  return [
    { family: 'containers-image', label: `skopeo ${SKOPEO_DEBIAN}`, tool: 'skopeo', bin: 'skopeo' },
    {
      family: 'containers-image',
      label: `containers/image ${CONTAINERS_IMAGE_CURRENT}`,
      tool: 'imagecopy',
      bin: join(runtimeBin('containers-image'), 'imagecopy'),
    },
  ];
}
