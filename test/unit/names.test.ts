// Derived names, label values and Event names against Kubernetes' limits:
// names that fit are unchanged, longer ones get a short form that is valid,
// stable and distinct per identity, and the controller never misreads a
// short form as another target.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  dataKeyProblem,
  eventGenerateName,
  fitted,
  labelValueProblem,
  MAX_GENERATE_NAME_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_NAME_LENGTH,
  nameProblem,
} from '../../src/common/names.js';
import { nodePoolOutputName, outputName, targetLabelValue, targetOfLabel } from '../../src/contract.js';
import type { Target } from '../../src/model/source.js';

/** DNS labels of up to 63 characters joined by dots, up to `max` characters: a NodePool name. */
function dnsName(minLength: number, maxLength: number): fc.Arbitrary<string> {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  return fc
    .array(label, { minLength: 1, maxLength: 8 })
    .map((ls) => ls.join('.'))
    .filter((s) => s.length >= minLength && s.length <= maxLength);
}

/** A name of exactly `n` characters made of 63-character labels. */
function longName(n: number, ch = 'a'): string {
  const labels: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(63, left === 64 ? 62 : left);
    labels.push(ch.repeat(len));
    left -= len + 1;
  }
  const s = labels.join('.');
  return s.length === n ? s : s.slice(0, n).replace(/\.$/, ch);
}

const namespace = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);

