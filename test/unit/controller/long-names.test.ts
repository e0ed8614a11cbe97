// A NodePool whose name makes `<namespace>.<name>` no label value: the
// controller publishes under the short forms (contract.ts) and still finds
// the target of its outputs by their label, so an edit by hand is repaired
// and the outputs go with the NodePool. The same runs on the real API server
// in e2e/operator/limits.test.ts.
import { expect } from 'chai';
import { nodePoolOutputName, TARGET_LABEL, targetLabelValue } from '../../../src/contract.js';
import { Controller } from '../../../src/controller/controller.js';
import { silentLogger } from '../../../src/controller/log.js';
import { ControllerMetrics } from '../../../src/controller/metrics.js';
import type { KubeObject, Target } from '../../../src/model/source.js';
import { FakeCluster } from './fake-cluster.js';

const NS = 'clusters';
const POOL = `pool-${'x'.repeat(60)}`;
const T: Target = { kind: 'NodePool', namespace: NS, name: POOL };
const OUT = nodePoolOutputName(POOL);

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Controller: long NodePool names (in-memory API)', function () {
  this.timeout(10_000);
  let c: FakeCluster;
  let ctl: Controller;

  beforeEach(async () => {
    c = new FakeCluster();
    c.put({
      apiVersion: 'imagemirror.io/v1alpha1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'corp' },
      spec: { imageDigestMirrors: [{ source: 'docker.io', mirrors: ['mirror.example.net/hub'] }] },
    });
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'HostedCluster', metadata: { name: 'hc', namespace: NS }, spec: {} });
    c.put({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool', metadata: { name: POOL, namespace: NS }, spec: { clusterName: 'hc' } });
    ctl = new Controller(
      { operatorNamespace: 'ops', identity: 'test', concurrency: 2, resyncPeriodMs: 0, targets: 'nodepools' },
      { informerApi: c, writer: c, hypershiftServed: async () => true, logger: silentLogger(), metrics: new ControllerMetrics({ processMetrics: false }) },
    );
    await ctl.start();
  });

  afterEach(() => ctl.stop());

  it('labels the outputs with the short form, repairs a hand edit (found by that label) and removes them with the NodePool', async () => {
    const label = targetLabelValue(T);
    expect(label).to.not.equal(`${NS}.${POOL}`);
    const cm = await until('the output', () => c.find('ConfigMap', NS, OUT));
    expect(cm.metadata.labels?.[TARGET_LABEL]).to.equal(label);
    expect(c.find('RenderedMirrorConfig', NS, POOL)?.metadata.labels?.[TARGET_LABEL]).to.equal(label);
    await until('an idle controller', () => ctl.idle());

    // No resync runs (period 0): only the watch event of the edited output can bring the repair.
    c.put({ ...cm, data: { 'registries.conf': 'edited by hand\n' } } as KubeObject);
    await until('the repaired output', () => (c.find('ConfigMap', NS, OUT)?.data as Record<string, string> | undefined)?.['files.json']);

    c.remove('NodePool', NS, POOL);
    await until('its output and status gone', () => !c.find('ConfigMap', NS, OUT) && !c.find('RenderedMirrorConfig', NS, POOL));
  });
});
