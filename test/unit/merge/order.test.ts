import { expect } from 'chai';
import fc from 'fast-check';
import { orderMirrors, topologicalOrder } from '../../../src/merge/order.js';
import { orders } from './build.js';

const S = 'src.io/app';

// runtime-utils pkg/registries topo_test.go, case by case: each string of two
// letters is an edge. Upper and lower case are two copies of one shape in
// disconnected components, so the rows also pin how components interleave
// (the FIFO queue takes them turn by turn). No source: this is upstream's sort
// exactly. Edge order is rotated and reversed inside the test, as upstream does.
const upstreamTopo: Array<{ name: string; edges: string[]; isolated?: string; want: string }> = [
  { name: 'Empty', edges: [], want: '' },
  { name: 'Shared-from', edges: ['AB', 'AC', 'AD', 'ab', 'ac', 'ad'], want: 'AaBCDbcd' },
  { name: 'Shared-to', edges: ['AD', 'BD', 'CD', 'ad', 'bd', 'cd'], want: 'ABCabcDd' },
  { name: 'Path', edges: ['AB', 'BC', 'CD', 'DE', 'ab', 'bc', 'cd', 'de'], want: 'AaBbCcDdEe' },
  { name: 'Complete loop', edges: ['AB', 'BC', 'CD', 'DA', 'ab', 'bc', 'cd', 'da'], want: 'ABCDabcd' },
  { name: 'Loop with extra input and output', edges: ['AB', 'BC', 'CD', 'DB', 'DE', 'ab', 'bc', 'cd', 'db', 'de'], want: 'AaBCDEbcde' },
  { name: 'add a new node to single node graph', edges: [], isolated: 'A', want: 'A' },
  { name: 'add an isolate node to connected graph', edges: ['AD', 'AC', 'AB', 'BC'], isolated: 'E', want: 'AEBDC' },
];

const pairs = (edges: readonly string[]): Array<[string, string]> => edges.map((e) => [e.charAt(0), e.charAt(1)]);

describe("topologicalOrder: runtime-utils' topo_test cases", () => {
  for (const row of upstreamTopo) {
    it(`${row.name} gives ${row.want || '(nothing)'}`, () => {
      for (const edges of orders(pairs(row.edges))) {
        const isolated = row.isolated ? [row.isolated] : [];
        expect(topologicalOrder(edges, isolated).join(''), JSON.stringify(edges)).to.equal(row.want);
      }
    });
  }

  // The one change (SPEC §2.3): a cycle break skips the source while another node is left.
  const withSource: Array<{ why: string; edges: string[]; source: string; want: string }> = [
    { why: 'Complete loop: upstream breaks at A; with A as the source the break takes B', edges: ['AB', 'BC', 'CD', 'DA'], source: 'A', want: 'BCDA' },
    {
      why: 'Loop with extra input and output: the break would take B; with B as the source it takes C',
      edges: ['AB', 'BC', 'CD', 'DB', 'DE'],
      source: 'B',
      want: 'ACDBE',
    },
    { why: 'a source outside the cycle changes nothing', edges: ['AB', 'BC', 'CD', 'DA'], source: 'E', want: 'ABCD' },
    { why: 'a two-node cycle whose smaller node is the source starts at the other', edges: ['AB', 'BA'], source: 'A', want: 'BA' },
  ];
  for (const row of withSource) {
    it(row.why, () => {
      for (const edges of orders(pairs(row.edges))) {
        expect(topologicalOrder(edges, [], row.source).join(''), JSON.stringify(edges)).to.equal(row.want);
      }
    });
  }
});

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
      why: 'OpenShift: [m2, m1] + [m3] gives m2, m3, m1 (FIFO: m3 was ready before m1 was freed)',
      source: 'reg.io/ns',
      lists: [['m2.mirror/ns', 'm1.mirror/ns'], ['m3.mirror/ns']],
      want: ['m2.mirror/ns', 'm3.mirror/ns', 'm1.mirror/ns'],
    },
    {
      why: 'FIFO, not smallest first: a, freed by b, waits behind c, which was ready from the start',
      lists: [['b', 'a'], ['c']],
      want: ['b', 'c', 'a'],
    },
    {
      why: 'successors freed by one node join the queue sorted',
      lists: [['k', 'q'], ['k', 'p'], ['z']],
      want: ['k', 'z', 'p', 'q'],
    },
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
      why: 'as upstream, a cycle break takes the first unused node even when it waits on the cycle ([y, a] says y before a)',
      lists: [
        ['x', 'y'],
        ['y', 'x'],
        ['y', 'a'],
      ],
      want: ['a', 'x', 'y'],
    },
    {
      why: 'as upstream, the source can be freed before the rest of a cycle, and then stays a mirror at that point',
      source: 'S',
      lists: [
        ['c', 'd', 'b'],
        ['d', 'c', 'b'],
      ],
      want: ['b', 'S', 'c', 'd'],
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
