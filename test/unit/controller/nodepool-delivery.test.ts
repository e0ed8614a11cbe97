import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { configHash } from '../../../src/controller/nodepool-delivery.js';

describe('configHash', () => {
  const sha = (v: string): string => `sha256:${createHash('sha256').update(v).digest('hex')}`;

  it('is the sha256 of the value, for repeated values and for more distinct values than it remembers', () => {
    const big = 'apiVersion: v1\n'.repeat(2000);
    for (let round = 0; round < 3; round++) {
      // Equal content in a new string each time, as a new render or watch event holds.
      expect(configHash(`${big}x`)).to.equal(sha(`${big}x`));
    }
    const values = Array.from({ length: 200 }, (_, i) => `${big}${i}`);
    for (const v of [...values, ...values.reverse()]) expect(configHash(v)).to.equal(sha(v));
    expect(configHash('')).to.equal(sha(''));
  });
});
