// Proves the e2e loop against the real API server: a CRD is served, custom
// objects and ConfigMaps written through the client arrive through informers,
// and writes show up in the audit log.
import { makeInformer, type Informer, type KubernetesListObject, type KubernetesObject, type ObjectCache, type V1ConfigMap } from '@kubernetes/client-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { auditLog, kube, localControlPlane } from './hooks.js';
import { applyAll, deleteAndWait, deleteNamespace, type Kube, parseYaml, waitUntil } from './lib/kube.js';

const GROUP = 'smoke.imagemirror.io';
const VERSION = 'v1alpha1';
const PLURAL = 'widgets';

interface Widget extends KubernetesObject {
  spec: { size: number; color?: string; extra?: Record<string, unknown> };
}

// YAML, as the project's CRDs are: the x-kubernetes-* keys only survive when
// the apply path converts wire names to client-node model names.
const widgetCrdYaml = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${PLURAL}.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: {plural: ${PLURAL}, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: ${VERSION}
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string}
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
`;
const widgetCrd = parseYaml(widgetCrdYaml, 'smoke.test.ts')[0]!;

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** Records every object an informer reports for `verb`, newest last. */
function record<T extends KubernetesObject>(informer: Watched<T>, verb: 'add' | 'update' | 'delete'): T[] {
  const seen: T[] = [];
  informer.on(verb, (obj) => seen.push(obj));
  return seen;
}

describe('smoke: real API server round trip', function () {
  const ns = `smoke-${randomBytes(4).toString('hex')}`;
  let k: Kube;
  const informers: Watched<KubernetesObject>[] = [];

  before(async function () {
    k = kube();
    await k.core.createNamespace({ body: { metadata: { name: ns } } });
    const { failed } = await applyAll(k, [widgetCrd]);
    expect(failed).to.deep.equal([]);
  });

  after(async function () {
    await Promise.all(informers.map((i) => i.stop()));
    // Nothing garbage-collects here: remove what the tests created, CRD last.
    await deleteAndWait(k, { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name: 'w1', namespace: ns } });
    await deleteAndWait(k, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'smoke', namespace: ns } });
    await deleteAndWait(k, widgetCrd);
    await deleteNamespace(k, ns, { finalize: localControlPlane() !== undefined });
  });

  it('delivers created, updated and deleted objects through informers', async function () {
    const widgets = makeInformer<Widget>(
      k.kc,
      `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`,
      () => k.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL }) as Promise<KubernetesListObject<Widget>>,
    );
    const configMaps = makeInformer<V1ConfigMap>(k.kc, `/api/v1/namespaces/${ns}/configmaps`, () => k.core.listNamespacedConfigMap({ namespace: ns }));
    informers.push(widgets, configMaps);
    const widgetUpdates = record(widgets, 'update');
    const widgetDeletes = record(widgets, 'delete');
    const cmUpdates = record(configMaps, 'update');
    await widgets.start();
    await configMaps.start();

    await k.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 1, color: 'red', extra: { free: 'form' }, pruned: true },
      },
    });
    await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'smoke' }, data: { colour: 'red' } } });
    const added = await waitUntil('informer to add Widget w1', () => widgets.get('w1', ns));
    // Unknown fields are pruned except under x-kubernetes-preserve-unknown-fields.
    expect(added.spec).to.deep.equal({ size: 1, color: 'red', extra: { free: 'form' } });
    expect((await waitUntil('informer to add ConfigMap smoke', () => configMaps.get('smoke', ns))).data).to.deep.equal({ colour: 'red' });

    const current = (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'w1' })) as Widget;
    const replaced = (await k.custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'w1',
      body: { ...current, spec: { size: 3, color: 'blue' } },
    })) as Widget;
    const cm = await k.core.readNamespacedConfigMap({ name: 'smoke', namespace: ns });
    await k.core.replaceNamespacedConfigMap({ name: 'smoke', namespace: ns, body: { ...cm, data: { colour: 'blue' } } });

    const updated = await waitUntil('informer to report the Widget update', () => widgetUpdates.find((w) => w.spec.size === 3));
    expect(updated.metadata?.resourceVersion).to.equal(replaced.metadata?.resourceVersion);
    expect(updated.spec.color).to.equal('blue');
    await waitUntil('informer to report the ConfigMap update', () => cmUpdates.find((c) => c.data?.colour === 'blue'));
    expect(configMaps.get('smoke', ns)?.data).to.deep.equal({ colour: 'blue' });

    await k.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'w1' });
    await waitUntil('informer to report the Widget deletion', () => widgetDeletes.find((w) => w.metadata?.name === 'w1'));
    expect(widgets.get('w1', ns)).to.equal(undefined);
  });

  it('rejects an object that violates the CRD schema', async function () {
    const err = await k.custom
      .createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err, 'the API server accepted spec.size: 0').to.have.property('code', 422);
  });

  it('records ConfigMap writes in the audit log', async function () {
    const log = auditLog();
    if (!log) this.skip();
    const mark = await log.mark();
    const name = 'audited';
    await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: '1' } } });
    await k.core.patchNamespacedConfigMap({ name, namespace: ns, body: [{ op: 'replace', path: '/data/a', value: '2' }] });
    await k.core.deleteNamespacedConfigMap({ name, namespace: ns });
    // Reads are not audited: this one must not show up in the count below.
    await k.core.readNamespacedConfigMap({ name: 'smoke', namespace: ns });

    const events = (await log.events(mark)).filter((e) => e.objectRef?.namespace === ns && e.objectRef.name === name);
    expect(events.map((e) => e.verb)).to.deep.equal(['create', 'patch', 'delete']);
    expect(events.map((e) => e.user.username)).to.deep.equal(Array(3).fill('image-mirror-admin'));
    expect(await log.countWrites({ resource: 'configmaps', namespace: ns }, mark)).to.equal(3);
  });
});
