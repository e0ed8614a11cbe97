// Golden output of merge + render: hashes of everything they return for
// fixed inputs, recorded with the implementation before the merge and the
// renderers were made faster (main at 456db81). Any change to the merge or
// the renderers that changes a byte of output, a warning, or their order
// fails here; a change meant to alter the output must record new hashes and
// say why.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { merge } from '../../../src/merge/index.js';
import type { MergeInputs } from '../../../src/model/types.js';
import { render, renderModelSummary } from '../../../src/render/index.js';
import { renderMachineConfig } from '../../../src/render/machineconfig.js';
import { renderScaleInputs } from '../../../bench/lib/render-inputs.js';
import { scaleInputs } from '../merge/scale-inputs.js';
import { handMadeModel, randomInputs, Seeded } from './golden-inputs.js';

/** Everything merge and render give for `inputs`, as text (a thrown error included). */
function outcome(inputs: MergeInputs, handMade?: Seeded): string {
  const merged = merge(inputs);
  if (!merged.ok) return JSON.stringify(merged);
  const model = handMade ? handMadeModel(handMade, merged.value) : merged.value;
  try {
    const out = render(model);
    return JSON.stringify(handMade ? out : [model, out, renderModelSummary(model), renderMachineConfig(model, out.files)]);
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

function hash(texts: Iterable<string>): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t).update('\u0000');
  return h.digest('hex').slice(0, 32);
}

function* random(count: number, seed: number): Generator<string> {
  const r = new Seeded(seed);
  for (let i = 0; i < count; i++) yield outcome(randomInputs(r));
}

function* handMade(count: number, seed: number): Generator<string> {
  const r = new Seeded(seed);
  for (let i = 0; i < count; i++) {
    const inputs = randomInputs(r);
    // Without policies, so that most inputs merge and the model is rendered.
    yield outcome({ ...inputs, entries: inputs.entries.map(({ policy: _, ...e }) => e) }, r);
  }
}

describe('merge + render golden output (byte-identical to the recorded implementation)', () => {
  it('the benchmark input at 2,000 sources', () => {
    expect(hash([outcome(renderScaleInputs(2_000))])).to.equal(GOLDEN.bench2000);
  });

  it("SPEC §7's shape at 2,000 sources", () => {
    expect(hash([outcome(scaleInputs(2_000))])).to.equal(GOLDEN.scale2000);
  });

  it('1,000 small random inputs (conflicts, wildcards, scopes, access, default mirror, odd strings)', () => {
    expect(hash(random(1_000, 12345))).to.equal(GOLDEN.random1000);
  });

  it('500 hand-made models (rules out of order, repeated, mirrors reordered)', () => {
    expect(hash(handMade(500, 777))).to.equal(GOLDEN.handMade500);
  });
});

const GOLDEN = {
  bench2000: 'cb690c0523b9e0d077f526972c76be04',
  scale2000: '55814f8331dc2a156ba1f9b7834c3cd4',
  random1000: 'ebc267bb2c782de003a2580efebd5d27',
  handMade500: '33be33b87e8ebac5d9321212fbb45e8c',
};