describe('names: derived names fit Kubernetes limits', () => {
  describe('output ConfigMap and Secret names', () => {
    it('keep their present form when it fits (every name of up to 239 characters)', () => {
      expect(nodePoolOutputName('workers')).to.equal('workers-image-mirrors');
      expect(outputName({ kind: 'Cluster' })).to.equal('cluster-image-mirrors');
      const n239 = longName(239);
      expect(nodePoolOutputName(n239)).to.equal(`${n239}-image-mirrors`);
      fc.assert(fc.property(dnsName(1, 239), (pool) => nodePoolOutputName(pool) === `${pool}-image-mirrors`));
    });

    it('are valid names of at most 253 characters for every NodePool name up to 253, ending in -image-mirrors', () => {
      for (const n of [240, 241, 250, 252, 253]) {
        const out = nodePoolOutputName(longName(n));
        expect(out.length, `pool of ${n}`).to.equal(MAX_NAME_LENGTH);
        expect(nameProblem(out), out).to.equal(undefined);
        expect(out).to.match(/-[0-9a-f]{16}-image-mirrors$/);
      }
      fc.assert(fc.property(dnsName(1, 253), (pool) => nameProblem(nodePoolOutputName(pool)) === undefined));
    });

    it('are stable and distinct for names that share their first 239 characters', () => {
      const base = longName(240);
      const variants = ['a', 'b', 'c', '0', '1'].map((ch) => `${base.slice(0, 239)}${ch}`).concat([`${base}a`, `${base}ab`]);
      const outs = variants.map(nodePoolOutputName);
      expect(new Set(outs).size).to.equal(variants.length);
      expect(variants.map(nodePoolOutputName)).to.deep.equal(outs);
      // Never the name of a pool that fits: a short form is exactly 253 long and carries the hash.
      for (const o of outs) expect(o).to.not.equal(`${base.slice(0, 239)}-image-mirrors`);
    });

    it('a short form never ends its cut with "." or "-" (still a DNS name)', () => {
      // The cut falls right after a dot.
      const pool = `${'a'.repeat(221)}.${'b'.repeat(30)}`;
      const out = nodePoolOutputName(pool);
      expect(nameProblem(out), out).to.equal(undefined);
      expect(out.startsWith(`${'a'.repeat(221)}-`)).to.equal(true);
    });
  });

  describe('TARGET_LABEL values', () => {
    const np = (ns: string, name: string): Target => ({ kind: 'NodePool', namespace: ns, name });

    it('keep `<namespace>.<name>` when it is a label value, and read back as the target', () => {
      expect(targetLabelValue({ kind: 'Cluster' })).to.equal('cluster');
      expect(targetLabelValue(np('clusters', 'workers'))).to.equal('clusters.workers');
      const fits = np('ns', 'w'.repeat(60));
      expect(targetLabelValue(fits)).to.equal(`ns.${'w'.repeat(60)}`);
      expect(targetOfLabel(targetLabelValue(fits))).to.deep.equal(fits);
      fc.assert(
        fc.property(namespace, dnsName(1, 253), (ns, name) => {
          const v = targetLabelValue(np(ns, name));
          return v !== `${ns}.${name}` || `${ns}.${name}`.length <= MAX_LABEL_VALUE_LENGTH;
        }),
      );
    });

    it('are valid label values for every namespace (63) and NodePool name (253), and never read as another target', () => {
      const cases = [np('clusters', 'w'.repeat(55)), np('n'.repeat(63), longName(253)), np('a', longName(100)), np('x'.repeat(50), 'workers-of-the-pool')];
      for (const t of cases) {
        const v = targetLabelValue(t);
        expect(labelValueProblem(v), v).to.equal(undefined);
        expect(v.length).to.be.at.most(MAX_LABEL_VALUE_LENGTH);
        expect(targetOfLabel(v), v).to.equal(undefined);
      }
      fc.assert(
        fc.property(namespace, dnsName(1, 253), (ns, name) => {
          const v = targetLabelValue(np(ns, name));
          const back = targetOfLabel(v);
          return labelValueProblem(v) === undefined && (back === undefined || (back.kind === 'NodePool' && back.namespace === ns && back.name === name));
        }),
        { numRuns: 2000 },
      );
    });

    it('are stable and distinct per target, also across namespaces', () => {
      const name = `pool-${'p'.repeat(70)}`;
      const targets = [np('a', name), np('b', name), np('a', `${name}x`), np('a', `${name}.x`), np('ab', name)];
      const values = targets.map(targetLabelValue);
      expect(new Set(values).size).to.equal(targets.length);
      expect(targets.map(targetLabelValue)).to.deep.equal(values);
      fc.assert(
        fc.property(namespace, dnsName(60, 253), dnsName(60, 253), (ns, a, b) => a === b || targetLabelValue(np(ns, a)) !== targetLabelValue(np(ns, b))),
      );
    });
  });

  describe('Event names', () => {
    it('`<name>.` up to 57 characters, a short form beyond: within the 58 the API server keeps', () => {
      expect(eventGenerateName('workers')).to.equal('workers.');
      expect(eventGenerateName('w'.repeat(57))).to.equal(`${'w'.repeat(57)}.`);
      for (const name of ['w'.repeat(58), longName(253), `${'a'.repeat(39)}.${'b'.repeat(40)}`]) {
        const g = eventGenerateName(name);
        expect(g.length, g).to.be.within(MAX_GENERATE_NAME_LENGTH - 2, MAX_GENERATE_NAME_LENGTH);
        expect(g).to.match(/^[a-z0-9][-a-z0-9.]*[a-z0-9]-[0-9a-f]{16}\.$/);
      }
      expect(eventGenerateName(`${'w'.repeat(57)}a`)).to.not.equal(eventGenerateName(`${'w'.repeat(57)}b`));
    });
  });

  describe('the checks', () => {
    it('name, label value and key checks say why', () => {
      expect(nameProblem('a'.repeat(254))).to.equal('is 254 characters long; a name has at most 253');
      expect(nameProblem('Workers')).to.match(/lower-case/);
      expect(nameProblem('a.-b')).to.match(/lower-case/);
      expect(labelValueProblem('a'.repeat(64))).to.equal('is 64 characters long; a label value has at most 63');
      expect(labelValueProblem('a/b')).to.match(/letters, digits/);
      expect(labelValueProblem('')).to.equal(undefined);
      expect(dataKeyProblem('k'.repeat(254))).to.equal('is 254 characters long; a key has at most 253');
      expect(dataKeyProblem('a:b')).to.match(/letters, digits/);
      expect(dataKeyProblem('..')).to.match(/not "\." or "\.\."/);
      expect(dataKeyProblem('containerd.host_5000_.hosts.toml')).to.equal(undefined);
    });

    it('fitted refuses a limit with no room for a hash instead of building an invalid name', () => {
      expect(() => fitted('abcdef', '-suffix', 9, 'abcdef')).to.throw(/no room/);
      expect(fitted('abc', '-suffix', 10, 'abc')).to.equal('abc-suffix');
      expect(fitted('abcdefghijklmnopqrstu', '-suffix', 26, 'x')).to.match(/^ab-[0-9a-f]{16}-suffix$/);
    });
  });
});
