// skopeo 1.9 (containers/image 5.23) and imagecopy (the current
// containers/image, e2e/runtimes/imagecopy, skopeo's command line for copy and
// inspect --raw) as consumers of the rendered `/etc/containers` files, and
// skopeo as the tool that pushes test images.
//
// How skopeo finds its files, and what the harness does about it:
// - registries.conf: `/etc/containers/registries.conf` plus every drop-in in
//   `/etc/containers/registries.conf.d/`. (`--registries.d` is NOT that
//   directory: it configures signature lookaside storage.)
// - per-registry CAs: `/etc/containers/certs.d/<host:port>/*.crt` (then
//   `/etc/docker/certs.d`), looked up for each endpoint it contacts, mirrors
//   included. `--cert-dir` would replace that with one directory for every
//   host, which is not how a node uses the files.
// - credentials: never `/etc/containers/auth.json` by default (it reads
//   `/run/containers/$UID/auth.json` or `$XDG_RUNTIME_DIR/containers/auth.json`,
//   then `~/.config/containers/auth.json`, `~/.docker/config.json`,
//   `~/.dockercfg`), so the rendered auth.json is passed with `--authfile`,
//   as CRI-O does with its `global_auth_file`.
// To let skopeo find CAs and drop-ins by its own rules, each pull runs in a
// private mount namespace (`unshare --mount`) where a directory holding the
// rendered tree is bind-mounted over `/etc/containers`. Nothing on the
// machine itself changes.
import { cp, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from './registry.js';
import { removeDir, run, runOk, tempDir, type RunResult } from './proc.js';

const POLICY = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Pushes `oci:<layout>:<tag>` to `registry` as `<repo>:<tag>`, bypassing any
 * registries.conf (an empty one) and TLS verification: this is test setup,
 * not the behaviour under test.
 */
export async function push(layout: string, tag: string, registry: Registry, repo: string, destTag = tag): Promise<void> {
  const dir = await tempDir('push');
  try {
    await writeFile(join(dir, 'registries.conf'), '');
    const args = ['--insecure-policy', '--registries-conf', join(dir, 'registries.conf'), 'copy', '--quiet', '--dest-tls-verify=false'];
    const auth = registry.credentials;
    if (auth) args.push('--dest-creds', `${auth.username}:${auth.password}`);
    args.push(`oci:${layout}:${tag}`, `docker://${registry.host}/${repo}:${destTag}`);
    await runOk('skopeo', args);
  } finally {
    await removeDir(dir);
  }
}

/**
 * Builds what `/etc/containers` would hold on a node that installed the
 * rendered tree `rendered` (the CLI's --out directory): an empty base
 * registries.conf, a permissive policy.json, and the rendered drop-ins and certs.
 */
async function nodeEtcContainers(rendered: string, into: string): Promise<void> {
  await mkdir(join(into, 'registries.conf.d'), { recursive: true });
  await writeFile(join(into, 'registries.conf'), '');
  await writeFile(join(into, 'policy.json'), POLICY);
  for (const sub of ['registries.conf.d', 'certs.d']) {
    const from = join(rendered, 'etc', 'containers', sub);
    if (await exists(from)) await cp(from, join(into, sub), { recursive: true });
  }
}

/**
 * Even with --authfile, skopeo 1.9 also reads ~/.config/containers/auth.json,
 * ~/.docker/config.json and ~/.dockercfg: a throwaway HOME (and no
 * XDG_RUNTIME_DIR/XDG_CONFIG_HOME) keeps the machine's credentials out.
 */
function hermeticEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.XDG_RUNTIME_DIR;
  delete env.XDG_CONFIG_HOME;
  delete env.REGISTRY_AUTH_FILE;
  delete env.CONTAINERS_REGISTRIES_CONF;
  return env;
}

/**
 * Runs `TOOL --debug ARGS` (skopeo, or imagecopy with the same arguments) as
 * a node with the rendered files installed would. `--authfile` points at the
 * rendered auth.json, or at a file that does not exist when none was
 * rendered (so no ambient credentials leak in).
 */
export async function skopeoOnNode(rendered: string, args: readonly string[], tool = 'skopeo'): Promise<RunResult> {
  const etc = await tempDir('etc-containers');
  try {
    await nodeEtcContainers(rendered, etc);
    const authfile = join(rendered, 'etc', 'containers', 'auth.json');
    const authArgs = ['--authfile', (await exists(authfile)) ? authfile : join(etc, 'no-auth.json')];
    const [verb = '', ...rest] = args;
    const script = 'mount --bind "$1" /etc/containers && shift && exec "$@"';
    return await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', etc, tool, '--debug', verb, ...authArgs, ...rest], {
      timeoutMs: 60_000,
      env: hermeticEnv(etc),
    });
  } finally {
    await removeDir(etc);
  }
}

/** `skopeo copy docker://REF dir:TMP` on the node: the operation a pull performs. */
export async function copyOnNode(rendered: string, ref: string, tool = 'skopeo'): Promise<RunResult> {
  const dest = await tempDir('skopeo-dest');
  try {
    return await skopeoOnNode(rendered, ['copy', `docker://${ref}`, `dir:${dest}`], tool);
  } finally {
    await removeDir(dest);
  }
}

/** `skopeo inspect --raw docker://REF` on the node: fetches only the manifest. */
export function inspectRawOnNode(rendered: string, ref: string, tool = 'skopeo'): Promise<RunResult> {
  return skopeoOnNode(rendered, ['inspect', '--raw', `docker://${ref}`], tool);
}
