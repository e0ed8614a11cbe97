import { expect } from 'chai';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import {
  backoffDelay,
  Informer,
  LIST_PAGE_SIZE,
  pagedList,
  RetryGroup,
  retryAfterMs,
  retryDelay,
  type ListFn,
  type ListPage,
  type WatchFn,
} from '../../../src/controller/informer.js';
import { FakeTime } from '../lib/fake-time.js';
import { silentLogger } from '../../../src/controller/log.js';

type Phase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR' | 'BOOKMARK';

interface WatchCall {
  query: Record<string, string | number | boolean | undefined>;
  emit: (phase: Phase, obj: object) => void;
  done: (err: unknown) => void;
  aborted: () => boolean;
}

/** A hand-driven API: a list result per call and a record of every watch. */
class FakeApi {
  lists = 0;
  listResults: Array<V1ConfigMap[] | Error> = [];
  rv = 1;
  watches: WatchCall[] = [];
  failWatch: unknown[] = [];

  list = async (): Promise<KubernetesListObject<V1ConfigMap>> => {
    this.lists++;
    const next = this.listResults.shift() ?? [];
    if (next instanceof Error) throw next;
    return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(this.rv++) }, items: next };
  };

  watch: WatchFn = async (_path, query, cb, done) => {
    const ctl = new AbortController();
    const failure = this.failWatch.shift();
    if (failure !== undefined) {
      done(failure);
      return ctl;
    }
    this.watches.push({
      query,
      emit: (phase, obj) => cb(phase, obj),
      done,
      aborted: () => ctl.signal.aborted,
    });
    return ctl;
  };

  /** The `i`th watch opened (0-based); fails the test when there is none. */
  opened(i: number): WatchCall {
    const w = this.watches[i];
    if (!w) throw new Error(`watch ${i} was not opened (${this.watches.length} were)`);
    return w;
  }
}

function cm(name: string, rv: string, data: Record<string, string> = {}): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, data };
}

