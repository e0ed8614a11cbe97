// Mocha root hooks of the cluster tier: one cluster for the whole run (two
// nodes), the operator deployed on it from its image exactly as `make cluster`
// does (e2e/cluster/deploy.sh), torn down after the run. Timings of each
// step are printed, for the README's figures.
import type { Context } from 'mocha';
import { Cluster } from './harness.js';

let current: Cluster | undefined;
let deployedImage = '';

export const timings: Array<{ step: string; ms: number }> = [];

/** The cluster under test (started by the root hook). */
export function cluster(): Cluster {
  if (!current) throw new Error('the cluster tier root hook has not run: load dist/e2e/cluster/hooks.js with mocha --require');
  return current;
}

/** The image reference the operator and agent Pods run. */
export function image(): string {
  return deployedImage;
}

async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  timings.push({ step, ms: Date.now() - t0 });
  console.log(`    [cluster] ${step}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    // Cold: the Go builds and the base image take minutes; warm: well under one.
    this.timeout(40 * 60_000);
    const nodes = Number(process.env.CLUSTER_NODES ?? 2);
    const { cluster: c } = await timed(`start (control plane, controller-manager, scheduler, registry, ${nodes} nodes Ready)`, () =>
      Cluster.start(nodes, process.env.KEEP_CLUSTER === '1'),
    );
    current = c;
    const { image: img, log } = await timed('deploy (image build, push, kubectl apply -k deploy/ and deploy/agent, rolled out)', () => c.deploy());
    deployedImage = img;
    for (const line of log.split('\n').filter((l) => l.startsWith('cluster: '))) console.log(`      ${line}`);
  },

  async afterAll(this: Context): Promise<void> {
    this.timeout(120_000);
    const c = current;
    current = undefined;
    if (!c) return;
    if (process.env.KEEP_CLUSTER === '1') {
      console.log(`    [cluster] kept running in ${c.dir} (KUBECONFIG=${c.kubeconfig}); stop it with e2e/cluster/down.sh ${c.dir} --purge`);
      return;
    }
    await timed('teardown', () => c.stop(true));
  },
};
