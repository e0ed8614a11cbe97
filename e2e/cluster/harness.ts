// The cluster tier from Node: start and stop it through its scripts (up.sh,
// deploy.sh, down.sh), run kubectl, run commands inside the cluster's network
// namespace, registries that the nodes pull from (with their access logs),
// runnable test images, and workload Pods.
import { AppsV1Api, CoordinationV1Api, type V1Pod } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadAll } from 'js-yaml';
import { repoRoot } from '../lib/controlplane.js';
import { connect, errorMessage, isNotFound, waitUntil, type Kube } from '../lib/kube.js';
import { readRmc } from '../operator/lib.js';
import { applyIgnitionFiles, type InstalledFile } from '../../test/consumer/lib/ignition.js';
import { removeDir, run, runOk, stopProcess, tempDir, track, type RunResult } from '../../test/consumer/lib/proc.js';

/** Clients for the cluster under test: e2e/lib/kube's plus the workload and coordination APIs. */
export interface ClusterKube extends Kube {
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
}

export interface ClusterEnv {
  readonly APISERVER_PORT: string;
  readonly HOST_APISERVER_PORT: string;
  readonly REGISTRY: string;
  readonly PAUSE_IMAGE: string;
  readonly NODES: string;
  readonly BIN: string;
}

/** Runs a cluster script; resolves with the last line of its stdout, rejects with its stderr tail. */
function script(name: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ out: string; err: string }> {
  const file = join(repoRoot(), 'e2e', 'cluster', name);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (process.env.CLUSTER_VERBOSE === '1') process.stderr.write(b);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve({ out: out.trim().split('\n').pop() ?? '', err });
      reject(new Error(`e2e/cluster/${name} ${args.join(' ')} exited ${code}:\n${err.trim().split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** The node paths that are the node's own (bind mounts of its directory, see node.sh); everything else is the machine's. */
export const NODE_OWN_PATHS = ['/etc/containerd', '/etc/containers', '/var/lib', '/var/log', '/run'] as const;

export interface AddNodeOptions {
  /** `crio` (or `containerd`): the node.sh runtime. */
  runtime: 'crio' | 'containerd';
  /** name -> address lines for the node's own /etc/hosts (names that must never reach DNS). */
  hosts?: Record<string, string>;
  /** `--register-with-taints` of its kubelet (key=value:Effect,...). */
  taints?: string;
}

export class Cluster {
  /** Nodes added by tests (`addNode`), beyond the NODES that up.sh started. */
  private readonly added: string[] = [];

  private constructor(
    readonly dir: string,
    readonly kubeconfig: string,
    readonly env: ClusterEnv,
  ) {}

  /**
   * up.sh in a fresh directory; the cluster goes when this process exits,
   * even by SIGKILL (unless `keep`).
   */
  static async start(nodes: number, keep = false): Promise<{ cluster: Cluster; log: string }> {
    const dir = await tempDir('cluster');
    const scriptEnv: NodeJS.ProcessEnv = { ...process.env, CLUSTER_NODES: String(nodes) };
    if (!keep) scriptEnv.CLUSTER_OWNER_PID = String(process.pid);
    // up.sh arms its watchdog only once every node is Ready: a failure before
    // that would leave what it started running.
    const { out, err } = await script('up.sh', [dir], scriptEnv).catch(async (e: unknown) => {
      await script('down.sh', [dir, '--quiet']).catch(() => undefined); // logs stay in dir
      throw e;
    });
    const env = Object.fromEntries(
      (await readFile(join(dir, 'cluster.env'), 'utf8'))
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
    ) as unknown as ClusterEnv;
    return { cluster: new Cluster(dir, out, env), log: err };
  }

  /** deploy.sh: image build, push, kubectl apply -k of deploy/ and deploy/agent; the image reference. */
  async deploy(): Promise<{ image: string; log: string }> {
    const { out, err } = await script('deploy.sh', [this.dir]);
    return { image: out, log: err };
  }

  async stop(purge = true): Promise<void> {
    await script('down.sh', [this.dir, '--quiet', ...(purge ? ['--purge'] : [])]);
  }

  /** The nodes up.sh started (containerd): what "every node" means for the agent's tests. */
  get nodes(): string[] {
    return this.env.NODES.trim().split(/\s+/);
  }

  nodeDir(node: string): string {
    return join(this.dir, 'nodes', node);
  }

  /**
   * Where the node path `path` is on the machine: under the node's directory
   * for the paths that are its own (NODE_OWN_PATHS); any other path would be
   * the machine's and is refused.
   */
  nodePath(node: string, path: string): string {
    if (!posix.isAbsolute(path) || posix.normalize(path) !== path) throw new Error(`not an absolute, normal node path: ${path}`);
    if (!NODE_OWN_PATHS.some((d) => path === d || path.startsWith(`${d}/`))) {
      throw new Error(`${path} is not on node ${node}'s own filesystem (${NODE_OWN_PATHS.join(', ')}): it would be the machine's`);
    }
    return join(this.nodeDir(node), path.slice(1));
  }

  /**
   * Starts one more node (node.sh start with the next free index) on the
   * running cluster and waits until it is Ready; returns its name (address).
   * Test registries started afterwards are forwarded to it too.
   */
  async addNode(opts: AddNodeOptions): Promise<string> {
    const index = this.nodes.length + this.added.length + 1;
    const node = `127.0.0.${index}`;
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_RUNTIME: opts.runtime };
    if (opts.hosts)
      env.NODE_HOSTS = Object.entries(opts.hosts)
        .map(([name, addr]) => `${addr} ${name}`)
        .join('\n');
    if (opts.taints) env.NODE_TAINTS = opts.taints;
    this.added.push(node);
    await script('node.sh', ['start', this.dir, String(index)], env);
    const k = this.kube();
    await waitUntil(
      `node ${node} Ready`,
      async () => {
        const n = await k.core.readNode({ name: node }).catch(() => undefined);
        return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    return node;
  }

  /** Stops a node of `addNode` (node.sh stop: nothing of it left running or mounted) and deletes its Node. */
  async removeNode(node: string): Promise<void> {
    await script('node.sh', ['stop', this.dir, node]);
    this.added.splice(this.added.indexOf(node), 1);
    await this.kube()
      .core.deleteNode({ name: node })
      .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }

  kube(): ClusterKube {
    const k = connect(this.kubeconfig);
    return { ...k, apps: k.kc.makeApiClient(AppsV1Api), coordination: k.kc.makeApiClient(CoordinationV1Api) };
  }

  kubectl(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return run(join(this.env.BIN, 'kubectl'), ['--kubeconfig', this.kubeconfig, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  async kubectlOk(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** argv that runs a command inside the cluster's network namespace. */
  async inNetns(argv: readonly string[]): Promise<string[]> {
    const holder = (await readFile(join(this.dir, 'netns.pid'), 'utf8')).trim();
    return ['nsenter', `--net=/proc/${holder}/ns/net`, '--', ...argv];
  }

  async runInNetns(argv: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    const [cmd, ...args] = await this.inNetns(argv);
    return run(cmd as string, args, opts);
  }

  /** A port nothing listens on inside the namespace. */
  async freePortInside(): Promise<number> {
    const r = await this.runInNetns([
      process.execPath,
      '-e',
      'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})',
    ]);
    if (r.code !== 0) throw new Error(`cannot pick a port in the cluster namespace: ${r.stderr}`);
    return Number(r.stdout.trim());
  }

  /**
   * Makes 127.0.0.1:PORT of the cluster's namespace (a registry) reachable at
   * the same address from every node's own network namespace.
   */
  async exposeToNodes(port: number): Promise<void> {
    const sock = join(this.dir, `port-${port}.sock`);
    await appendFile(join(this.dir, 'forward-netns.conf'), `unix:${sock}=127.0.0.1:${port}\n`);
    await waitUntil(
      `${sock}`,
      () =>
        stat(sock).then(
          () => true,
          () => undefined,
        ),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const want = `forwarding 127.0.0.1:${port} -> unix:${sock}`;
    await Promise.all(
      [...this.nodes, ...this.added].map(async (node) => {
        await appendFile(join(this.nodeDir(node), 'forward.conf'), `127.0.0.1:${port}=unix:${sock}\n`);
        await waitUntil(
          `node ${node} to forward 127.0.0.1:${port}`,
          async () => (await readFile(join(this.nodeDir(node), 'forward.log'), 'utf8')).includes(want) || undefined,
          {
            timeoutMs: 10_000,
            intervalMs: 50,
          },
        );
      }),
    );
  }

  /** The PID of a node's runtime (to show it was never restarted). */
  async runtimePid(node: string): Promise<number> {
    const runtime = (await readFile(join(this.nodeDir(node), 'runtime'), 'utf8').catch(() => 'containerd')).trim();
    return Number((await readFile(join(this.nodeDir(node), `${runtime}.pid`), 'utf8')).trim());
  }

  /**
   * SIGHUP to a CRI-O node's crio (what `systemctl reload crio` does, and
   * the Machine Config Daemon after a registries.conf change): it re-reads
   * registries.conf and its drop-ins. Resolves once CRI-O logs that the
   * reload completed, with the registry configuration it applied.
   */
  async reloadCrio(node: string): Promise<string> {
    const log = join(this.nodeDir(node), 'crio.log');
    const from = (await stat(log)).size;
    process.kill(await this.runtimePid(node), 'SIGHUP');
    return waitUntil(
      `CRI-O on ${node} to reload`,
      async () => {
        const text = (await readFile(log, 'utf8')).slice(from);
        if (/Unable to reload configuration|system registries reload failed/.test(text)) throw new Error(`CRI-O on ${node} could not reload:\n${text}`);
        return text.includes('Configuration reload completed') ? text : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  }
}

// ------------------------------------------------------------------ MachineConfig

export interface InstalledNodeFile extends InstalledFile {
  /** Where it is on the machine (under the node's directory). */
  readonly machinePath: string;
}

/**
 * Installs the `storage.files` of every MachineConfig in `config` (the
 * `config` key of a NodePool output ConfigMap: YAML or JSON, one document or
 * more) onto a node exactly as Ignition does at first boot
 * (test/consumer/lib/ignition.ts: each path, each mode, each data URL,
 * base64 or not; anything else Ignition could be asked for is refused), at
 * the node's own paths (`nodePath`: never the machine's /etc).
 */
export async function installMachineConfig(cluster: Cluster, node: string, config: string): Promise<InstalledNodeFile[]> {
  const docs = loadAll(config).filter((d) => d !== null && d !== undefined);
  if (docs.length === 0) throw new Error('no MachineConfig in the config text');
  const out: InstalledNodeFile[] = [];
  for (const doc of docs) {
    for (const f of await applyIgnitionFiles(doc, (p) => cluster.nodePath(node, p))) out.push({ ...f, machinePath: cluster.nodePath(node, f.path) });
  }
  return out;
}

// ------------------------------------------------------------------ registries

export interface AccessRecord {
  readonly method: string;
  readonly path: string;
  /** `?...` as sent, or ''. */
  readonly query: string;
  readonly status: number;
  readonly agent: string;
}

/**
 * A docker-registry inside the cluster's network namespace on 127.0.0.1,
 * where the nodes' containerd reach it; its access log (one combined-format
 * line per request) is the record of who pulled what.
 */
export class ClusterRegistry {
  private constructor(
    readonly name: string,
    /** `127.0.0.1:PORT`, as image references and mirror settings name it. */
    readonly host: string,
    readonly credentials: { username: string; password: string } | undefined,
    readonly tls: boolean,
    private readonly logPath: string,
    private readonly stopFn: () => Promise<void>,
  ) {}

  static async start(
    cluster: Cluster,
    name: string,
    opts: { tls?: { cert: string; key: string }; auth?: { username: string; password: string } } = {},
  ): Promise<ClusterRegistry> {
    const dir = join(cluster.dir, 'test-registries', name);
    await mkdir(dir, { recursive: true });
    const port = await cluster.freePortInside();
    const http: Record<string, unknown> = { addr: `127.0.0.1:${port}`, secret: `cluster-tier-${name}` };
    if (opts.tls) http.tls = { certificate: opts.tls.cert, key: opts.tls.key };
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') } },
      http,
    };
    if (opts.auth) {
      const line = await runOk('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]);
      await writeFile(join(dir, 'htpasswd'), line.stdout);
      config.auth = { htpasswd: { realm: `cluster-tier-${name}`, path: join(dir, 'htpasswd') } };
    }
    await writeFile(join(dir, 'config.yml'), JSON.stringify(config, null, 2));
    const logPath = join(dir, 'registry.log');
    const log = await open(logPath, 'a');
    const [cmd, ...args] = await cluster.inNetns(['docker-registry', 'serve', join(dir, 'config.yml')]);
    const child = track(spawn(cmd as string, args, { stdio: ['ignore', log.fd, log.fd] }));
    await log.close();
    const reg = new ClusterRegistry(name, `127.0.0.1:${port}`, opts.auth, opts.tls !== undefined, logPath, () => stopProcess(child));
    await waitUntil(`registry ${name} to listen on ${reg.host}`, async () => (await readFile(logPath, 'utf8')).includes('listening on') || undefined, {
      timeoutMs: 15_000,
      intervalMs: 100,
      process: child,
    }).catch(async (e: unknown) => {
      throw new Error(`${errorMessage(e)}\n${await readFile(logPath, 'utf8').catch(() => '')}`, { cause: e });
    });
    await cluster.exposeToNodes(port);
    return reg;
  }

  /** Requests in the access log, in order (from `mark` on, a value of `mark()`). */
  async requests(mark = 0): Promise<AccessRecord[]> {
    const text = (await readFile(this.logPath, 'utf8')).slice(mark);
    const out: AccessRecord[] = [];
    for (const m of text.matchAll(/"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/g)) {
      const [path = '', query] = (m[2] as string).split(/\?(.*)/s);
      out.push({ method: m[1] as string, path, query: query === undefined ? '' : `?${query}`, status: Number(m[3]), agent: m[4] as string });
    }
    return out;
  }

  /** Position in the log: requests after it are those of the step under test. */
  async mark(): Promise<number> {
    return (await readFile(this.logPath, 'utf8')).length;
  }

  /** Requests from nodes' runtimes, containerd or CRI-O (not from test set-up with skopeo). */
  async pulls(mark = 0): Promise<AccessRecord[]> {
    return (await this.requests(mark)).filter((r) => r.agent.startsWith('containerd/') || r.agent.startsWith('cri-o/'));
  }

  async stop(): Promise<void> {
    await this.stopFn();
  }
}

// ------------------------------------------------------------------ images

const BLOCK = 512;

function tarEntry(name: string, content: Buffer, mode: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const put = (text: string, offset: number, len: number): void => void h.write(text.slice(0, len), offset, len, 'ascii');
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0');
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([h, content, Buffer.alloc(pad)]);
}

function tarOf(entries: Array<{ name: string; content: Buffer; mode: number }>): Buffer {
  return Buffer.concat([...entries.map((e) => tarEntry(e.name, e.content, e.mode)), Buffer.alloc(2 * BLOCK)]);
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface TestImage {
  readonly manifestDigest: string;
  /** Digest of the layer that only this image has (its marker). */
  readonly markerLayer: string;
}

/**
 * Writes an OCI layout holding a runnable image: the pause binary (a layer
 * every test image shares) and a marker file (a layer of its own, so each
 * image is fresh content that a node has never pulled).
 */
export async function writeRunnableImage(dir: string, tag: string, pauseBinary: string, marker: string): Promise<TestImage> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = async (data: Buffer): Promise<string> => {
    const d = sha256(data);
    await writeFile(join(dir, 'blobs', 'sha256', d.slice(7)), data);
    return d;
  };
  const pause = tarOf([{ name: 'pause', content: await readFile(pauseBinary), mode: 0o755 }]);
  const mark = tarOf([{ name: 'marker.txt', content: Buffer.from(`${marker}\n`), mode: 0o644 }]);
  // Compressed as pushed: skopeo would otherwise compress them on the way and
  // the registry would hold another manifest digest than the one computed here.
  const layers = [pause, mark].map((t) => gzipSync(t, { level: 1 }));
  const digests = await Promise.all(layers.map(blob));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/pause'], User: '65532:65532' },
      rootfs: { type: 'layers', diff_ids: [pause, mark].map(sha256) },
    }),
  );
  const configDigest = await blob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digests[i], size: l.length })),
    }),
  );
  const manifestDigest = await blob(manifest);
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifestDigest,
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { manifestDigest, markerLayer: digests[1] as string };
}

/** Makes a fresh runnable image and pushes it to each registry as `repo:tag` (skopeo, inside the namespace). */
export async function pushFreshImage(cluster: Cluster, registries: readonly ClusterRegistry[], repo: string, tag: string): Promise<TestImage> {
  const dir = await tempDir('cluster-image');
  try {
    const img = await writeRunnableImage(join(dir, 'oci'), tag, join(cluster.env.BIN, 'pause'), `${repo}:${tag} ${Date.now()} ${Math.random()}`);
    await writeFile(join(dir, 'registries.conf'), '');
    for (const reg of registries) {
      const args = ['skopeo', '--registries-conf', join(dir, 'registries.conf'), 'copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false'];
      if (reg.credentials) args.push('--dest-creds', `${reg.credentials.username}:${reg.credentials.password}`);
      args.push(`oci:${join(dir, 'oci')}:${tag}`, `docker://${reg.host}/${repo}:${tag}`);
      const r = await cluster.runInNetns(args, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`push to ${reg.name} failed: ${r.stderr}`);
    }
    return img;
  } finally {
    await removeDir(dir);
  }
}