function apiError(code: number): Error & { statusCode: number } {
  return Object.assign(new Error(`status ${code}`), { statusCode: code });
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function informer(api: FakeApi): Informer<V1ConfigMap> {
  return new Informer<V1ConfigMap>({
    name: 'test',
    path: '/api/v1/namespaces/ns/configmaps',
    list: api.list,
    watch: api.watch,
    labelSelector: '!imagemirror.io/output',
    backoff: { initialMs: 5, maxMs: 40, jitter: 0 },
    logger: silentLogger(),
  });
}

describe('Informer', () => {
  let inf: Informer<V1ConfigMap> | undefined;
  afterEach(async () => {
    await inf?.stop();
    inf = undefined;
  });

  it('is synced once the first list is in the cache, and passes the selectors to the watch', async () => {
    const api = new FakeApi();
    api.listResults.push([cm('a', '5')]);
    inf = informer(api);
    const added: string[] = [];
    inf.on('add', (o) => added.push(o.metadata?.name ?? ''));
    expect(inf.hasSynced()).to.equal(false);
    inf.start();
    expect(await inf.waitForSync(1000)).to.equal(true);
    expect(inf.get('a', 'ns')?.metadata?.resourceVersion).to.equal('5');
    expect(added).to.deep.equal(['a']);
    expect(api.opened(0).query).to.include({ resourceVersion: '1', labelSelector: '!imagemirror.io/output', allowWatchBookmarks: true });
  });

  it('applies watch events to the cache and fires callbacks', async () => {
    const api = new FakeApi();
    inf = informer(api);
    const events: string[] = [];
    inf.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    inf.on('update', (o) => events.push(`update ${o.metadata?.name}`));
    inf.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    inf.start();
    await inf.waitForSync(1000);
    const w = api.opened(0);
    w.emit('ADDED', cm('a', '2'));
    w.emit('MODIFIED', cm('a', '3', { k: 'v' }));
    w.emit('MODIFIED', cm('a', '3', { k: 'v' })); // same resourceVersion: no callback
    expect(inf.get('a', 'ns')?.data).to.deep.equal({ k: 'v' });
    w.emit('DELETED', cm('a', '4'));
    expect(inf.get('a', 'ns')).to.equal(undefined);
    expect(events).to.deep.equal(['add a', 'update a', 'delete a']);
  });

  it('restarts after a watch error from the last resourceVersion, with growing delays', async () => {
    const api = new FakeApi();
    inf = informer(api);
    inf.start();
    await inf.waitForSync(1000);
    api.opened(0).emit('ADDED', cm('a', '7'));
    // The API server goes away: the open watch fails, and so do the next two attempts.
    api.failWatch.push(apiError(500), apiError(500));
    const t0 = Date.now();
    api.opened(0).done(apiError(500));
    await until(() => api.watches.length === 2);
    // 5 + 10 + 20 ms of backoff before the third restart connects.
    expect(Date.now() - t0).to.be.at.least(30);
    expect(api.lists).to.equal(1);
    expect(api.opened(1).query.resourceVersion).to.equal('7');
    expect(inf.failureCount()).to.equal(0);
    expect(inf.get('a', 'ns')).to.not.equal(undefined);
  });

  it('keeps retrying a failing list and syncs when it succeeds', async () => {
    const api = new FakeApi();
    api.listResults.push(apiError(500), apiError(500), [cm('x', '1')]);
    inf = informer(api);
    inf.start();
    expect(await inf.waitForSync(1000)).to.equal(true);
    expect(api.lists).to.equal(3);
    expect(inf.list('ns').map((o) => o.metadata?.name)).to.deep.equal(['x']);
  });

  it('relists on 410 Gone and reports objects that vanished meanwhile as deleted', async () => {
    const api = new FakeApi();
    api.listResults.push([cm('a', '1'), cm('b', '1')], [cm('b', '9')]);
    inf = informer(api);
    const deleted: string[] = [];
    const updated: string[] = [];
    inf.on('delete', (o) => deleted.push(o.metadata?.name ?? ''));
    inf.on('update', (o) => updated.push(o.metadata?.name ?? ''));
    inf.start();
    await inf.waitForSync(1000);
    api.opened(0).done(apiError(410));
    await until(() => api.watches.length === 2);
    expect(api.lists).to.equal(2);
    expect(deleted).to.deep.equal(['a']);
    expect(updated).to.deep.equal(['b']);
  });

  it('relists after a 410 ERROR event inside the watch stream', async () => {
    const api = new FakeApi();
    api.listResults.push([cm('a', '1')], [cm('a', '1')]);
    inf = informer(api);
    inf.start();
    await inf.waitForSync(1000);
    api.opened(0).emit('ERROR', { code: 410, reason: 'Expired' });
    api.opened(0).done(null);
    await until(() => api.watches.length === 2);
    expect(api.lists).to.equal(2);
    expect(api.opened(1).query.resourceVersion).to.equal('2');
  });

  it('stop cancels a pending restart', async () => {
    const api = new FakeApi();
    inf = informer(api);
    inf.start();
    await inf.waitForSync(1000);
    api.opened(0).done(apiError(500));
    await inf.stop();
    await new Promise((r) => setTimeout(r, 30));
    expect(api.watches.length).to.equal(1);
  });

  it('waitForSync gives up after its timeout', async () => {
    const api = new FakeApi();
    api.listResults.push(apiError(500), apiError(500), apiError(500), apiError(500));
    inf = informer(api);
    inf.start();
    expect(await inf.waitForSync(20)).to.equal(false);
  });

  it('waitForSync untilRefused answers false at the first refused list, and the informer keeps retrying until it syncs', async () => {
    const api = new FakeApi();
    api.listResults.push(apiError(403), apiError(403), [cm('x', '1')]);
    inf = informer(api);
    const started = Date.now();
    const refused = inf.waitForSync(10_000, { untilRefused: true });
    const patient = inf.waitForSync(10_000);
    inf.start();
    expect(await refused).to.equal(false);
    expect(Date.now() - started).to.be.below(1000);
    expect(inf.lastError()).to.match(/^403: /);
    // Asked again while still refused: no wait at all.
    expect(await inf.waitForSync(10_000, { untilRefused: true })).to.equal(false);
    // A server error is not a refusal; the plain waiter sees the sync.
    expect(await patient).to.equal(true);
    expect(api.lists).to.equal(3);
    expect(await inf.waitForSync(10_000, { untilRefused: true })).to.equal(true);
  });

  it('waitForSync untilRefused still waits through server errors', async () => {
    const api = new FakeApi();
    api.listResults.push(apiError(500), apiError(503), [cm('x', '1')]);
    inf = informer(api);
    inf.start();
    expect(await inf.waitForSync(10_000, { untilRefused: true })).to.equal(true);
    expect(api.lists).to.equal(3);
  });

  it('settleWaiters answers a pending waitForSync at once (shutdown does not wait for the timeout)', async () => {
    const api = new FakeApi();
    api.listResults.push(apiError(403), apiError(403), apiError(403), apiError(403));
    inf = informer(api);
    inf.start();
    const started = Date.now();
    const waiting = inf.waitForSync(10_000);
    inf.settleWaiters();
    expect(await waiting).to.equal(false);
    expect(Date.now() - started).to.be.below(1000);
  });
});

describe('Informer watch requests', () => {
  it('asks for a server-side timeout and bookmarks, and aborts a watch that outlives the timeout', async () => {
    const api = new FakeApi();
    const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
    const inf = new Informer<V1ConfigMap>({
      name: 'test',
      path: '/api/v1/configmaps',
      list: api.list,
      watch: api.watch,
      logger: silentLogger(),
      watchTimeoutSeconds: () => 420,
      timers: {
        setTimeout: (fn, ms) => {
          const t = { fn, ms, cleared: false };
          timers.push(t);
          return t;
        },
        clearTimeout: (h) => ((h as { cleared: boolean }).cleared = true),
      },
    });
    inf.start();
    await inf.waitForSync(1000);
    expect(api.opened(0).query).to.include({ timeoutSeconds: 420, allowWatchBookmarks: true });
    await until(() => timers.some((t) => t.ms === 450_000));
    const guard = timers.find((t) => t.ms === 450_000);
    expect(guard, 'a guard at timeout + 30 s').to.not.equal(undefined);
    expect(api.opened(0).aborted()).to.equal(false);
    guard?.fn();
    expect(api.opened(0).aborted()).to.equal(true);
    await inf.stop();
  });

  it('drops the guard when the server ends the watch in time', async () => {
    const api = new FakeApi();
    const timers: Array<{ ms: number; cleared: boolean }> = [];
    const inf = new Informer<V1ConfigMap>({
      name: 'test',
      path: '/api/v1/configmaps',
      list: api.list,
      watch: api.watch,
      logger: silentLogger(),
      watchTimeoutSeconds: () => 300,
      timers: {
        setTimeout: (_fn, ms) => {
          const t = { ms, cleared: false };
          timers.push(t);
          return t;
        },
        clearTimeout: (h) => ((h as { cleared: boolean }).cleared = true),
      },
    });
    inf.start();
    await inf.waitForSync(1000);
    await until(() => timers.some((t) => t.ms === 330_000));
    api.opened(0).done(null);
    await until(() => api.watches.length === 2);
    expect(timers.filter((t) => t.ms === 330_000).map((t) => t.cleared)).to.deep.equal([true, false]);
    await inf.stop();
  });
});

describe('backoffDelay', () => {
  const b = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
  it('doubles per attempt and caps at max', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n, 0))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });
  it('shortens by up to the jitter fraction, so that delays at the cap still spread', () => {
    expect(backoffDelay(b, 1, 1)).to.equal(50);
    expect(backoffDelay(b, 4, 1)).to.equal(400);
    expect(backoffDelay(b, 40, 0.3)).to.equal(850);
    expect(backoffDelay(b, 40, 1)).to.equal(500);
  });
});

