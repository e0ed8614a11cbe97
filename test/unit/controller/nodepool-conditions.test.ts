import { expect } from 'chai';
import type { Condition } from '../../../src/controller/conditions.js';
import { deliveredCondition, type DeliveryInput, nodePoolConditionEvents } from '../../../src/controller/nodepool-conditions.js';
import { configHash, deliveryFingerprint, recordPublished, storedConfigHash, withConfigHash } from '../../../src/controller/nodepool-delivery.js';
import { digested } from '../../../src/controller/outputs.js';
import type { KubeObject } from '../../../src/model/source.js';

const OUT = 'workers-image-mirrors';
const HASH = configHash('{}\n');
const CHANGED = '2030-01-01T00:00:10Z';

function nodePool(opts: { config?: Array<{ name: string }>; annotations?: Record<string, string>; conditions?: Array<Partial<Condition>> } = {}): KubeObject {
  const spec: Record<string, unknown> = { clusterName: 'demo', replicas: 2, management: { upgradeType: 'Replace' } };
  if (opts.config) spec.config = opts.config;
  const np: KubeObject = {
    apiVersion: 'hypershift.openshift.io/v1beta1',
    kind: 'NodePool',
    metadata: { name: 'workers', namespace: 'clusters', annotations: opts.annotations ?? {} },
    spec,
  };
  if (opts.conditions) np.status = { conditions: opts.conditions };
  return np;
}

const listed = [{ name: 'user-config' }, { name: OUT }];
const cond = (type: string, status: string, lastTransitionTime: string, reason = 'AsExpected', message = ''): Partial<Condition> => ({
  type,
  status: status as Condition['status'],
  reason,
  message,
  lastTransitionTime,
});

function input(np: KubeObject, over: Partial<DeliveryInput> = {}): DeliveryInput {
  return {
    np,
    outputName: OUT,
    outputExists: true,
    delivery: { configHash: HASH, configChangedTime: CHANGED },
    now: new Date('2030-01-01T00:00:12Z'),
    ...over,
  };
}

