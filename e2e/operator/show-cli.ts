// Prints what the operator rendered, for scripts/run.sh (there is no kubectl):
//
//   node dist/e2e/operator/show-cli.js [--kubeconfig FILE] [--namespace NS] [--timeout SECONDS]
//
// Waits until every target (each NodePool, or the cluster target in NS when
// no NodePool exists) has a RenderedMirrorConfig and the statuses stopped
// changing, then prints per target its conditions, outputs, warnings and
// registries.conf, and the Accepted/Applied conditions of our objects.
// Secret contents are never printed, only their keys. Exit status 1 when the
// statuses did not settle in time.
import { parseArgs } from 'node:util';
import { connect, errorMessage, type Kube } from '../lib/kube.js';
import { condition, GROUP, readConfigMap, readRmc, readSecret, VERSION, type Condition, type RmcStatus } from './lib.js';

interface Target {
  namespace: string;
  name: string;
}

interface Listed {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: RmcStatus & { conditions?: Condition[] };
}

async function targets(k: Kube, operatorNamespace: string): Promise<Target[]> {
  try {
    const list = (await k.custom.listCustomObjectForAllNamespaces({ group: 'hypershift.openshift.io', version: 'v1beta1', plural: 'nodepools' })) as {
      items: Listed[];
    };
    if (list.items.length > 0) return list.items.map((np) => ({ namespace: np.metadata.namespace ?? '', name: np.metadata.name })).sort(byName);
  } catch {
    // HyperShift's CRDs are not served: the cluster target.
  }
  return [{ namespace: operatorNamespace, name: 'cluster' }];
}

function byName(a: Target, b: Target): number {
  return `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1;
}

/** resourceVersions of every target's status, or undefined while one is missing or has no conditions. */
async function snapshot(k: Kube, list: readonly Target[]): Promise<string | undefined> {
  const versions: string[] = [];
  for (const t of list) {
    const rmc = await readRmc(k, t.namespace, t.name);
    if (!rmc?.status?.conditions?.length) return undefined;
    versions.push(rmc.metadata.resourceVersion ?? '');
  }
  return versions.join(',');
}

async function waitSettled(k: Kube, operatorNamespace: string, timeoutMs: number): Promise<Target[]> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  let stableSince = 0;
  for (;;) {
    const list = await targets(k, operatorNamespace);
    const snap = await snapshot(k, list).catch(() => undefined);
    if (snap !== undefined && snap === last) {
      if (Date.now() - stableSince >= 1500) return list;
    } else {
      last = snap;
      stableSince = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`targets did not settle within ${timeoutMs / 1000}s: ${list.map((t) => `${t.namespace}/${t.name}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function line(c: Condition | undefined): string {
  return c ? `${c.type}=${c.status} (${c.reason}): ${c.message}` : '(not set)';
}

async function showTarget(k: Kube, t: Target): Promise<void> {
  const rmc = await readRmc(k, t.namespace, t.name);
  const s = rmc?.status;
  console.log(`\n== ${t.name === 'cluster' ? 'cluster target' : `NodePool ${t.namespace}/${t.name}`}`);
  console.log(`   ${line(condition(s, 'Ready'))}`);
  console.log(`   ${line(condition(s, 'Degraded'))}`);
  // NodePool targets: whether the output reaches the nodes, and inputs of which only one is used.
  for (const type of ['Delivered', 'AmbiguousInputs']) {
    const c = condition(s, type);
    if (c && !(type === 'AmbiguousInputs' && c.status === 'False')) console.log(`   ${line(c)}`);
  }
  if (!s?.outputs) return;
  console.log(
    `   content hash ${s.contentHash}; ${s.sources} registry entries; contributors: ${(s.contributors ?? []).map((c) => `${c.kind} ${c.namespace ? `${c.namespace}/` : ''}${c.name}`).join(', ')}`,
  );
  for (const w of s.warnings ?? []) console.log(`   warning ${w.code} (${w.source})`);
  const cm = await readConfigMap(k, t.namespace, s.outputs.configMap);
  console.log(
    `   ConfigMap ${t.namespace}/${s.outputs.configMap} keys: ${Object.keys(cm?.data ?? {})
      .sort()
      .join(', ')}`,
  );
  if (s.outputs.secret) {
    const secret = await readSecret(k, t.namespace, s.outputs.secret);
    console.log(
      `   Secret ${t.namespace}/${s.outputs.secret} keys (contents not shown): ${Object.keys(secret?.data ?? {})
        .sort()
        .join(', ')}`,
    );
  }
  const conf = cm?.data?.['registries.conf'];
  if (conf) console.log(`   --- registries.conf\n${conf.replace(/^/gm, '   | ')}`);
}

async function showObjects(k: Kube): Promise<void> {
  console.log('\n== imagemirror.io objects');
  for (const plural of ['imagedigestmirrorsets', 'imagetagmirrorsets', 'registryaccesses']) {
    const list = (await k.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: Listed[] };
    for (const o of list.items) {
      console.log(`   ${plural} ${o.metadata.name}: ${line(condition(o.status, 'Accepted'))}; ${line(condition(o.status, 'Applied'))}`);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { kubeconfig: { type: 'string' }, namespace: { type: 'string', default: 'image-mirror-system' }, timeout: { type: 'string', default: '60' } },
  });
  const k = connect(values.kubeconfig);
  const settled = await waitSettled(k, values.namespace ?? 'image-mirror-system', Number(values.timeout) * 1000);
  for (const t of settled) await showTarget(k, t);
  await showObjects(k);
}

main().catch((err: unknown) => {
  process.stderr.write(`show: ${err instanceof Error ? err.message : errorMessage(err)}\n`);
  process.exitCode = 1;
});
