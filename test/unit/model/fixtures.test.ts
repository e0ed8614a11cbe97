// The bad-input corpus: every file in test/fixtures/invalid starts with
// `# expect: <Reason>: <substring>`; reading it the way the CLI does (load,
// gather every target, merge) must report that reason with a message that
// contains the substring, and no message may carry a stack trace.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { merge } from '../../../src/merge/index.js';
import { FileObjectSource, loadPaths, uniqueProblems } from '../../../src/model/files.js';
import { gather } from '../../../src/model/gather.js';
import { MAX_DOCUMENT_BYTES } from '../../../src/model/parse.js';
import type { Gathered, Target } from '../../../src/model/source.js';
import { formatProblem, type Problem } from '../../../src/model/types.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

interface Checked {
  problems: Problem[];
  gathered: Gathered[];
}

/** Everything the CLI would report for `paths`: load, then gather and merge every target. */
function check(paths: string[]): Checked {
  const loaded = loadPaths(paths);
  const problems = [...loaded.problems];
  const src = new FileObjectSource(loaded.objects);
  const targets: Target[] = [
    { kind: 'Cluster' },
    ...src.nodePools().map((np): Target => ({ kind: 'NodePool', namespace: np.metadata.namespace ?? '', name: np.metadata.name })),
  ];
  const gathered = targets.map((t) => gather(src, t));
  for (const g of gathered) {
    problems.push(...g.problems);
    if (g.problems.length > 0) continue;
    const merged = merge(g.inputs);
    if (!merged.ok) problems.push(...merged.errors);
  }
  return { problems: uniqueProblems(problems), gathered };
}

function expectation(text: string): { reason: string; substring: string } | undefined {
  const m = /^# expect: ([A-Za-z]+): (.+)$/m.exec(text);
  return m ? { reason: m[1]!, substring: m[2]! } : undefined;
}

function assertClean(problems: Problem[]): void {
  for (const p of problems) {
    const line = formatProblem(p);
    expect(line, 'a stack trace').to.not.match(/\n\s+at /);
    expect(line, 'one line per problem').to.not.include('\n');
  }
}

describe('fixtures: the bad-input corpus (test/fixtures/invalid)', () => {
  const dir = join(FIXTURES, 'invalid');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  it('holds at least 30 files, each with an expectation', () => {
    expect(files.length).to.be.at.least(30);
    for (const f of files) expect(expectation(readFileSync(join(dir, f), 'utf8')), f).to.not.equal(undefined);
  });

  for (const file of files) {
    const path = join(dir, file);
    const want = expectation(readFileSync(path, 'utf8'));
    it(`${file}: ${want?.reason}: ${want?.substring}`, () => {
      const { problems } = check([path]);
      const lines = problems.map((p) => `${p.reason} | ${formatProblem(p)}`);
      expect(lines.length, 'no problem was reported').to.be.greaterThan(0);
      const hit = problems.some((p) => p.reason === want!.reason && formatProblem(p).includes(want!.substring));
      expect(hit, `expected ${want!.reason} containing ${JSON.stringify(want!.substring)}; got:\n${lines.join('\n')}`).to.equal(true);
      assertClean(problems);
    });
  }

  it('a document over 1 MiB (written at test time, to keep the repository small)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'model-fixtures-'));
    try {
      const big = join(tmp, 'big.yaml');
      const mirrors = Array.from({ length: MAX_DOCUMENT_BYTES / 16 }, (_, i) => `    - m${String(i).padStart(6, '0')}.io`).join('\n');
      writeFileSync(
        big,
        `apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata: {name: big}\nspec:\n  imageDigestMirrors:\n  - source: quay.io\n    mirrors:\n${mirrors}\n`,
      );
      const { problems } = check([big]);
      expect(problems.map((p) => [p.reason, p.message])).to.deep.equal([
        ['DocumentTooLarge', `${big}:1: document is 1.06 MiB, over the 1 MiB limit of a ConfigMap`],
      ]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('fixtures: valid examples (test/fixtures/valid)', () => {
  const dir = join(FIXTURES, 'valid');
  const files = readdirSync(dir).sort();

  it('holds a few examples', () => {
    expect(files.length).to.be.at.least(3);
  });

  for (const file of files) {
    it(`${file} loads, gathers and merges without problems`, () => {
      expect(check([join(dir, file)]).problems.map(formatProblem)).to.deep.equal([]);
    });
  }

  it('the whole directory at once: every example contributes to some target', () => {
    const { problems, gathered } = check([dir]);
    expect(problems.map(formatProblem)).to.deep.equal([]);
    const contributors = new Set(gathered.flatMap((g) => g.inputs.contributors.map((o) => o.name)));
    for (const name of [
      'release-digests',
      'hub-tags',
      'cluster',
      'prod',
      'prod-gpu',
      'prod-mirrors',
      'prod-digests',
      'gpu-drivers',
      'corp-mirror',
      'corp-pull',
      'gpu-images',
      'legacy-icsp',
    ]) {
      expect(contributors, name).to.include(name);
    }
    const gpu = gathered.find((g) => g.nodePool?.metadata.name === 'prod-gpu')!;
    expect(gpu.inputs.entries.map((e) => `${e.pool} ${e.source}`)).to.include.members([
      'digest quay.io/openshift-release-dev/ocp-v4.0-art-dev',
      'digest registry.example.com/team',
      'tag ghcr.io',
      'digest nvcr.io/nvidia',
      'digest nvcr.io/nvidia/k8s',
      'digest quay.io/openshift-release-dev/ocp-release',
    ]);
    expect(gpu.inputs.access.map((a) => [a.host, a.auth?.username, Boolean(a.caPEM), Boolean(a.clientCert)])).to.deep.equal([
      ['mirror.corp.example:5000', 'puller', true, true],
      ['lab.corp.example:5000', undefined, false, false],
    ]);
    const cluster = gathered.find((g) => !g.nodePool)!;
    expect(cluster.inputs.entries.map((e) => e.source)).to.not.include('nvcr.io/nvidia/k8s');
  });
});
