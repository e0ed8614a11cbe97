import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import { scaleInputs } from './scale-inputs.js';

// What the merge does at SPEC §7's size. How fast it does it (10,000 sources under 30 ms, linear growth)
// is measured by bench/render-scale.ts, not asserted here: wall-clock limits in unit tests fail under load.
describe('merge scale (SPEC §7)', () => {
  it('merges 10,000 sources x 3 mirrors into one rule each, tag mirrors on every other', () => {
    const result = merge(scaleInputs(10_000));
    if (!result.ok) throw new Error(`merge failed: ${result.errors[0]?.message}`);
    const rules = result.value.rules;
    expect(rules).to.have.length(10_000);
    expect(rules.every((r) => r.digestMirrors.length === 3)).to.equal(true);
    expect(rules.filter((r) => r.tagMirrors.length === 2)).to.have.length(5_000);
  });
});
