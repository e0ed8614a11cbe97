import { expect } from 'chai';
import fc from 'fast-check';
import {
  HOST_PATTERN,
  HOST_RE,
  MIRROR_PATTERN,
  MIRROR_RE,
  SCOPE_PATTERN,
  SOURCE_PATTERN,
  SOURCE_RE,
  isValidReference,
  quote,
  referenceError,
  type ReferenceForm,
} from '../../../src/model/patterns.js';

type Row = [value: string, forms: ReferenceForm[], reason: string | undefined, why: string];

const ALL: ReferenceForm[] = ['source', 'mirror', 'scope'];
const SOURCES: ReferenceForm[] = ['source', 'scope'];

// reason undefined = valid in every listed form.
const rows: Row[] = [
  ['quay.io', [...ALL, 'host'], undefined, 'a bare registry host'],
  ['localhost:5000', [...ALL, 'host'], undefined, 'host with port'],
  ['registry', [...ALL, 'host'], undefined, 'single-label host'],
  ['quay.io/ns/repo', ALL, undefined, 'namespace and repository'],
  ['quay.io:443/a/b/c', ALL, undefined, 'port and deep path'],
  ['m.io/a.b_c__d---e', ALL, undefined, 'every separator form in one component'],
  ['10.0.0.1:5000/x', ALL, undefined, 'IPv4 address host'],
  ['*.redhat.io', SOURCES, undefined, 'wildcard host in a source or scope'],
  ['', [...ALL, 'host'], 'must not be empty', 'empty'],
  [' quay.io', ALL, 'whitespace', 'leading space'],
  ['quay.io/a b', ALL, 'whitespace', 'inner space'],
  ['quay.io\t', ALL, 'whitespace', 'tab'],
  ['quay.io"\n[x]', [...ALL, 'host'], 'whitespace or control characters', 'TOML table injection with a newline'],
  ['quay.io"]]', ALL, 'host name contains "\\""', 'a quote closing a TOML string'],
  ['m.io/a]]', ALL, 'path component contains "]"', 'brackets closing a TOML array'],
  ['https://quay.io', [...ALL, 'host'], 'URI scheme ("https://")', 'scheme'],
  ['docker://quay.io/ns', ALL, 'URI scheme', 'transport prefix'],
  ['quay.io/ns/repo:v1', ALL, 'must not contain a tag', 'tag on a repository'],
  ['quay.io:latest', ALL, 'port "latest" must be a number (tags are not allowed)', 'tag on a host-only reference'],
  ['quay.io/ns@sha256:abcd', ALL, 'must not contain a digest', 'digest'],
  ['quay.io/NS', ALL, 'path components must be lower case', 'upper-case path'],
  ['quay.io/ns/Repo', ALL, 'path components must be lower case', 'upper-case repository'],
  ['*.quay.io', ['mirror', 'host'], 'wildcards ("*") are allowed only in sources and scopes', 'wildcard mirror'],
  ['*.quay.io/ns', SOURCES, 'wildcard source must be a host name only', 'wildcard with a path'],
  ['*.quay.io:5000', SOURCES, 'wildcard source must be a host name only', 'wildcard with a port'],
  ['quay.*.io', SOURCES, 'only as the leading "*."', 'wildcard in the middle'],
  ['*quay.io', SOURCES, 'only as the leading "*."', 'wildcard without a dot'],
  ['*', SOURCES, 'only as the leading "*."', 'bare star'],
  ['quay.io/', ALL, 'empty component', 'trailing slash'],
  ['quay.io//ns', ALL, 'empty component', 'double slash'],
  ['/etc/containerd', ALL, 'must start with a registry host name', 'absolute path'],
  ['..', [...ALL, 'host'], 'empty label', 'parent directory as a host'],
  ['../../etc', ALL, 'empty label', 'directory escape as a host'],
  ['m.io/../etc', ALL, 'path component ".." is not allowed', 'directory escape in the path'],
  ['m.io/./x', ALL, 'path component "." is not allowed', 'current directory in the path'],
  ['m.io/%2e%2e/x', ALL, 'contains "%"', 'percent-encoded dots'],
  ['%2e%2e', ALL, 'host name contains "%"', 'percent-encoded host'],
  ['m.io/a..b', ALL, 'invalid separator ".."', 'two dots'],
  ['m.io/a___b', ALL, 'invalid separator "___"', 'three underscores'],
  ['m.io/a.-b', ALL, 'invalid separator ".-"', 'mixed separator'],
  ['m.io/-a', ALL, 'must start and end with a lower-case letter or digit', 'leading dash in a component'],
  ['-m.io', ALL, 'must not start or end with "-"', 'leading dash in a label'],
  ['m-.io', ALL, 'must not start or end with "-"', 'trailing dash in a label'],
  ['m.io.', ALL, 'empty label', 'trailing dot'],
  ['m_x.io', ALL, 'host name contains "_"', 'underscore in a host'],
  ['m.io:', ALL, 'port after ":" must not be empty', 'empty port'],
  ['m.io:50a0/x', ALL, 'port "50a0" must be a number', 'non-numeric port'],
  ['[::1]:5000', ALL, 'host name contains "["', 'IPv6 literal (upstream does not allow it)'],
  ['m.io/x', ['host'], 'without a path', 'a host may not have a path'],
];

