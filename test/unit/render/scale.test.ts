import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import { render } from '../../../src/render/index.js';
import { REGISTRIES_CONF_KEY } from '../../../src/render/paths.js';
import { scaleInputs } from '../merge/scale-inputs.js';

// Rendering at SPEC §7's size (render() parses every TOML file back and throws if one is invalid).
// Timing is measured by bench/render-scale.ts.
describe('render scale', () => {
  it('renders (and parses back) 10,000 sources, every source in registries.conf', () => {
    const result = merge(scaleInputs(10_000));
    if (!result.ok) throw new Error('merge failed');
    const out = render(result.value);
    const conf = out.files.find((f) => f.key === REGISTRIES_CONF_KEY)?.content ?? '';
    expect(conf.match(/^\[\[registry\]\]$/gm)).to.have.length(10_000);
  });
});