describe('retryDelay', () => {
  const b = { initialMs: 250, maxMs: 3000, jitter: 0 };
  it('a connection failure backs off over consecutive failures', () => {
    expect(retryDelay(b, { attempt: 10, throttled: 0, retryAfterMs: undefined }, 0)).to.equal(3000);
  });
  it('a 429/503 after an outage waits its Retry-After, not the backoff of the outage', () => {
    expect(retryDelay(b, { attempt: 11, throttled: 1, retryAfterMs: 1000 }, 0)).to.equal(1000);
    expect(retryDelay(b, { attempt: 11, throttled: 1, retryAfterMs: undefined }, 0)).to.equal(250);
    // Throttled again and again: its own backoff, never below Retry-After, Retry-After capped at 10 s.
    expect(retryDelay(b, { attempt: 16, throttled: 6, retryAfterMs: 1000 }, 0)).to.equal(3000);
    expect(retryDelay(b, { attempt: 2, throttled: 1, retryAfterMs: 60_000 }, 0)).to.equal(10_000);
  });
  it('reads Retry-After from the headers of an API error', () => {
    expect(retryAfterMs({ code: 429, headers: { 'retry-after': '1' } })).to.equal(1000);
    expect(retryAfterMs({ code: 429, headers: {} })).to.equal(undefined);
    expect(retryAfterMs(new Error('x'))).to.equal(undefined);
  });
});

