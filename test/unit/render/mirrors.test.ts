import { expect } from 'chai';
import fc from 'fast-check';
import { combineMirrors, type MirrorUse } from '../../../src/render/mirrors.js';

const uses = (list: MirrorUse[]): string[] => list.map((u) => `${u.location} ${u.digest ? 'd' : ''}${u.tag ? 't' : ''}`);

/** Each pool's mirrors, read back from the combined list in order. */
function pools(list: readonly MirrorUse[]): { digest: string[]; tag: string[] } {
  return { digest: list.filter((u) => u.digest).map((u) => u.location), tag: list.filter((u) => u.tag).map((u) => u.location) };
}

describe('combineMirrors (one list of mirrors from both pools)', () => {
  const table: Array<{ why: string; digest: string[]; tag: string[]; want: string[] }> = [
    { why: 'digest pool only', digest: ['a', 'b'], tag: [], want: ['a d', 'b d'] },
    { why: 'tag pool only', digest: [], tag: ['a', 'b'], want: ['a t', 'b t'] },
    { why: 'no shared mirror: digest mirrors first', digest: ['a', 'b'], tag: ['c'], want: ['a d', 'b d', 'c t'] },
    { why: 'a shared mirror is one use for both pull types', digest: ['a', 's', 'b'], tag: ['c', 's'], want: ['a d', 'c t', 's dt', 'b d'] },
    { why: 'shared mirrors in different orders: pools listed separately', digest: ['x', 'y'], tag: ['y', 'x'], want: ['x d', 'y d', 'y t', 'x t'] },
  ];
  for (const row of table) {
    it(row.why, () => {
      expect(uses(combineMirrors(row.digest, row.tag))).to.deep.equal(row.want);
    });
  }

  it('long lists (past the scan threshold) combine like short ones', () => {
    const long = Array.from({ length: 12 }, (_, i) => `m${i}`);
    expect(uses(combineMirrors(long, ['m3', 'm7']))).to.include.members(['m3 dt', 'm7 dt']);
    expect(uses(combineMirrors(['m3', 'm7'], long))).to.include.members(['m3 dt', 'm7 dt']);
    expect(uses(combineMirrors(long, [...long].reverse()))).to.have.length(24);
  });

  it('keeps each pool in its own order and lists every mirror of each pool exactly once (property)', () => {
    const list = fc.uniqueArray(fc.constantFrom(...'abcdefghijklmnop'), { maxLength: 14 });
    fc.assert(
      fc.property(list, list, (digest, tag) => {
        const out = combineMirrors(digest, tag);
        expect(pools(out)).to.deep.equal({ digest, tag });
        expect(out.every((u) => u.digest || u.tag)).to.equal(true);
        const both = out.filter((u) => u.digest && u.tag).length;
        expect(out.length + both).to.equal(digest.length + tag.length);
      }),
      { numRuns: 2000 },
    );
  });
});
