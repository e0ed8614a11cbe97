import { expect } from 'chai';
import { isEmptySelector, isWellFormedSelector, selectorMatches, type LabelSelector } from '../../../src/model/selector.js';

const labels = { tier: 'gpu', zone: 'a' };

const rows: Array<[LabelSelector | undefined, boolean, string]> = [
  [undefined, true, 'no selector selects everything'],
  [{}, true, 'an empty selector selects everything'],
  [{ matchLabels: {}, matchExpressions: [] }, true, 'empty parts select everything'],
  [{ matchLabels: { tier: 'gpu' } }, true, 'matchLabels equal'],
  [{ matchLabels: { tier: 'cpu' } }, false, 'matchLabels different value'],
  [{ matchLabels: { tier: 'gpu', zone: 'b' } }, false, 'every matchLabels pair must hold'],
  [{ matchLabels: { missing: '' } }, false, 'an absent label does not equal the empty string'],
  [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['cpu', 'gpu'] }] }, true, 'In: value among values'],
  [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['cpu'] }] }, false, 'In: value not among values'],
  [{ matchExpressions: [{ key: 'gone', operator: 'In', values: ['x'] }] }, false, 'In: absent label'],
  [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cpu'] }] }, true, 'NotIn: value not among values'],
  [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gpu'] }] }, false, 'NotIn: value among values'],
  [{ matchExpressions: [{ key: 'gone', operator: 'NotIn', values: ['x'] }] }, true, 'NotIn: absent label holds'],
  [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, true, 'Exists: present'],
  [{ matchExpressions: [{ key: 'gone', operator: 'Exists' }] }, false, 'Exists: absent'],
  [{ matchExpressions: [{ key: 'gone', operator: 'DoesNotExist' }] }, true, 'DoesNotExist: absent'],
  [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, false, 'DoesNotExist: present'],
  [{ matchExpressions: [{ key: 'zone', operator: 'Gt', values: ['1'] }] }, false, 'an unknown operator never matches'],
  [{ matchLabels: { tier: 'gpu' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, false, 'labels and expressions must all hold'],
  [{ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, false, 'inherited object properties are not labels'],
];

describe('selector: metav1.LabelSelector matching', () => {
  for (const [sel, want, why] of rows) {
    it(why, () => {
      expect(selectorMatches(sel, labels)).to.equal(want);
    });
  }

  it('isEmptySelector only for selectors without requirements', () => {
    expect(isEmptySelector(undefined)).to.equal(true);
    expect(isEmptySelector({ matchLabels: {} })).to.equal(true);
    expect(isEmptySelector({ matchLabels: { a: 'b' } })).to.equal(false);
    expect(isEmptySelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] })).to.equal(false);
  });

  it('isWellFormedSelector rejects shapes the matcher cannot read', () => {
    expect(isWellFormedSelector(undefined)).to.equal(true);
    expect(isWellFormedSelector({ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }] })).to.equal(true);
    expect(isWellFormedSelector('x')).to.equal(false);
    expect(isWellFormedSelector({ matchLabels: { a: 1 } })).to.equal(false);
    expect(isWellFormedSelector({ matchExpressions: {} })).to.equal(false);
    expect(isWellFormedSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] })).to.equal(false);
  });
});
