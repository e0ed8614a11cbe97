import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import type { MergeInputs, MirrorEntry, MirrorModel, Pool, RegistryRule } from '../../../src/model/types.js';
import { access, digest, entry, inputs, orders, origin, scope, tag } from './build.js';

function ok(i: MergeInputs): MirrorModel {
  const r = merge(i);
  if (!r.ok) throw new Error(`merge failed: ${JSON.stringify(r.errors)}`);
  return r.value;
}

/** The rule for `source`, with only the fields a row cares about. */
function rule(m: MirrorModel, source: string): RegistryRule | undefined {
  return m.rules.find((r) => r.source === source);
}

const MIRRORS: Record<Pool, 'digestMirrors' | 'tagMirrors'> = { digest: 'digestMirrors', tag: 'tagMirrors' };
const OTHER: Record<Pool, Pool> = { digest: 'tag', tag: 'digest' };

describe('merge (SPEC §2)', () => {
  // Rows run once for IDMS shapes and once for ITMS shapes: the pool only
  // decides which mirror list of the rule is filled.
  const poolTable: Array<{
    why: string;
    entries: Array<[string, string[], ('NeverContactSource' | 'AllowContactingSource')?]>;
    want: Record<string, { mirrors: string[]; never?: boolean } | undefined>;
  }> = [
    { why: 'rule 1: an entry fills its pool only', entries: [['quay.io/a', ['m.io/a']]], want: { 'quay.io/a': { mirrors: ['m.io/a'] } } },
    { why: 'rule 2: an entry without mirrors is dropped', entries: [['quay.io/a', []]], want: { 'quay.io/a': undefined } },
    {
      why: 'rule 2: an entry that only lists its source is dropped',
      entries: [['quay.io/a', ['quay.io/a']]],
      want: { 'quay.io/a': undefined },
    },
    {
      why: 'rule 3: lists for one source merge in topological order',
      entries: [
        ['q.io/a', ['b.io/a', 'c.io/a']],
        ['q.io/a', ['a.io/a', 'b.io/a']],
      ],
      want: { 'q.io/a': { mirrors: ['a.io/a', 'b.io/a', 'c.io/a'] } },
    },
    {
      why: 'rule 3: a source listed mid-list stays a mirror',
      entries: [['q.io/a', ['m.io/a', 'q.io/a', 'n.io/a']]],
      want: { 'q.io/a': { mirrors: ['m.io/a', 'q.io/a', 'n.io/a'] } },
    },
    {
      why: 'rule 4: NeverContactSource on a kept entry blocks the source',
      entries: [
        ['q.io/a', ['m.io/a'], 'NeverContactSource'],
        ['q.io/a', ['n.io/a'], 'NeverContactSource'],
      ],
      want: { 'q.io/a': { mirrors: ['m.io/a', 'n.io/a'], never: true } },
    },
    {
      why: 'rule 4: NeverContactSource on a dropped entry blocks nothing (there is no rule)',
      entries: [['q.io/a', ['q.io/a'], 'NeverContactSource']],
      want: { 'q.io/a': undefined },
    },
    {
      why: 'rule 5: a nested source inherits from its enclosing source of the same pool',
      entries: [
        ['q.io', ['m.io/q']],
        ['q.io/ns/app', ['n.io/app']],
      ],
      want: { 'q.io': { mirrors: ['m.io/q'] }, 'q.io/ns/app': { mirrors: ['n.io/app'] } },
    },
    {
      why: 'rule 5: only whole path components nest (q.io/ns does not enclose q.io/nsx)',
      entries: [['q.io/ns', ['m.io/ns']]],
      want: { 'q.io/nsx': undefined },
    },
  ];
  for (const pool of ['digest', 'tag'] as const) {
    describe(`${pool} pool (${pool === 'digest' ? 'IDMS' : 'ITMS'} shape)`, () => {
      for (const row of poolTable) {
        it(row.why, () => {
          const entries = row.entries.map(([s, m, p], i) => entry(pool, s, m, { index: i, ...(p ? { policy: p } : {}) }));
          for (const order of orders(entries)) {
            const model = ok(inputs({ entries: order }));
            for (const [source, want] of Object.entries(row.want)) {
              const r = rule(model, source);
              if (!want) {
                expect(r, source).to.equal(undefined);
                continue;
              }
              expect(r?.[MIRRORS[pool]], source).to.deep.equal(want.mirrors);
              expect(r?.[MIRRORS[OTHER[pool]]], source).to.deep.equal([]);
              expect(r?.neverContactSource, source).to.equal(want.never ?? false);
            }
          }
        });
      }
    });
  }

  describe('rule 5: most specific source wins per pool', () => {
    const table: Array<{ why: string; entries: MirrorEntry[]; source: string; digest: string[]; tag: string[] }> = [
      {
        why: 'SPEC example: a specific IDMS does not hide a broader ITMS for tag pulls',
        entries: [digest('quay.io', ['d.io/q']), digest('quay.io/ns', ['d2.io/ns']), tag('quay.io', ['t.io/q'])],
        source: 'quay.io/ns',
        digest: ['d2.io/ns'],
        tag: ['t.io/q/ns'],
      },
      {
        why: 'and vice versa: a specific ITMS does not hide a broader IDMS for digest pulls',
        entries: [tag('quay.io/ns/app', ['t.io/app']), digest('quay.io', ['d.io/q'])],
        source: 'quay.io/ns/app',
        digest: ['d.io/q/ns/app'],
        tag: ['t.io/app'],
      },
      {
        why: 'the deepest enclosing source is used, with the rest of the path appended',
        entries: [digest('q.io', ['a.io']), digest('q.io/x', ['b.io/x']), tag('q.io/x/y/z', ['t.io/z'])],
        source: 'q.io/x/y/z',
        digest: ['b.io/x/y/z'],
        tag: ['t.io/z'],
      },
      {
        why: 'a wildcard encloses subdomains; its mirrors take the path after the host',
        entries: [digest('*.example.com', ['m.io/cache']), tag('a.example.com/ns', ['t.io/ns'])],
        source: 'a.example.com/ns',
        digest: ['m.io/cache/ns'],
        tag: ['t.io/ns'],
      },
      {
        why: 'an exact host is more specific than any wildcard',
        entries: [digest('*.b.example.com', ['w.io']), digest('a.b.example.com', ['e.io']), tag('a.b.example.com/x', ['t.io/x'])],
        source: 'a.b.example.com/x',
        digest: ['e.io/x'],
        tag: ['t.io/x'],
      },
      {
        why: 'a longer wildcard is more specific than a shorter one',
        entries: [digest('*.com', ['w1.io']), digest('*.example.com', ['w2.io']), tag('a.example.com', ['t.io'])],
        source: 'a.example.com',
        digest: ['w2.io'],
        tag: ['t.io'],
      },
      {
        why: 'a wildcard encloses a narrower wildcard, with nothing appended',
        entries: [digest('*.com', ['w1.io']), tag('*.example.com', ['t.io'])],
        source: '*.example.com',
        digest: ['w1.io'],
        tag: ['t.io'],
      },
      {
        why: 'a wildcard does not enclose its own domain',
        entries: [digest('*.example.com', ['w.io']), tag('example.com/x', ['t.io/x'])],
        source: 'example.com/x',
        digest: [],
        tag: ['t.io/x'],
      },
      {
        why: 'a port makes a different registry: quay.io does not enclose quay.io:5000',
        entries: [digest('quay.io', ['d.io']), tag('quay.io:5000/x', ['t.io/x'])],
        source: 'quay.io:5000/x',
        digest: [],
        tag: ['t.io/x'],
      },
      {
        why: 'a wildcard encloses a subdomain with a port',
        entries: [digest('*.example.com', ['w.io']), tag('a.example.com:5000/x', ['t.io/x'])],
        source: 'a.example.com:5000/x',
        digest: ['w.io/x'],
        tag: ['t.io/x'],
      },
    ];
    for (const row of table) {
      it(row.why, () => {
        for (const order of orders(row.entries)) {
          const r = rule(ok(inputs({ entries: order })), row.source);
          expect(r?.digestMirrors).to.deep.equal(row.digest);
          expect(r?.tagMirrors).to.deep.equal(row.tag);
        }
      });
    }

    it('a rule is never-contact when the source it inherits from in either pool is', () => {
      const m = ok(inputs({ entries: [digest('q.io', ['d.io/q'], { policy: 'NeverContactSource' }), tag('q.io/ns', ['t.io/ns'])] }));
      expect(rule(m, 'q.io')?.neverContactSource).to.equal(true);
      expect(rule(m, 'q.io/ns')?.neverContactSource).to.equal(true);
    });

    it('a NeverContactSource nested source does not block its parent', () => {
      const m = ok(inputs({ entries: [digest('q.io', ['d.io/q']), digest('q.io/ns', ['n.io/ns'], { policy: 'NeverContactSource' })] }));
      expect(rule(m, 'q.io')?.neverContactSource).to.equal(false);
      expect(rule(m, 'q.io/ns')?.neverContactSource).to.equal(true);
    });
  });

  describe('rule 6: scopes', () => {
    const base = [digest('quay.io', ['d.io/q']), digest('quay.io/ns', ['n.io/ns'], { policy: 'NeverContactSource' }), tag('quay.io', ['t.io/q'])];
    const table: Array<{ why: string; blocked?: string[]; insecure?: string[]; want: RegistryRule }> = [
      {
        why: 'a blocked scope under mirrored sources inherits the deepest source per pool, and its NeverContactSource',
        blocked: ['quay.io/ns/app'],
        want: {
          source: 'quay.io/ns/app',
          digestMirrors: ['n.io/ns/app'],
          tagMirrors: ['t.io/q/ns/app'],
          neverContactSource: true,
          blocked: true,
          insecure: false,
        },
      },
      {
        why: 'an insecure scope under a mirrored source inherits its mirrors',
        insecure: ['quay.io/other'],
        want: {
          source: 'quay.io/other',
          digestMirrors: ['d.io/q/other'],
          tagMirrors: ['t.io/q/other'],
          neverContactSource: false,
          blocked: false,
          insecure: true,
        },
      },
      {
        why: 'a scope outside every source is a rule without mirrors',
        blocked: ['evil.io'],
        want: { source: 'evil.io', digestMirrors: [], tagMirrors: [], neverContactSource: false, blocked: true, insecure: false },
      },
      {
        why: 'a scope equal to a source only sets flags on it',
        insecure: ['quay.io'],
        want: { source: 'quay.io', digestMirrors: ['d.io/q'], tagMirrors: ['t.io/q'], neverContactSource: false, blocked: false, insecure: true },
      },
      {
        why: 'a broader blocked scope marks nested sources blocked (otherwise the longer prefix would unblock them)',
        blocked: ['*.io'],
        want: {
          source: 'quay.io/ns',
          digestMirrors: ['n.io/ns'],
          tagMirrors: ['t.io/q/ns'],
          neverContactSource: true,
          blocked: true,
          insecure: false,
        },
      },
    ];
    for (const row of table) {
      it(row.why, () => {
        const blocked = (row.blocked ?? []).map((s) => scope(s));
        const insecure = (row.insecure ?? []).map((s) => scope(s));
        for (const order of orders(base)) {
          expect(rule(ok(inputs({ entries: order, blocked, insecure })), row.want.source)).to.deep.equal(row.want);
        }
      });
    }
  });

  describe('PolicyConflict', () => {
    it('rejects one source with different policies across IDMS and ITMS, naming both objects and fields', () => {
      const entries = [
        digest('quay.io/a', ['m.io/a'], { policy: 'NeverContactSource', name: 'idms-one', index: 2 }),
        tag('quay.io/a', ['t.io/a'], { name: 'itms-two', index: 0 }),
      ];
      for (const order of orders(entries)) {
        const r = merge(inputs({ entries: order }));
        expect(r.ok).to.equal(false);
        if (r.ok) return;
        expect(r.errors).to.have.length(1);
        const p = r.errors[0]!;
        expect(p.reason).to.equal('PolicyConflict');
        expect(p.origin?.name).to.equal('idms-one');
        expect(p.field).to.equal('spec.imageDigestMirrors[2].mirrorSourcePolicy');
        expect(p.message).to.include('ImageTagMirrorSet itms-two spec.imageTagMirrors[0]');
        expect(p.message).to.include('AllowContactingSource (unset)');
        expect(p.message).to.include('"quay.io/a"');
      }
    });

    it('is checked before entries are dropped: a mirror-less entry still conflicts', () => {
      const r = merge(inputs({ entries: [digest('q.io/a', ['m.io/a']), digest('q.io/a', [], { policy: 'NeverContactSource', name: 'x' })] }));
      expect(r.ok).to.equal(false);
    });

    it('explicit AllowContactingSource and unset agree', () => {
      const r = merge(inputs({ entries: [digest('q.io/a', ['m.io/a'], { policy: 'AllowContactingSource' }), tag('q.io/a', ['t.io/a'])] }));
      expect(r.ok).to.equal(true);
    });

    it('reports one problem per conflicting source, sorted by source', () => {
      const never = { policy: 'NeverContactSource' as const };
      const r = merge(
        inputs({
          entries: [
            digest('b.io', ['m.io'], never),
            tag('b.io', ['m.io']),
            digest('a.io', ['m.io'], never),
            tag('a.io', ['n.io']),
            tag('a.io', ['o.io'], { index: 1 }),
          ],
        }),
      );
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.errors.map((e) => e.message.slice(0, 13))).to.deep.equal(['source "a.io"', 'source "b.io"']);
      expect(r.errors[0]?.message).to.include('and 1 more entry');
    });
  });

  describe('model', () => {
    it('marks hosts reached over plain HTTP or without TLS verification as insecure scopes', () => {
      const m = ok(inputs({ access: [access('reg.corp:5000', { plainHTTP: true }), access('ok.corp'), access('self.corp', { insecureSkipVerify: true })] }));
      expect(m.insecureScopes).to.deep.equal(['reg.corp:5000', 'self.corp']);
      expect(m.rules.map((r) => [r.source, r.insecure])).to.deep.equal([
        ['reg.corp:5000', true],
        ['self.corp', true],
      ]);
      expect(m.access.map((a) => a.host)).to.deep.equal(['ok.corp', 'reg.corp:5000', 'self.corp']);
    });

    it('gives each default-mirror registry a rule that keeps enclosing mirrors', () => {
      const defaultMirror = {
        mirror: 'cache.corp/all',
        registries: ['docker.io', 'quay.io/ns'],
        origin: origin('RegistryAccess', 'a'),
        field: 'spec.defaultMirror',
      };
      const m = ok(inputs({ entries: [digest('quay.io', ['d.io/q'])], defaultMirror }));
      expect(m.rules.map((r) => [r.source, r.digestMirrors])).to.deep.equal([
        ['docker.io', []],
        ['quay.io', ['d.io/q']],
        ['quay.io/ns', ['d.io/q/ns']],
      ]);
      expect(m.defaultMirror).to.equal(defaultMirror);
    });

    it('sorts rules and de-duplicates contributors', () => {
      const a = origin('ImageDigestMirrorSet', 'a');
      const b = origin('ImageTagMirrorSet', 'b');
      const m = ok(inputs({ entries: [digest('z.io', ['m.io']), digest('a.io', ['m.io'])], contributors: [b, a, b] }));
      expect(m.rules.map((r) => r.source)).to.deep.equal(['a.io', 'z.io']);
      expect(m.contributors).to.deep.equal([a, b]);
    });

    it('gives a deep-equal model for any order of any input list', () => {
      const entries = [
        digest('quay.io', ['a.io/q', 'b.io/q']),
        digest('quay.io', ['b.io/q', 'c.io/q'], { name: 'two' }),
        tag('quay.io/ns', ['t.io/ns']),
        digest('*.corp', ['w.io']),
        tag('x.corp/y', ['t.io/y'], { policy: 'NeverContactSource' }),
      ];
      const blocked = [scope('quay.io/ns/b'), scope('evil.io')];
      const insecure = [scope('a.io'), scope('x.corp')];
      const contributors = [origin('A', 'a'), origin('B', 'b'), origin('C', 'c')];
      const want = ok(inputs({ entries, blocked, insecure, contributors }));
      for (const e of orders(entries)) {
        for (const c of orders(contributors)) {
          const got = ok(inputs({ entries: e, blocked: [...blocked].reverse(), insecure: [...insecure].reverse(), contributors: c }));
          expect(got).to.deep.equal(want);
        }
      }
    });
  });
});