describe('RetryGroup', () => {
  it('wakes every waiting member but the one that got through, spread wider the more there are', () => {
    const spreads = (n: number): number[] => {
      const g = new RetryGroup(500, () => 1, 2000);
      const got: number[] = [];
      const members = Array.from({ length: n }, () => ({}));
      for (const m of members) g.wait(m, (ms) => got.push(ms));
      g.reached(members[0]!);
      expect(g.size()).to.equal(0);
      return [got.length, Math.max(...got)];
    };
    expect(spreads(3)).to.deep.equal([2, 500]);
    expect(spreads(601)).to.deep.equal([600, 1200]);
    expect(spreads(5001)).to.deep.equal([5000, 2000]);
  });
});

describe('Informer restarts after an API server outage (fake time)', () => {
  /** `n` informers on one RetryGroup, their API down until `up()`; jitter off, spread 0 to 500 ms at random. */
  function fleet(n: number, random = 0.5): { time: FakeTime; apis: FakeApi[]; infs: Informer<V1ConfigMap>[]; group: RetryGroup } {
    const time = new FakeTime();
    const group = new RetryGroup(500, () => random);
    const apis = Array.from({ length: n }, () => new FakeApi());
    const infs = apis.map(
      (api, i) =>
        new Informer<V1ConfigMap>({
          name: `inf-${i}`,
          path: `/api/v1/namespaces/ns${i}/configmaps`,
          list: api.list,
          watch: api.watch,
          backoff: { initialMs: 250, maxMs: 3000, jitter: 0 },
          logger: silentLogger(),
          timers: time,
          now: time.now,
          random: () => 0,
          group,
          watchTimeoutSeconds: () => 3600,
        }),
    );
    return { time, apis, infs, group };
  }

  it('every informer is back within the cap of the server being ready, and a 429 then costs its Retry-After only', async () => {
    const { time, apis, infs } = fleet(3);
    for (const inf of infs) inf.start();
    await time.advance(0);
    expect(apis.map((a) => a.watches.length)).to.deep.equal([1, 1, 1]);
    // The API server goes away for 60 s: every retry fails (connection refused: no status code).
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    for (const api of apis) api.failWatch.push(...Array.from({ length: 100 }, () => refused));
    for (const api of apis) api.opened(0).done(refused);
    await time.advance(60_000);
    expect(infs.map((i) => i.failureCount() > 5)).to.deep.equal([true, true, true]);
    // Back, but the first answer of informer 0 is 429 (watch cache initialising), with Retry-After 1 s.
    for (const api of apis) api.failWatch = [];
    apis[0]!.failWatch.push(Object.assign(apiError(429), { headers: { 'retry-after': '1' } }));
    const ready = time.now();
    const back = (): number[] => apis.map((a) => a.watches.length);
    await time.advance(3000);
    // Within the cap (3 s) one got through; it woke the others, which came back within the spread.
    const after = back();
    expect(after.filter((n) => n === 2).length).to.be.at.least(1);
    await time.advance(1500);
    expect(back()).to.deep.equal([2, 2, 2]);
    expect(time.now() - ready).to.be.at.most(4500);
    for (const inf of infs) expect(inf.failureCount()).to.equal(0);
    for (const inf of infs) await inf.stop();
  });

  it('a reconnect wakes the others at once instead of at the end of their delays', async () => {
    const { time, apis, infs, group } = fleet(3, 0.2);
    for (const inf of infs) inf.start();
    await time.advance(0);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (const api of apis) api.failWatch.push(...Array.from({ length: 100 }, () => refused));
    // Informer 0 fails last, so it is the first to retry, 250 ms in; the others are at the 3 s cap.
    for (const api of apis.slice(1)) api.opened(0).done(refused);
    await time.advance(30_000);
    apis[0]!.opened(0).done(refused);
    expect(group.size()).to.equal(3);
    for (const api of apis) api.failWatch = [];
    await time.advance(250);
    expect(apis[0]!.watches.length).to.equal(2);
    // Woken: they retry 0.2 x 500 = 100 ms later, not up to 3 s later.
    await time.advance(100);
    expect(apis.map((a) => a.watches.length)).to.deep.equal([2, 2, 2]);
    expect(group.size()).to.equal(0);
    for (const inf of infs) await inf.stop();
  });

  it('a refused list (403) is not hurried by the others reconnecting', async () => {
    const { time, apis, infs, group } = fleet(2);
    apis[1]!.listResults.push(apiError(403));
    for (const inf of infs) inf.start();
    await time.advance(0);
    expect(infs[1]!.refused()).to.equal(true);
    expect(group.size()).to.equal(0);
    for (const inf of infs) await inf.stop();
  });
});