// ------------------------------------------------------------------ workloads

/** A workload Pod running `image` on `node`, restricted as the operator's own. */
export function workloadPod(namespace: string, name: string, node: string, image: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels: { 'app.kubernetes.io/part-of': 'cluster-tier-test' } },
    spec: {
      nodeName: node,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image,
          imagePullPolicy: 'IfNotPresent',
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

export type PodOutcome = { running: true; ms: number } | { running: false; reason: string; message: string; ms: number };

/** Creates the Pod and waits until its container runs or its image pull fails. */
export async function runPod(k: Kube, pod: V1Pod, timeoutMs = 90_000): Promise<PodOutcome> {
  const namespace = pod.metadata?.namespace as string;
  const name = pod.metadata?.name as string;
  const t0 = Date.now();
  await k.core.createNamespacedPod({ namespace, body: pod });
  return waitUntil(
    `Pod ${namespace}/${name} to run or fail its pull`,
    async (): Promise<PodOutcome | undefined> => {
      const p = await k.core.readNamespacedPod({ namespace, name });
      const st = p.status?.containerStatuses?.[0];
      if (st?.state?.running) return { running: true, ms: Date.now() - t0 };
      const waiting = st?.state?.waiting;
      if (waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff') {
        return { running: false, reason: waiting.reason, message: waiting.message ?? '', ms: Date.now() - t0 };
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export async function deletePod(k: Kube, namespace: string, name: string): Promise<void> {
  try {
    await k.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot delete Pod ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Files the agent installed on a node, relative to the node's /etc (e.g. containerd/certs.d/x/hosts.toml). */
export async function nodeFile(cluster: Cluster, node: string, path: string): Promise<string | undefined> {
  return readFile(join(cluster.nodeDir(node), path), 'utf8').catch(() => undefined);
}

/** What a RenderedMirrorConfig status says about its inputs. */
export type RmcStatusView = NonNullable<NonNullable<Awaited<ReturnType<typeof readRmc>>>['status']>;

/**
 * Waits until the target's RenderedMirrorConfig satisfies `rendered` (for
 * example: lists an object at its current generation among its
 * contributors) and the agents of `nodes` report its hash applied. Returns
 * the hash.
 */
export async function waitApplied(
  k: Kube,
  nodes: readonly string[],
  rendered: (status: RmcStatusView) => boolean | Promise<boolean>,
  namespace = 'image-mirror-system',
  name = 'cluster',
): Promise<string> {
  return waitUntil(
    `${namespace}/${name} rendered as expected and applied on ${nodes.join(', ')}`,
    async () => {
      const status = (await readRmc(k, namespace, name))?.status;
      const hash = status?.contentHash;
      if (!status || !hash || !(await rendered(status))) return undefined;
      for (const node of nodes) {
        const n = await k.core.readNode({ name: node });
        if (n.metadata?.annotations?.['imagemirror.io/applied-hash'] !== hash) return undefined;
      }
      return hash;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

/** A `rendered` predicate: the cluster-scoped imagemirror.io object is a contributor at its current generation. */
export function contributes(k: Kube, plural: string, kind: string, name: string): (status: RmcStatusView) => Promise<boolean> {
  return async (status) => {
    const obj = (await k.custom.getClusterCustomObject({ group: 'imagemirror.io', version: 'v1alpha1', plural, name })) as {
      metadata: { generation?: number };
    };
    return (status.contributors ?? []).some((c) => c.kind === kind && c.name === name && c.generation === obj.metadata.generation);
  };
}

/** A `rendered` predicate: no contributor of that kind and name. */
export function notContributing(kind: string, name: string): (status: RmcStatusView) => boolean {
  return (status) => !(status.contributors ?? []).some((c) => c.kind === kind && c.name === name);
}
