// Smoke variant of bench/render-scale.ts: the benchmark's inputs at a small
// size render correctly (checked against an expectation computed apart from
// src/merge), and `gather` on the equivalent objects yields the same files.
// No timing is asserted here; bench/RESULTS.md holds the figures.
import { expect } from 'chai';
import fc from 'fast-check';
import { parse as parseToml } from 'smol-toml';
import { merge } from '../../src/merge/index.js';
import { gather } from '../../src/model/gather.js';
import { render } from '../../src/render/index.js';
import { isPlainRegistriesConf } from '../../src/render/registries-conf-check.js';
import { measureSize, mergeAndRender, PHASES } from '../../bench/lib/render-bench.js';
import { checkRendering } from '../../bench/lib/render-check.js';
import { clusterObjectSource, mirrorSetObjects, nodePoolObjectSource, renderScaleInputs, sourceSpecs } from '../../bench/lib/render-inputs.js';
import { median, percentile } from '../../bench/lib/stats.js';
import type { ObjectSource, Target } from '../../src/model/source.js';
import { digest, inputs, scope, tag } from './merge/build.js';

const N = 200;

function renderedFrom(src: ObjectSource, target: Target): Map<string, string> {
  const g = gather(src, target);
  expect(g.problems, JSON.stringify(g.problems.slice(0, 3))).to.deep.equal([]);
  const merged = merge(g.inputs);
  if (!merged.ok) throw new Error(merged.errors[0]?.message);
  return new Map(render(merged.value).files.map((f) => [f.key, f.content]));
}

describe('bench smoke: render-scale', () => {
  it('the generated inputs have the documented shape: N sources, 10% nested, half with tag mirrors', () => {
    const specs = sourceSpecs(N);
    expect(new Set(specs.map((s) => s.source)).size).to.equal(N);
    expect(specs.filter((s) => s.parent !== undefined)).to.have.length(N / 10);
    expect(specs.every((s) => s.digest.length === 3)).to.equal(true);
    expect(specs.filter((s) => s.tag.length === 2)).to.have.length(N / 2);
  });

  it(`renders every one of ${N} sources with exactly its mirrors per pull type, and a hosts.toml per registry host`, () => {
    expect(checkRendering(N, mergeAndRender(renderScaleInputs(N)))).to.deep.equal([]);
  });

  it('the check fails when a source is missing or its mirrors differ (control)', () => {
    const inputs = renderScaleInputs(N);
    const dropped = { ...inputs, entries: inputs.entries.filter((e) => e.source !== 'registry3.example.com/team3') };
    expect(checkRendering(N, mergeAndRender(dropped))).to.include('registries.conf: no entry for registry3.example.com/team3');
    const swapped = {
      ...inputs,
      entries: inputs.entries.map((e) => (e.source === 'registry4.example.com/team4' && e.pool === 'tag' ? { ...e, mirrors: [...e.mirrors].reverse() } : e)),
    };
    expect(checkRendering(N, mergeAndRender(swapped)).join('\n')).to.include('registry4.example.com/team4: tag mirrors');
  });

  it('gather on the equivalent objects (cluster-scoped sets, NodePool config YAML) gives the same registries.conf', () => {
    const direct = mergeAndRender(renderScaleInputs(N)).files.find((f) => f.key === 'registries.conf')?.content;
    const cluster = renderedFrom(clusterObjectSource(mirrorSetObjects(N)), { kind: 'Cluster' });
    const nodePool = renderedFrom(nodePoolObjectSource(N), { kind: 'NodePool', namespace: 'clusters', name: 'bench-pool' });
    expect(direct).to.be.a('string');
    expect(cluster.get('registries.conf')).to.equal(direct);
    expect(nodePool.get('registries.conf')).to.equal(direct);
  });

  it('measureSize records one sample per run for every phase', () => {
    const r = measureSize(50, 2, 0);
    for (const p of PHASES) expect(r.samples[p], p).to.have.length(2);
    expect(r.files).to.be.greaterThan(1);
  });

  it('median and percentile use the documented definitions', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).to.equal(50);
    expect(percentile(hundred, 99)).to.equal(99);
    expect(percentile([5], 99)).to.equal(5);
  });
});