describe('pagedList', () => {
  const cm = (name: string, size: number): V1ConfigMap => ({ metadata: { name, namespace: 'ns' }, data: { k: 'x'.repeat(size) } });

  it('asks page after page with the continue token, transforming each page before asking for the next', async () => {
    const pages = [
      { items: [cm('a', 10), cm('b', 10)], next: 't1' },
      { items: [cm('c', 10), cm('d', 10)], next: 't2' },
      { items: [cm('e', 10)], next: undefined },
    ];
    const asked: Array<{ limit: number; continue?: string }> = [];
    const log: string[] = [];
    const list: ListFn<V1ConfigMap> = async (page) => {
      asked.push({ ...(page as ListPage) });
      const p = pages[asked.length - 1];
      if (!p) throw new Error('asked past the last page');
      log.push(`page ${asked.length}`);
      return { metadata: { resourceVersion: '42', ...(p.next ? { _continue: p.next, remainingItemCount: 3 } : {}) }, items: p.items };
    };
    const out = await pagedList(list, (o) => {
      log.push(`transform ${o.metadata?.name}`);
      return { metadata: o.metadata ?? {}, data: { size: String(o.data?.k?.length) } };
    });
    expect(asked).to.deep.equal([{ limit: LIST_PAGE_SIZE }, { limit: LIST_PAGE_SIZE, continue: 't1' }, { limit: LIST_PAGE_SIZE, continue: 't2' }]);
    // Each page is transformed (whole objects dropped) before the next is fetched.
    expect(log).to.deep.equal(['page 1', 'transform a', 'transform b', 'page 2', 'transform c', 'transform d', 'page 3', 'transform e']);
    expect(out.items.map((i) => i.metadata?.name)).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(out.items[0]?.data).to.deep.equal({ size: '10' });
    // The list's metadata: the snapshot's resourceVersion, no token.
    expect(out.metadata).to.deep.equal({ resourceVersion: '42' });
  });

  it('takes an answer without a continue token as the whole list (list functions that ignore the page)', async () => {
    let calls = 0;
    const out = await pagedList<V1ConfigMap>(async () => {
      calls++;
      return { metadata: { resourceVersion: '7' }, items: [cm('a', 1), cm('b', 1), cm('c', 1)] };
    });
    expect(calls).to.equal(1);
    expect(out.items).to.have.length(3);
  });

  it('fails the list when a page fails (an expired token: the informer lists again from the start)', async () => {
    let calls = 0;
    const list: ListFn<V1ConfigMap> = async () => {
      calls++;
      if (calls === 2) throw Object.assign(new Error('Gone'), { code: 410 });
      return { metadata: { resourceVersion: '1', _continue: 'next' }, items: [cm('a', 1)] };
    };
    let err: unknown;
    await pagedList(list).catch((e: unknown) => {
      err = e;
    });
    expect((err as { code?: number }).code).to.equal(410);
  });
});
