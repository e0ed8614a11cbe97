// Inputs for the scale tests of merge and render.
import type { MergeInputs } from '../../../src/model/types.js';
import { digest, inputs, tag } from './build.js';

/** SPEC §7's shape: N sources, 3 digest mirrors each, half with 2 tag mirrors. */
export function scaleInputs(n: number): MergeInputs {
  const entries = [];
  for (let i = 0; i < n; i++) {
    const source = `registry${i % 50}.example.com/team${i}/app`;
    entries.push(digest(source, [`m1.corp/team${i}/app`, `m2.corp/team${i}/app`, `m3.corp/team${i}/app`], { index: i }));
    if (i % 2 === 0) entries.push(tag(source, [`t1.corp/team${i}/app`, `t2.corp/team${i}/app`], { index: i }));
  }
  return inputs({ entries });
}
