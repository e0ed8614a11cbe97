import { expect } from 'chai';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient } from '../../../src/controller/leader.js';
import { silentLogger } from '../../../src/controller/log.js';
import { FakeTime } from '../lib/fake-time.js';

function conflict(): Error & { code: number } {
  return Object.assign(new Error('conflict'), { code: 409 });
}

/** An in-memory Lease store with the API server's optimistic concurrency on resourceVersion. */
class LeaseStore {
  lease: V1Lease | undefined;
  rv = 0;
  writes = 0;

  client(isDown: () => boolean = () => false): LeaseClient {
    const guard = (): void => {
      if (isDown()) throw Object.assign(new Error('connection refused'), { code: 0 });
    };
    return {
      get: async () => {
        guard();
        return this.lease ? structuredClone(this.lease) : undefined;
      },
      create: async (_ns, lease) => {
        guard();
        if (this.lease) throw conflict();
        return this.store(lease);
      },
      replace: async (_ns, _name, lease) => {
        guard();
        if (!this.lease || lease.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw conflict();
        return this.store(lease);
      },
    };
  }

  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }

  private store(lease: V1Lease): V1Lease {
    this.writes++;
    // Serialised like the API server does: times become strings.
    this.lease = JSON.parse(JSON.stringify({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } }));
    return structuredClone(this.lease as V1Lease);
  }
}

// Lease durations are whole seconds on the wire, so 1 s is the shortest lease. Time is injected:
// every test runs on a hand-driven clock (no real waiting, no flakes under load).
const fast = { leaseDurationMs: 1000, renewPeriodMs: 100, renewDeadlineMs: 500, retryPeriodMs: 40 };

function candidate(time: FakeTime, store: LeaseStore, identity: string, log: string[], client?: LeaseClient): LeaderElector {
  return new LeaderElector({
    namespace: 'ns',
    name: 'lease',
    identity,
    ...fast,
    client: client ?? store.client(),
    logger: silentLogger(),
    onStartedLeading: () => log.push(`${identity} start`),
    onStoppedLeading: () => log.push(`${identity} stop`),
    now: time.now,
    timers: time,
  });
}

/** Advances the clock in 1 ms steps until `cond` holds; returns the time it took. */
async function advanceUntil(time: FakeTime, cond: () => boolean, limitMs = 10_000): Promise<number> {
  const start = time.now();
  while (!cond()) {
    if (time.now() - start > limitMs) throw new Error(`condition not reached within ${limitMs} ms of fake time`);
    await time.advance(1);
  }
  return time.now() - start;
}

describe('LeaderElector (injected time)', () => {
  let time: FakeTime;
  const electors: LeaderElector[] = [];
  beforeEach(() => {
    time = new FakeTime(Date.parse('2030-01-01T00:00:00Z'));
  });
  afterEach(async () => {
    const stopping = Promise.all(electors.map((e) => e.stop()));
    await time.advance(fast.renewDeadlineMs);
    await stopping;
    electors.length = 0;
  });

  it('creates the Lease, leads and keeps renewing it', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(time, store, 'a', log);
    electors.push(a);
    a.start();
    await advanceUntil(time, () => a.isLeader());
    const firstRenew = String(store.lease?.spec?.renewTime);
    await time.advance(2 * fast.renewPeriodMs);
    expect(store.writes).to.equal(3);
    expect(store.holder()).to.equal('a');
    expect(String(store.lease?.spec?.renewTime)).to.not.equal(firstRenew);
    expect(store.lease?.spec?.leaseDurationSeconds).to.equal(1);
    expect(store.lease?.spec?.leaseTransitions).to.equal(0);
    expect(log).to.deep.equal(['a start']);
  });

  it('lets exactly one of two racing candidates lead', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(time, store, 'a', log);
    const b = candidate(time, store, 'b', log);
    electors.push(a, b);
    a.start();
    b.start();
    await advanceUntil(time, () => a.isLeader() || b.isLeader());
    await time.advance(5 * fast.leaseDurationMs);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).to.have.length(1);
    expect(log).to.have.length(1);
  });

  it('a follower takes over a dead leader after the lease expires, and never overlaps it', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    let aDown = false;
    const a = candidate(
      time,
      store,
      'a',
      log,
      store.client(() => aDown),
    );
    const b = candidate(time, store, 'b', log);
    electors.push(a, b);
    a.start();
    await advanceUntil(time, () => a.isLeader());
    b.start();
    await time.advance(100);
    expect(b.isLeader()).to.equal(false);
    aDown = true;
    const took = await advanceUntil(time, () => b.isLeader());
    // Not before the lease could have expired, not later than lease + 2 retries.
    expect(took).to.be.at.least(fast.leaseDurationMs - fast.renewPeriodMs);
    expect(took).to.be.at.most(fast.leaseDurationMs + 2 * fast.retryPeriodMs);
    // The cut-off leader stepped down (renew deadline) before the follower started.
    expect(log).to.deep.equal(['a start', 'a stop', 'b start']);
    expect(store.lease?.spec?.leaseTransitions).to.equal(1);
  });

  it('hands the Lease over on stop, so the follower does not wait for expiry', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(time, store, 'a', log);
    const b = candidate(time, store, 'b', log);
    electors.push(b);
    a.start();
    await advanceUntil(time, () => a.isLeader());
    b.start();
    await time.advance(120);
    const stopping = a.stop();
    await time.advance(0);
    await stopping;
    expect(store.holder()).to.equal('');
    const took = await advanceUntil(time, () => b.isLeader());
    expect(took).to.be.at.most(fast.retryPeriodMs + 1);
    expect(log).to.deep.equal(['a start', 'a stop', 'b start']);
  });

  it('steps down when another holder has taken the Lease', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(time, store, 'a', log);
    electors.push(a);
    a.start();
    await advanceUntil(time, () => a.isLeader());
    // Someone overwrites the record (e.g. a forced takeover by hand).
    const lease = store.lease as V1Lease;
    await store.client().replace('ns', 'lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    const took = await advanceUntil(time, () => !a.isLeader());
    expect(took).to.be.at.most(fast.renewPeriodMs);
    expect(log).to.deep.equal(['a start', 'a stop']);
  });

  it('steps down by its renew deadline when API requests hang instead of failing', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    let hanging = false;
    const client = store.client();
    const hangable: LeaseClient = {
      get: (ns, name) => (hanging ? new Promise(() => {}) : client.get(ns, name)),
      create: (ns, lease) => (hanging ? new Promise(() => {}) : client.create(ns, lease)),
      replace: (ns, name, lease) => (hanging ? new Promise(() => {}) : client.replace(ns, name, lease)),
    };
    const a = candidate(time, store, 'a', log, hangable);
    electors.push(a);
    a.start();
    await advanceUntil(time, () => a.isLeader());
    const writes = store.writes;
    await advanceUntil(time, () => store.writes > writes); // a renewal has landed: the deadline counts from here
    hanging = true;
    const took = await advanceUntil(time, () => !a.isLeader());
    expect(took).to.be.at.most(fast.renewDeadlineMs);
    expect(took).to.be.at.least(fast.renewDeadlineMs - fast.renewPeriodMs);
    expect(log).to.deep.equal(['a start', 'a stop']);
  });
});