// render/index.ts skips the full TOML parse-back of registries.conf when this
// check accepts the file (the render-scale benchmark's hot spot): it must
// never accept text that is not valid TOML.
describe('registries.conf fast check (render parse-back)', () => {
  const HEADERS = ['[[registry]]', '[[registry.mirror]]', '[registry]', '', '# comment', '#\ttab', '# bell \u0007'];
  const LINES = [
    'prefix = "quay.io/a"',
    'location = "quay.io/a"',
    'location = "m.io/a"',
    'location = "bad\\"escape"',
    'location = "x\ty"',
    'blocked = true',
    'insecure = false',
    'mirror-by-digest-only = true',
    'pull-from-mirror = "digest-only"',
    'mirror = "x"',
    'registry = "x"',
    'unqualified-search-registries = ["a"]',
    'prefix = "\ud800"',
    'prefix = true ',
    ' prefix = "a"',
    'location = "\u00fc.example"',
  ];
  // Documents as tables (a header and a few lines each), so that many are accepted.
  const documents = fc
    .array(fc.tuple(fc.constantFrom(...HEADERS), fc.array(fc.constantFrom(...LINES), { maxLength: 4 })), { maxLength: 8 })
    .map((tables) => `${tables.flatMap(([header, lines]) => [header, ...lines]).join('\n')}\n`);

  it('accepts only valid TOML (property over tables in and outside the subset)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(documents, (text) => {
        if (!isPlainRegistriesConf(text)) return;
        accepted++;
        expect(() => parseToml(text), text).not.to.throw();
      }),
      { numRuns: 3000 },
    );
    expect(accepted, 'documents accepted by the check').to.be.greaterThan(300);
  });

  it('accepts files using every key the writer knows (so render() takes the fast path for them)', () => {
    const merged = merge(
      inputs({
        entries: [
          digest('quay.io/a', ['m.io/a', 'lab.io/a']),
          tag('quay.io/a', ['t.io/a']),
          digest('quay.io/b', ['m.io/b'], { policy: 'NeverContactSource' }),
          tag('*.corp.io', ['t.io/corp']),
        ],
        insecure: [scope('lab.io'), scope('quay.io/a')],
        blocked: [scope('docker.io')],
      }),
    );
    if (!merged.ok) throw new Error(merged.errors[0]?.message);
    const conf = render(merged.value).files.find((f) => f.key === 'registries.conf')!.content;
    for (const key of [
      'blocked = true',
      'insecure = true',
      'mirror-by-digest-only = true',
      'pull-from-mirror = "digest-only"',
      'pull-from-mirror = "tag-only"',
    ]) {
      expect(conf).to.include(key);
    }
    expect(isPlainRegistriesConf(conf)).to.equal(true);
  });

  it("rejects keys in another order than the writer's (left to the full parse)", () => {
    expect(isPlainRegistriesConf('[[registry]]\nprefix = "a"\nlocation = "a"\n')).to.equal(true);
    expect(isPlainRegistriesConf('[[registry]]\nlocation = "a"\nprefix = "a"\n')).to.equal(false);
    expect(isPlainRegistriesConf('[[registry]]\nprefix = "a"\n\nlocation = "a"\n')).to.equal(false);
  });

  it('accepts the rendered benchmark file and rejects duplicate keys, keys outside a table and orphan mirrors', () => {
    const conf = mergeAndRender(renderScaleInputs(N)).files.find((f) => f.key === 'registries.conf')!.content;
    expect(isPlainRegistriesConf(conf)).to.equal(true);
    expect(isPlainRegistriesConf('[[registry]]\nprefix = "a"\nprefix = "b"\n')).to.equal(false);
    expect(isPlainRegistriesConf('prefix = "a"\n')).to.equal(false);
    expect(isPlainRegistriesConf('[[registry.mirror]]\nlocation = "a"\n')).to.equal(false);
    expect(isPlainRegistriesConf('[[registry]]\r\nprefix = "a"\r\n')).to.equal(false);
  });
});
