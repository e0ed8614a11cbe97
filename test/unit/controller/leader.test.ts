import { expect } from 'chai';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient } from '../../../src/controller/leader.js';
import { silentLogger } from '../../../src/controller/log.js';

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

// Lease durations are whole seconds on the wire, so 1 s is the shortest lease.
const fast = { leaseDurationMs: 1000, renewPeriodMs: 100, renewDeadlineMs: 500, retryPeriodMs: 40 };

function candidate(store: LeaseStore, identity: string, log: string[], isDown?: () => boolean): LeaderElector {
  return new LeaderElector({
    namespace: 'ns',
    name: 'lease',
    identity,
    ...fast,
    client: store.client(isDown),
    logger: silentLogger(),
    onStartedLeading: () => log.push(`${identity} start`),
    onStoppedLeading: () => log.push(`${identity} stop`),
  });
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('LeaderElector', () => {
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    electors.length = 0;
  });

  it('creates the Lease, leads and keeps renewing it', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(store, 'a', log);
    electors.push(a);
    a.start();
    await until(() => a.isLeader());
    const firstRenew = String(store.lease?.spec?.renewTime);
    await until(() => store.writes >= 3);
    expect(store.holder()).to.equal('a');
    expect(String(store.lease?.spec?.renewTime)).to.not.equal(firstRenew);
    expect(store.lease?.spec?.leaseDurationSeconds).to.equal(1);
    expect(store.lease?.spec?.leaseTransitions).to.equal(0);
    expect(log).to.deep.equal(['a start']);
  });

  it('lets exactly one of two racing candidates lead', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(store, 'a', log);
    const b = candidate(store, 'b', log);
    electors.push(a, b);
    a.start();
    b.start();
    await until(() => a.isLeader() || b.isLeader());
    await new Promise((r) => setTimeout(r, 200));
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).to.have.length(1);
    expect(log).to.have.length(1);
  });

  it('a follower takes over a dead leader after the lease expires, and never overlaps it', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    let aDown = false;
    const a = candidate(store, 'a', log, () => aDown);
    const b = candidate(store, 'b', log);
    electors.push(a, b);
    a.start();
    await until(() => a.isLeader());
    b.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(b.isLeader()).to.equal(false);
    const killedAt = Date.now();
    aDown = true;
    await until(() => b.isLeader());
    const took = Date.now() - killedAt;
    // Not before the lease could have expired, not much later than lease + 2 retries.
    expect(took).to.be.at.least(fast.leaseDurationMs - fast.renewPeriodMs);
    expect(took).to.be.below(fast.leaseDurationMs + 2 * fast.retryPeriodMs + 150);
    // The cut-off leader stepped down (renew deadline) before the follower started.
    expect(log).to.deep.equal(['a start', 'a stop', 'b start']);
    expect(store.lease?.spec?.leaseTransitions).to.equal(1);
  });

  it('hands the Lease over on stop, so the follower does not wait for expiry', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(store, 'a', log);
    const b = candidate(store, 'b', log);
    electors.push(b);
    a.start();
    await until(() => a.isLeader());
    b.start();
    await new Promise((r) => setTimeout(r, 120));
    const stoppedAt = Date.now();
    await a.stop();
    expect(store.holder()).to.equal('');
    await until(() => b.isLeader());
    expect(Date.now() - stoppedAt).to.be.below(fast.leaseDurationMs / 2);
    expect(log).to.deep.equal(['a start', 'a stop', 'b start']);
  });

  it('steps down when another holder has taken the Lease', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const a = candidate(store, 'a', log);
    electors.push(a);
    a.start();
    await until(() => a.isLeader());
    // Someone overwrites the record (e.g. a forced takeover by hand).
    const lease = store.lease as V1Lease;
    await store.client().replace('ns', 'lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    await until(() => !a.isLeader());
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
    const a = new LeaderElector({
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      ...fast,
      client: hangable,
      logger: silentLogger(),
      onStartedLeading: () => log.push('a start'),
      onStoppedLeading: () => log.push('a stop'),
    });
    electors.push(a);
    a.start();
    await until(() => a.isLeader());
    const writes = store.writes;
    await until(() => store.writes > writes); // a renewal has landed: the deadline counts from here
    const renewedAt = Date.now();
    hanging = true;
    await until(() => !a.isLeader());
    const elapsed = Date.now() - renewedAt;
    expect(elapsed).to.be.at.most(fast.renewDeadlineMs + 250);
    expect(log).to.deep.equal(['a start', 'a stop']);
  });
});
