import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import { render } from '../../../src/render/index.js';
import { bestOf, scaleInputs } from '../merge/scale-inputs.js';

describe('render scale', () => {
  it('renders (and parses back) 10,000 sources within seconds, not minutes', () => {
    const result = merge(scaleInputs(10_000));
    if (!result.ok) throw new Error('merge failed');
    const t = bestOf(2, () => render(result.value));
    // Measured around 0.5 s on 2 shared cores, most of it parsing 4 MB of TOML back;
    // a quadratic step would take minutes here.
    expect(t, `${t.toFixed(0)} ms`).to.be.lessThan(5_000);
  });
});