describe('patterns: source, mirror, scope and host forms (SPEC §1)', () => {
  for (const [value, forms, reason, why] of rows) {
    for (const form of forms) {
      it(`${form} ${JSON.stringify(value)}: ${why}`, () => {
        // Upper-case hosts and length limits: the grammar accepts them, referenceError does not (test/unit/model/cannot-work.test.ts).
        expect(isValidReference(value, form), 'validity').to.equal(reason === undefined);
        if (reason === undefined) expect(referenceError(value, form)).to.equal(undefined);
        else expect(referenceError(value, form)).to.include(reason);
      });
    }
  }

  it('the upstream strings are the regular expressions of the openshift/api CRDs', () => {
    // Spelled out again here so that an accidental edit of patterns.ts fails a test.
    const label = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
    const mirror = `^(${label}(?:(?:\\.${label})+)?(?::[0-9]+)?)(?:(?:/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$`;
    expect(MIRROR_PATTERN).to.equal(mirror);
    expect(SOURCE_PATTERN).to.equal(`^\\*(?:\\.${label})+$|${mirror}`);
    expect(SCOPE_PATTERN).to.equal(SOURCE_PATTERN);
    expect(HOST_PATTERN).to.equal(`^${label}(?:(?:\\.${label})+)?(?::[0-9]+)?$`);
  });

  // Tokens that make valid and nearly valid references likely.
  const token = fc.constantFrom('a', 'b1', 'Z', '0', '.', '-', '--', '_', '__', '/', ':', ':50', '*', '*.', 'io', '@', ' ');
  const candidate = fc.array(token, { maxLength: 9 }).map((t) => t.join(''));

  const pairs: Array<[string, string, RegExp]> = [
    ['mirror', MIRROR_PATTERN, MIRROR_RE],
    ['source', SOURCE_PATTERN, SOURCE_RE],
    ['host', HOST_PATTERN, HOST_RE],
  ];
  for (const [name, upstream, ours] of pairs) {
    it(`the linear-time ${name} expression accepts exactly what the upstream one accepts`, () => {
      const up = new RegExp(upstream);
      fc.assert(
        fc.property(candidate, (s) => up.test(s) === ours.test(s)),
        { numRuns: 20000 },
      );
    });
  }

  it('a valid reference of every form is found by the generator (the property is not vacuous)', () => {
    const samples = fc.sample(candidate, { numRuns: 5000, seed: 1 });
    expect(samples.filter((s) => MIRROR_RE.test(s)).length).to.be.greaterThan(100);
    expect(samples.filter((s) => SOURCE_RE.test(s) && s.startsWith('*')).length).to.be.greaterThan(3);
  });

  it('checks adversarial inputs in linear time (the upstream pattern backtracks exponentially in JavaScript)', () => {
    const inputs = [
      `quay.io/${'a'.repeat(50000)}!`,
      `quay.io/${'a-'.repeat(25000)}!`,
      `quay.io/${'a_'.repeat(25000)}!`,
      `${'a-'.repeat(25000)}!`,
      `${'a.'.repeat(25000)}!`,
      `*.${'a.'.repeat(25000)}/`,
      `quay.io${'/a'.repeat(25000)}/`,
    ];
    for (const s of inputs) {
      for (const form of ['source', 'mirror', 'scope', 'host'] as const) {
        const start = process.hrtime.bigint();
        expect(isValidReference(s, form)).to.equal(false);
        referenceError(s, form);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        expect(ms, `${form} ${s.slice(0, 20)}...`).to.be.lessThan(200);
      }
    }
  });

  it('quotes values with JSON escapes and cuts long ones', () => {
    expect(quote('a"\n]')).to.equal('"a\\"\\n]"');
    expect(quote('x'.repeat(500))).to.have.length(205);
    expect(quote(3)).to.equal('3');
  });
});
