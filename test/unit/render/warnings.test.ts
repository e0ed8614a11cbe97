// The warning order (sortedWarnings) and the shortcuts to it that render()
// takes for containerd's many warnings (RuleWarnings, sortedAfter), against
// a plain stable sort and de-duplication written out here.
import { expect } from 'chai';
import fc from 'fast-check';
import type { RenderWarning, WarningCode } from '../../../src/model/types.js';
import { AsciiText, literal, NotAscii, StringText } from '../../../src/render/text.js';
import { RuleWarnings, sortedAfter, sortedWarnings } from '../../../src/render/warnings.js';

const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const compare = (a: RenderWarning, b: RenderWarning): number =>
  order(a.renderer, b.renderer) || order(a.source, b.source) || order(a.mirror ?? '', b.mirror ?? '') || order(a.code, b.code) || order(a.message, b.message);

/** A stable sort by renderer, source, mirror ('' when absent), code, message (ties by position). */
function stableSort(warnings: readonly RenderWarning[]): RenderWarning[] {
  return warnings
    .map((w, i) => ({ w, i }))
    .sort((x, y) => compare(x.w, y.w) || x.i - y.i)
    .map((x) => x.w);
}

/** The specified order: that sort, then every warning equal to the one before it dropped. */
function reference(warnings: readonly RenderWarning[]): RenderWarning[] {
  const sorted = stableSort(warnings);
  return sorted.filter((w, k) => k === 0 || compare(sorted[k - 1]!, w) !== 0);
}

// Few values, so that warnings collide and tie on every field.
const SOURCES = ['a.io', 'a.io/x', 'a.io/y', 'b.io', 'b.io/x', 'c.io'];
const arbWarning = (renderers: readonly RenderWarning['renderer'][]): fc.Arbitrary<RenderWarning> =>
  fc
    .record({
      code: fc.constantFrom<WarningCode>('HostWideWidening', 'NotExpressible', 'TagOnlyApproximated'),
      renderer: fc.constantFrom(...renderers),
      source: fc.constantFrom(...SOURCES),
      message: fc.constantFrom('m1', 'm2'),
      mirror: fc.constantFrom(undefined, '', 'x.io', 'y.io'),
      // Marks each warning, so that which of two equal warnings is kept shows.
      id: fc.nat(),
    })
    .map(({ mirror, id, ...w }) => (mirror === undefined ? { ...w, id } : { ...w, mirror, id }) as unknown as RenderWarning);

describe('warning order', () => {
  it('sortedWarnings is a stable sort without equal neighbours', () => {
    fc.assert(
      fc.property(fc.array(arbWarning(['containerd', 'registries.conf']), { maxLength: 200 }), (ws) => {
        expect(sortedWarnings(ws)).to.deep.equal(reference(ws));
      }),
      { numRuns: 300 },
    );
  });

  it('RuleWarnings.sorted(): the same order from any rule indices, rules in order or not; strict only when exact', () => {
    const arbCase = fc.record({
      // Sorted and distinct, or any list of sources (repeated, out of order).
      rules: fc.oneof(
        fc.uniqueArray(fc.constantFrom(...SOURCES)).map((s) => [...s].sort()),
        fc.array(fc.constantFrom(...SOURCES), { maxLength: 8 }),
      ),
      warnings: fc.array(fc.tuple(arbWarning(['containerd']), fc.integer({ min: -2, max: 8 }), fc.boolean()), { maxLength: 150 }),
    });
    fc.assert(
      fc.property(arbCase, ({ rules, warnings }) => {
        const collected = new RuleWarnings(
          rules.map((source) => ({ source })),
          3,
        );
        for (const [w, rank, own] of warnings) {
          // Mostly the index of the warning's own source, as the renderer passes it; else anything.
          const ownRank = rules.indexOf(w.source);
          collected.add(w, own && ownRank >= 0 ? ownRank : rank);
        }
        const all = warnings.map(([w]) => w);
        expect(collected.added()).to.deep.equal(all);
        const { warnings: sorted, strict } = collected.sorted();
        expect(sortedWarnings(sorted)).to.deep.equal(reference(all));
        const inOrder = rules.every((r, i) => i === 0 || rules[i - 1]! < r);
        expect(sorted).to.deep.equal(inOrder ? stableSort(all) : all);
        if (strict) expect(sorted).to.deep.equal(reference(all));
      }),
      { numRuns: 500 },
    );
  });

  it('RuleWarnings.sorted() is strict for warnings added per rule in order with their own indices', () => {
    const rules = ['a.io', 'a.io/x', 'b.io'].map((source) => ({ source }));
    const collected = new RuleWarnings(rules);
    const w = (source: string, mirror: string): RenderWarning => ({ code: 'HostWideWidening', renderer: 'containerd', source, message: 'm', mirror });
    for (const [rank, mirror] of [
      [2, 'x'],
      [2, 'y'],
      [0, 'x'],
      [1, 'a'],
      [1, 'b'],
    ] as const)
      collected.add(w(rules[rank]!.source, mirror), rank);
    const { warnings, strict } = collected.sorted();
    expect(strict).to.equal(true);
    expect(warnings.map((x) => `${x.source} ${x.mirror}`)).to.deep.equal(['a.io x', 'a.io/x a', 'a.io/x b', 'b.io x', 'b.io y']);
  });

  it('sortedAfter(first, rest) is sortedWarnings of both for a first part that is sorted without duplicates', () => {
    fc.assert(
      fc.property(fc.array(arbWarning(['containerd', 'registries.conf'])), fc.array(arbWarning(['containerd', 'registries.conf'])), (a, rest) => {
        const first = sortedWarnings(a);
        expect(sortedAfter(first, rest)).to.deep.equal(reference([...first, ...rest]));
      }),
      { numRuns: 300 },
    );
  });
});

describe('registries.conf text', () => {
  const piece = fc.oneof(
    fc.constantFrom('\n[[registry]]\nprefix = ', '\nlocation = ', '\n').map((t) => ({ literal: t })),
    fc
      .oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('quay.io/ns', 'a"b', 'c\\d', 'caf\u00e9', '\u{1F600}', 'x\ud800', 'tab\t'))
      .map((q) => ({ quoted: q })),
  );

  it('AsciiText writes what StringText writes (or throws the same), unless it gives way to StringText for a value outside ASCII', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const write = (out: AsciiText | StringText): string => {
          for (const p of pieces) 'literal' in p ? out.literal(literal(p.literal)) : out.quoted(p.quoted);
          return out.text();
        };
        const run = (f: () => string): string => {
          try {
            return f();
          } catch (e) {
            return e instanceof NotAscii ? 'NotAscii' : `${(e as Error).name}: ${(e as Error).message}`;
          }
        };
        const ascii = run(() => write(new AsciiText(4)));
        const text = run(() => write(new StringText()));
        // renderRegistriesConf writes the file again to a StringText when AsciiText gives way.
        if (ascii === 'NotAscii') expect(pieces.some((p) => 'quoted' in p && /[^\u0000-\u007f]/.test(p.quoted))).to.equal(true);
        else expect(ascii).to.equal(text);
      }),
      { numRuns: 500 },
    );
  });
});
