import { expect } from 'chai';
import fc from 'fast-check';
import { orderMirrors } from '../../../src/merge/order.js';
import { orders } from './build.js';

const S = 'src.io/app';

describe('orderMirrors (SPEC §2.3)', () => {
  const table: Array<{ why: string; lists: string[][]; want: string[]; source?: string }> = [
    { why: 'one list is kept as written', lists: [['b.io', 'a.io']], want: ['b.io', 'a.io'] },
    {
      why: 'SPEC example: lists chain through a shared mirror',
      lists: [
        ['a', 'b'],
        ['b', 'c'],
      ],
      want: ['a', 'b', 'c'],
    },
    { why: 'SPEC example: unrelated lists tie, byte order decides', lists: [['b'], ['a']], want: ['a', 'b'] },
    {
      why: 'the same list twice counts once',
      lists: [
        ['b', 'a'],
        ['b', 'a'],
      ],
      want: ['b', 'a'],
    },
    { why: 'a trailing source is dropped', lists: [['a', S]], want: ['a'] },
    { why: 'a source listed mid-list stays a mirror', lists: [['a', S, 'b']], want: ['a', S, 'b'] },
    {
      why: 'a mid-list source still comes after mirrors that other lists put before the source',
      lists: [['a', S, 'b'], ['c']],
      want: ['a', 'c', S, 'b'],
    },
    {
      why: 'a two-node cycle is broken by byte order',
      lists: [
        ['a', 'b'],
        ['b', 'a'],
      ],
      want: ['a', 'b'],
    },
    {
      why: 'a cycle through the source never puts the source first, even when it sorts first',
      source: 'a.io',
      lists: [
        ['z.io', 'a.io'],
        ['a.io', 'z.io'],
      ],
      want: ['z.io'],
    },
    {
      why: 'a cycle closed by the implicit last -> source edge does not start with the source',
      source: '0.io',
      lists: [
        ['0.io', 'm'],
        ['m', 'n'],
      ],
      want: ['m', 'n'],
    },
    {
      why: 'breaking a cycle never lets a node jump ahead of its predecessors',
      lists: [
        ['x', 'y'],
        ['y', 'x'],
        ['y', 'a'],
      ],
      want: ['x', 'y', 'a'],
    },
    {
      why: 'a three-node cycle starts at its smallest node',
      lists: [
        ['c', 'a'],
        ['a', 'b'],
        ['b', 'c'],
      ],
      want: ['a', 'b', 'c'],
    },
  ];
  for (const row of table) {
    it(row.why, () => {
      for (const lists of orders(row.lists)) {
        expect(orderMirrors(row.source ?? S, lists), JSON.stringify(lists)).to.deep.equal(row.want);
      }
    });
  }

  const node = fc.constantFrom('a', 'b', 'c', 'd', 'e', S);
  const list = fc.uniqueArray(node, { minLength: 1, maxLength: 5 }).filter((l) => l.some((m) => m !== S));
  const lists = fc.array(list, { minLength: 1, maxLength: 5 });

  it('depends only on the set of lists (order and repetition do not matter)', () => {
    fc.assert(
      fc.property(lists, fc.infiniteStream(fc.nat()), (ls, seeds) => {
        const shuffled = [...ls, ...ls.slice(0, 1)].map((l) => ({ l, k: seeds.next().value as number }));
        shuffled.sort((x, y) => x.k - y.k);
        expect(
          orderMirrors(
            S,
            shuffled.map((x) => x.l),
          ),
        ).to.deep.equal(orderMirrors(S, ls));
      }),
    );
  });

  it('lists every mirror once and never starts with the source unless a list does', () => {
    fc.assert(
      fc.property(lists, (ls) => {
        const out = orderMirrors(S, ls);
        expect(new Set(out).size).to.equal(out.length);
        const all = new Set(ls.flat());
        for (const m of all) if (m !== S) expect(out).to.include(m);
        if (!ls.some((l) => l[0] === S)) expect(out[0]).to.not.equal(S);
        expect(out[out.length - 1]).to.not.equal(S);
      }),
    );
  });

  it('honours every list when the lists agree (no cycle)', () => {
    // Sub-sequences of one total order can never form a cycle.
    const total = ['e', 'c', 'a', 'd', 'b'];
    const sub = fc.subarray(total, { minLength: 1 });
    fc.assert(
      fc.property(fc.array(sub, { minLength: 1, maxLength: 4 }), (ls) => {
        const out = orderMirrors(S, ls);
        for (const l of ls) {
          for (let i = 0; i + 1 < l.length; i++) expect(out.indexOf(l[i]!)).to.be.lessThan(out.indexOf(l[i + 1]!));
        }
      }),
    );
  });
});
