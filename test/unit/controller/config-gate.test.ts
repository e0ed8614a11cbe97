import { expect } from 'chai';
import { decideConfig, type GateInput, MAX_HOLD_FACTOR } from '../../../src/controller/config-gate.js';
import { configHash, type DeliveryStatus, short } from '../../../src/controller/nodepool-delivery.js';
import type { KubeObject } from '../../../src/model/source.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(T0 + ms);
const iso = (ms: number): string =>
  at(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');

function nodePool(annotations: Record<string, string> = {}, upgradeType = 'Replace'): KubeObject {
  return {
    apiVersion: 'hypershift.openshift.io/v1beta1',
    kind: 'NodePool',
    metadata: { name: 'workers', namespace: 'clusters', annotations },
    spec: { clusterName: 'demo', replicas: 3, management: { upgradeType }, config: [{ name: 'workers-image-mirrors' }] },
  };
}

const OLD = '{"old": true}\n';
const NEW = '{"new": true}\n';
const NEWER = '{"newer": true}\n';

function input(over: Partial<GateInput> = {}): GateInput {
  return {
    np: nodePool(),
    where: 'clusters/workers-image-mirrors',
    desired: NEW,
    storedConfigHash: configHash(OLD),
    referenced: true,
    previous: { configHash: configHash(OLD) },
    options: { settleMs: 5_000, approval: false },
    now: at(0),
    ...over,
  };
}

describe('decideConfig: when a change of a NodePool output`s config key is published', () => {
  it('publishes at once what rolls nothing: no output yet, the key unchanged, the output not listed in spec.config', () => {
    const rows: Array<[string, Partial<GateInput>]> = [
      ['nothing stored yet', { storedConfigHash: undefined }],
      ['the key is unchanged', { desired: OLD }],
      ['spec.config does not list the output', { referenced: false }],
    ];
    for (const [why, over] of rows) {
      const d = decideConfig(input(over));
      expect(d, why).to.deep.include({ publish: 'desired', rolls: false, events: [] });
    }
  });

  it('holds a change for the settle window, says what it will do, and publishes it once the window is over', () => {
    const first = decideConfig(input());
    expect(first.publish).to.equal('stored');
    if (first.publish !== 'stored') return;
    expect(first.pending).to.deep.equal({ pendingConfigHash: configHash(NEW), pendingSince: iso(0), publishAfter: iso(5_000) });
    expect(first.dueInMs).to.equal(5_000);
    expect(first.events.map((e) => [e.type, e.reason])).to.deep.equal([['Normal', 'ConfigChangePending']]);
    expect(first.events[0]?.message).to.equal(
      `the config key of ConfigMap clusters/workers-image-mirrors changes (sha256 ${short(configHash(OLD))} -> ${short(configHash(NEW))}); ` +
        'publishing it rolls the 3 nodes of NodePool clusters/workers (upgradeType Replace: new machines replace the old ones); ' +
        'publishing in 5 s unless inputs change again',
    );
    const previous: DeliveryStatus = { configHash: configHash(OLD), ...first.pending };
    // A resync inside the window: still held, same due time, no second event.
    const again = decideConfig(input({ previous, now: at(2_000) }));
    expect(again).to.deep.include({ publish: 'stored', dueInMs: 3_000, events: [] });
    const due = decideConfig(input({ previous, now: at(5_000) }));
    expect(due.publish).to.equal('desired');
    expect(due.events.map((e) => e.reason)).to.deep.equal(['ConfigPublished']);
    expect(due.events[0]?.message).to.contain('HyperShift rolls the 3 nodes of NodePool clusters/workers (upgradeType Replace');
  });

  it('a burst: each further change restarts the window, one event for the burst, capped at MAX_HOLD_FACTOR windows', () => {
    let previous: DeliveryStatus = { configHash: configHash(OLD) };
    const events: string[] = [];
    // A change every 4 s, each a different key: the window keeps moving, until the cap.
    let t = 0;
    let last = decideConfig(input({ previous, now: at(t) }));
    for (let i = 1; last.publish === 'stored'; i++) {
      events.push(...last.events.map((e) => e.reason));
      previous = { configHash: configHash(OLD), ...last.pending };
      t += 4_000;
      last = decideConfig(input({ previous, desired: `{"n": ${i}}\n`, now: at(t) }));
    }
    expect(events).to.deep.equal(['ConfigChangePending']);
    expect(last.publish).to.equal('desired');
    expect(t).to.equal(MAX_HOLD_FACTOR * 5_000 + 2_000);
  });

  it('settle 0 publishes at once, and still records that it rolls the nodes', () => {
    const d = decideConfig(input({ options: { settleMs: 0, approval: false } }));
    expect(d).to.deep.include({ publish: 'desired', rolls: true });
    expect(d.events.map((e) => e.reason)).to.deep.equal(['ConfigPublished']);
  });

  it('approval (flag or annotation): held until imagemirror.io/approve-config names the pending change, however long', () => {
    for (const [why, over] of [
      ['the flag', { options: { settleMs: 5_000, approval: true } }],
      ['the annotation', { np: nodePool({ 'imagemirror.io/config-approval': 'required' }, 'InPlace') }],
    ] as Array<[string, Partial<GateInput>]>) {
      const held = decideConfig(input(over));
      expect(held.publish, why).to.equal('stored');
      if (held.publish !== 'stored') continue;
      expect(held.pending, why).to.deep.equal({ pendingConfigHash: configHash(NEW), pendingSince: iso(0), approvalRequired: true });
      expect(held.dueInMs, why).to.equal(undefined);
      expect(held.events[0]?.message, why).to.contain(
        `held until approved: kubectl -n clusters annotate nodepool workers imagemirror.io/approve-config=${short(configHash(NEW))} --overwrite`,
      );
      const previous = { configHash: configHash(OLD), ...held.pending };
      expect(decideConfig(input({ ...over, previous, now: at(3_600_000) })).publish, `${why}: an hour later`).to.equal('stored');
      const np = (over.np ?? nodePool()) as KubeObject;
      const approve = (value: string): KubeObject => ({
        ...np,
        metadata: { ...np.metadata, annotations: { ...np.metadata.annotations, 'imagemirror.io/approve-config': value } },
      });
      // Approving another change (an older one) does not publish this one.
      expect(decideConfig(input({ ...over, previous, np: approve(short(configHash(NEWER))) })).publish, why).to.equal('stored');
      const approved = decideConfig(input({ ...over, previous, np: approve(short(configHash(NEW))) }));
      expect(approved, why).to.deep.include({ publish: 'desired', rolls: true });
      // A new change while one waits: a new approval is needed, and a new event says so.
      const changed = decideConfig(input({ ...over, previous, desired: NEWER }));
      expect(
        changed.events.map((e) => e.reason),
        why,
      ).to.deep.equal(['ConfigChangePending']);
    }
  });
});
