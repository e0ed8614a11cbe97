// A crashed run leaves nothing that blocks the next: a second, one-node
// cluster runs a Pod, then every process of the node is SIGKILLed at once
// (kubelet, containerd, the namespace holder; the shim and the container
// survive, as after a crash), and down.sh, given only the state directory,
// removes every process, cgroup, mount and file.
import { expect } from 'chai';
import { readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../test/consumer/lib/proc.js';
import { waitUntil } from '../lib/kube.js';
import { Cluster, runPod, workloadPod } from './harness.js';

async function pidsWhere(predicate: (pid: string) => Promise<boolean>): Promise<string[]> {
  const ps = await run('ps', ['-eo', 'pid=']);
  const out: string[] = [];
  for (const pid of ps.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean))
    if (await predicate(pid)) out.push(pid);
  return out;
}

const nsOf = (pid: string, type: string): Promise<string> => readlink(`/proc/${pid}/ns/${type}`).catch(() => '');

describe('cluster: teardown after a crash', function () {
  this.timeout(240_000);

  it('down.sh removes every process, cgroup, mount and file of a cluster whose node processes were all SIGKILLed', async () => {
    const { cluster: c } = await Cluster.start(1);
    const node = c.nodes[0] as string;
    const k = c.kube();
    await waitUntil('the default service account', () => k.core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' }).catch(() => undefined));
    const pod = workloadPod('default', 'survivor', node, c.env.PAUSE_IMAGE);
    pod.spec!.containers[0]!.imagePullPolicy = 'Never';
    const out = await runPod(k, pod);
    expect(out, JSON.stringify(out)).to.include({ running: true });

    const nodeDir = c.nodeDir(node);
    const mntns = `mnt:[${(await readFile(join(nodeDir, 'mntns'), 'utf8')).trim()}]`;
    const netns = `net:[${(await readFile(join(c.dir, 'netns.inode'), 'utf8')).trim()}]`;
    const nodeNetns = `net:[${(await readFile(join(nodeDir, 'netns'), 'utf8')).trim()}]`;
    const inNode = await pidsWhere(async (p) => (await nsOf(p, 'mnt')) === mntns);
    expect(inNode.length, 'processes in the node mount namespace').to.be.greaterThan(2);
    const survivors = await pidsWhere(async (p) => (await nsOf(p, 'net')) === netns);

    // The crash: everything that has a pid file, at once; shims and containers live on.
    for (const f of ['kubelet.pid', 'containerd.pid', 'ns.pid']) process.kill(Number((await readFile(join(nodeDir, f), 'utf8')).trim()), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const shims = await pidsWhere(async (p) => (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).includes('containerd-shim'));
    const orphans = (await Promise.all(shims.map(async (p) => ((await nsOf(p, 'mnt')) === mntns ? p : '')))).filter(Boolean);
    expect(orphans.length, 'shims that outlived containerd').to.be.greaterThan(0);
    const cgroupRoot = (await readFile(join(nodeDir, 'kubelet', 'config.yaml'), 'utf8')).match(/^cgroupRoot: (.*)$/m)?.[1] as string;

    await c.stop(true);

    const left = await pidsWhere(async (p) => (await nsOf(p, 'mnt')) === mntns || [netns, nodeNetns].includes(await nsOf(p, 'net')));
    expect(left, 'processes left in the cluster namespaces').to.deep.equal([]);
    expect(survivors.length).to.be.greaterThan(0);
    for (const h of ['pids', 'memory', 'cpu', 'systemd']) {
      expect(
        await stat(`/sys/fs/cgroup/${h}${cgroupRoot}`).then(
          () => true,
          () => false,
        ),
        `cgroup ${h}${cgroupRoot}`,
      ).to.equal(false);
    }
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(c.dir), 'mounts below the state directory').to.equal(false);
    expect(
      await stat(c.dir).then(
        () => true,
        () => false,
      ),
      'state directory',
    ).to.equal(false);
  });
});
