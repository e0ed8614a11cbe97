import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readmeBlocks } from '../../src/cli/readme-examples.js';

describe('README rendered examples', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const blocks = readmeBlocks(readme);

  it('shows at least the HyperShift, EKS Anywhere, CAREN and Platform9 examples', () => {
    for (const ex of ['examples/hypershift', 'examples/seeds/eks-anywhere', 'examples/seeds/caren', 'examples/seeds/platform9']) {
      expect(
        blocks.some((b) => b.spec.includes(ex)),
        ex,
      ).to.equal(true);
    }
  });

  for (const b of blocks) {
    it(`matches a live render: ${b.spec}`, () => {
      expect(b.shown.replace(/\n$/, '')).to.equal(b.rendered.replace(/\n$/, ''));
    });
  }
});
