import { expect } from 'chai';
import { Interner } from '../../src/common/interner.js';

describe('Interner', () => {
  it('returns the value kept first for every equal value, and each distinct value as it is', () => {
    const pool = new Interner<Array<{ code: string }>>();
    const a = [{ code: 'HostWideWidening' }];
    const b = JSON.parse(JSON.stringify(a)) as typeof a;
    const c = [{ code: 'WildcardPort' }];
    expect(pool.intern(a)).to.equal(a);
    expect(pool.intern(b)).to.equal(a);
    expect(pool.intern(c)).to.equal(c);
    expect(pool.size()).to.equal(2);
  });

  it('tells values apart by their JSON, order of entries included', () => {
    const pool = new Interner<string[]>();
    const ab = pool.intern(['a', 'b']);
    expect(pool.intern(['b', 'a'])).to.not.equal(ab);
    expect(pool.intern(['a', 'b'])).to.equal(ab);
  });
});
