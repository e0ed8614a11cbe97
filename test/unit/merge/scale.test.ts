import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import { bestOf, scaleInputs } from './scale-inputs.js';

describe('merge scale (SPEC §7: near-linear)', () => {
  it('merges 10,000 sources x 3 mirrors in milliseconds, and grows linearly', () => {
    const small = scaleInputs(2_000);
    const large = scaleInputs(10_000);
    merge(large); // warm up the JIT
    const tSmall = bestOf(5, () => merge(small));
    const tLarge = bestOf(5, () => merge(large));
    // 5x the input: linear growth gives a ratio near 5, quadratic near 25.
    const words = `2k ${tSmall.toFixed(1)} ms, 10k ${tLarge.toFixed(1)} ms`;
    expect(tLarge, words).to.be.lessThan(500);
    expect(tLarge / Math.max(tSmall, 1), words).to.be.lessThan(15);
  });
});