describe('Delivered: whether a NodePool target`s output reaches its nodes', () => {
  const table: Array<{ why: string; in: DeliveryInput; status: string; reason: string; message: RegExp }> = [
    {
      why: 'nothing published yet',
      in: input(nodePool({ config: listed }), { outputExists: false }),
      status: 'False',
      reason: 'NotPublished',
      message: /^nothing is published for NodePool clusters\/workers yet \(see Degraded\)/,
    },
    {
      why: 'not listed, no spec.config at all: the patch that creates the list, or the opt-in',
      in: input(nodePool()),
      status: 'False',
      reason: 'NotReferenced',
      message:
        /spec\.config does not list ConfigMap clusters\/workers-image-mirrors, so HyperShift does not install it on the nodes: run kubectl -n clusters patch nodepool workers --type=json -p '\[\{"op":"add","path":"\/spec\/config","value":\[\{"name":"workers-image-mirrors"\}\]\}\]'.*kubectl -n clusters annotate nodepool workers imagemirror\.io\/manage-config-ref=true$/,
    },
    {
      why: 'not listed among other entries: the patch that appends',
      in: input(nodePool({ config: [{ name: 'user-config' }] })),
      status: 'False',
      reason: 'NotReferenced',
      message: /-p '\[\{"op":"add","path":"\/spec\/config\/-","value":\{"name":"workers-image-mirrors"\}\}\]'/,
    },
    {
      why: 'not listed, spec.config full (HyperShift allows 10)',
      in: input(nodePool({ config: Array.from({ length: 10 }, (_, i) => ({ name: `c${i}` })), annotations: { 'imagemirror.io/manage-config-ref': 'true' } })),
      status: 'False',
      reason: 'NotReferenced',
      message: /spec\.config already lists 10 ConfigMaps, HyperShift's limit: remove one/,
    },
    {
      why: 'not listed yet, opted in: the operator adds it',
      in: input(nodePool({ annotations: { 'imagemirror.io/manage-config-ref': 'true' } })),
      status: 'False',
      reason: 'AddingReference',
      message: /the operator adds it/,
    },
    {
      why: 'a change held for the settle window',
      in: input(nodePool({ config: listed }), {
        delivery: {
          configHash: HASH,
          configChangedTime: CHANGED,
          pendingConfigHash: configHash('{"n":1}\n'),
          pendingSince: CHANGED,
          publishAfter: '2030-01-01T00:00:20Z',
        },
      }),
      status: 'False',
      reason: 'ChangePending',
      message:
        /is pending, publishing in 8 s; publishing it rolls the 2 nodes of NodePool clusters\/workers \(upgradeType Replace: new machines replace the old ones\); until then the nodes keep sha256 [0-9a-f]{12}$/,
    },
    {
      why: 'a change waiting for approval',
      in: input(nodePool({ config: listed }), {
        delivery: { configHash: HASH, pendingConfigHash: configHash('{"n":1}\n'), pendingSince: CHANGED, approvalRequired: true },
      }),
      status: 'False',
      reason: 'AwaitingApproval',
      message: new RegExp(
        `approve it: kubectl -n clusters annotate nodepool workers imagemirror\\.io/approve-config=${configHash('{"n":1}\n').slice(7, 19)} --overwrite$`,
      ),
    },
    {
      why: 'HyperShift refuses the config',
      in: input(nodePool({ config: listed, conditions: [cond('ValidMachineConfig', 'False', CHANGED, 'ValidationFailed', 'bad config')] })),
      status: 'False',
      reason: 'ConfigRejected',
      message: /reports ValidMachineConfig=False \(ValidationFailed\): bad config/,
    },
    {
      why: 'HyperShift rolls it out',
      in: input(
        nodePool({
          config: listed,
          conditions: [cond('UpdatingConfig', 'True', '2030-01-01T00:00:11Z', 'AsExpected', 'Updating config in progress. Target config: 1a2b')],
        }),
      ),
      status: 'False',
      reason: 'RollingOut',
      message: /HyperShift is rolling it out to the nodes \(UpdatingConfig=True since 2030-01-01T00:00:11Z: Updating config in progress/,
    },
    {
      why: 'HyperShift has not reacted since the key changed',
      in: input(nodePool({ config: listed, conditions: [cond('UpdatingConfig', 'False', '2030-01-01T00:00:00Z')] })),
      status: 'Unknown',
      reason: 'AwaitingHyperShift',
      message: /changed at 2030-01-01T00:00:10Z .*has not reported an update since \(UpdatingConfig=False since 2030-01-01T00:00:00Z\)/,
    },
    {
      why: 'HyperShift rolled it out after the key changed',
      in: input(
        nodePool({ config: listed, conditions: [cond('UpdatingConfig', 'False', '2030-01-01T00:05:00Z'), cond('ValidMachineConfig', 'True', CHANGED)] }),
      ),
      status: 'True',
      reason: 'PickedUp',
      message: /and HyperShift has rolled it out \(UpdatingConfig=False since 2030-01-01T00:05:00Z\)/,
    },
    {
      why: 'listed, and the NodePool status says nothing (no HyperShift, or an old one)',
      in: input(nodePool({ config: listed })),
      status: 'True',
      reason: 'Referenced',
      message: /reports no UpdatingConfig condition, so whether its nodes run it is not known$/,
    },
  ];
  for (const row of table) {
    it(row.why, () => {
      const c = deliveredCondition(row.in);
      expect(c).to.include({ type: 'Delivered', status: row.status, reason: row.reason });
      expect(c.message).to.match(row.message);
    });
  }

  it('Events: a Warning when it turns NotReferenced or ConfigRejected, Normal Delivered when it turns True, nothing while it stays', () => {
    const c = (status: string, reason: string): Condition => ({
      type: 'Delivered',
      status: status as Condition['status'],
      reason,
      message: reason,
      lastTransitionTime: CHANGED,
    });
    expect(nodePoolConditionEvents([], [c('False', 'NotReferenced')]).map((e) => `${e.type} ${e.reason}`)).to.deep.equal(['Warning NotReferenced']);
    expect(nodePoolConditionEvents([c('False', 'NotReferenced')], [c('False', 'NotReferenced')])).to.deep.equal([]);
    expect(nodePoolConditionEvents([c('False', 'NotReferenced')], [c('True', 'Referenced')]).map((e) => `${e.type} ${e.reason}`)).to.deep.equal([
      'Normal Delivered',
    ]);
    expect(nodePoolConditionEvents([c('True', 'Referenced')], [c('True', 'PickedUp')])).to.deep.equal([]);
    expect(nodePoolConditionEvents([c('True', 'PickedUp')], [c('False', 'ConfigRejected')]).map((e) => `${e.type} ${e.reason}`)).to.deep.equal([
      'Warning ConfigRejected',
    ]);
    expect(nodePoolConditionEvents([], [c('False', 'AddingReference')])).to.deep.equal([]);
    // Held changes and rollouts have Events of their own; the first pass says nothing.
    expect(nodePoolConditionEvents([c('False', 'ChangePending')], [c('True', 'Referenced')])).to.deep.equal([]);
    expect(nodePoolConditionEvents([], [c('True', 'Referenced')])).to.deep.equal([]);
  });

  it('the record of the published key: its hash, and when it last changed (kept while it stays the same)', () => {
    const np = nodePool({ config: listed });
    const first = recordPublished(undefined, '{}\n', np, new Date(CHANGED));
    expect(first).to.deep.equal({ configHash: HASH, configChangedTime: CHANGED, upgradeType: 'Replace' });
    expect(recordPublished(first, '{}\n', np, new Date('2030-01-02T00:00:00Z'))).to.deep.equal(first);
    expect(recordPublished(first, undefined, np, new Date('2030-01-02T00:00:00Z'))).to.deep.equal(first);
    expect(recordPublished(first, '{"x":1}\n', np, new Date('2030-01-02T00:00:00Z'))).to.include({ configChangedTime: '2030-01-02T00:00:00Z' });
  });

  it('the caches keep the hash of an output`s config key next to its digest, and nothing of its data', () => {
    const raw: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: OUT, namespace: 'clusters' },
      data: { config: '{}\n', 'files.json': '{}\n' },
    };
    const cached = withConfigHash(digested('ConfigMap', raw), raw);
    expect(cached).to.not.have.property('data');
    expect(storedConfigHash(cached)).to.equal(HASH);
    // Digested again (a relist of an object the cache transformed already): the hash stays.
    expect(storedConfigHash(withConfigHash(digested('ConfigMap', cached), cached))).to.equal(HASH);
    expect(
      storedConfigHash(withConfigHash(digested('ConfigMap', { ...raw, data: { 'files.json': '{}\n' } }), { ...raw, data: { 'files.json': '{}\n' } })),
    ).to.equal(undefined);
  });

  it('a NodePool event counts when our annotations or HyperShift`s config conditions change, not for other status', () => {
    const base = nodePool({ config: listed, conditions: [cond('UpdatingConfig', 'False', CHANGED)] });
    const fp = deliveryFingerprint(base);
    expect(deliveryFingerprint({ ...base, status: { conditions: [cond('UpdatingConfig', 'False', CHANGED), cond('Ready', 'True', CHANGED)] } })).to.equal(fp);
    expect(deliveryFingerprint({ ...base, status: { conditions: [cond('UpdatingConfig', 'True', CHANGED)] } })).to.not.equal(fp);
    for (const a of ['imagemirror.io/approve-config', 'imagemirror.io/config-approval', 'imagemirror.io/agent-files']) {
      expect(deliveryFingerprint({ ...base, metadata: { ...base.metadata, annotations: { [a]: 'x' } } }), a).to.not.equal(fp);
    }
  });
});
