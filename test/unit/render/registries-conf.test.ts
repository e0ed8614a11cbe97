import { expect } from 'chai';
import { parse } from 'smol-toml';
import { merge } from '../../../src/merge/index.js';
import type { MergeInputs, MirrorModel, Pool, RegistryRule } from '../../../src/model/types.js';
import { renderRegistriesConf } from '../../../src/render/registries-conf.js';
import { tomlString } from '../../../src/render/toml.js';
import { access, digest, entry, inputs, orders, origin, scope, tag } from '../merge/build.js';

interface ParsedMirror {
  location: string;
  insecure?: boolean;
  'pull-from-mirror'?: string;
}
interface ParsedRegistry {
  prefix: string;
  location?: string;
  blocked?: boolean;
  insecure?: boolean;
  'mirror-by-digest-only'?: boolean;
  mirror?: ParsedMirror[];
}

function model(i: MergeInputs): MirrorModel {
  const r = merge(i);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

/** Renders, parses back with a real TOML parser, and returns the registries by prefix. */
function registries(m: MirrorModel): Map<string, ParsedRegistry> {
  const doc = parse(renderRegistriesConf(m).content) as { registry?: ParsedRegistry[] };
  return new Map((doc.registry ?? []).map((r) => [r.prefix, r]));
}

function render(i: MergeInputs): Map<string, ParsedRegistry> {
  return registries(model(i));
}

describe('registries.conf (SPEC §3)', () => {
  describe('same shape from either pool', () => {
    const want: Record<Pool, ParsedRegistry> = {
      digest: { prefix: 'quay.io/ns', location: 'quay.io/ns', 'mirror-by-digest-only': true, mirror: [{ location: 'a.io/ns' }, { location: 'b.io/ns' }] },
      tag: {
        prefix: 'quay.io/ns',
        location: 'quay.io/ns',
        mirror: [
          { location: 'a.io/ns', 'pull-from-mirror': 'tag-only' },
          { location: 'b.io/ns', 'pull-from-mirror': 'tag-only' },
        ],
      },
    };
    for (const pool of ['digest', 'tag'] as const) {
      it(`${pool}: ${pool === 'digest' ? 'only digest mirrors use mirror-by-digest-only on the entry' : 'tag mirrors are tag-only per mirror'}`, () => {
        const reg = render(inputs({ entries: [entry(pool, 'quay.io/ns', ['a.io/ns', 'b.io/ns'])] }));
        expect(reg.get('quay.io/ns')).to.deep.equal(want[pool]);
      });
      it(`${pool}: NeverContactSource blocks the source and keeps the mirrors`, () => {
        const reg = render(inputs({ entries: [entry(pool, 'quay.io', ['m.io/q'], { policy: 'NeverContactSource' })] }));
        expect(reg.get('quay.io')?.blocked).to.equal(true);
        expect(reg.get('quay.io')?.mirror?.map((m) => m.location)).to.deep.equal(['m.io/q']);
      });
      it(`${pool}: a wildcard source is a prefix without location`, () => {
        const reg = render(inputs({ entries: [entry(pool, '*.corp.example', ['m.io/cache'])] }));
        const r = reg.get('*.corp.example');
        expect(r?.location).to.equal(undefined);
        expect(r?.mirror?.[0]?.location).to.equal('m.io/cache');
      });
    }
  });

  const table: Array<{ why: string; in: MergeInputs; prefix: string; want: ParsedRegistry }> = [
    {
      why: 'digest and tag mirrors of one source: each mirror says its pull type',
      in: inputs({ entries: [digest('q.io', ['d.io/q']), tag('q.io', ['t.io/q'])] }),
      prefix: 'q.io',
      want: {
        prefix: 'q.io',
        location: 'q.io',
        mirror: [
          { location: 'd.io/q', 'pull-from-mirror': 'digest-only' },
          { location: 't.io/q', 'pull-from-mirror': 'tag-only' },
        ],
      },
    },
    {
      why: 'a mirror in both pools is written once, for all pull types',
      in: inputs({ entries: [digest('q.io', ['a.io/q', 'b.io/q']), tag('q.io', ['b.io/q', 'c.io/q'])] }),
      prefix: 'q.io',
      want: {
        prefix: 'q.io',
        location: 'q.io',
        mirror: [{ location: 'a.io/q', 'pull-from-mirror': 'digest-only' }, { location: 'b.io/q' }, { location: 'c.io/q', 'pull-from-mirror': 'tag-only' }],
      },
    },
    {
      why: 'shared mirrors in different orders per pool are written per pool, keeping both orders',
      in: inputs({ entries: [digest('q.io', ['a.io', 'b.io']), tag('q.io', ['b.io', 'a.io'])] }),
      prefix: 'q.io',
      want: {
        prefix: 'q.io',
        location: 'q.io',
        mirror: [
          { location: 'a.io', 'pull-from-mirror': 'digest-only' },
          { location: 'b.io', 'pull-from-mirror': 'digest-only' },
          { location: 'b.io', 'pull-from-mirror': 'tag-only' },
          { location: 'a.io', 'pull-from-mirror': 'tag-only' },
        ],
      },
    },
    {
      why: 'SPEC §2.5 example: quay.io/ns gets its own digest mirror and the inherited tag mirror',
      in: inputs({ entries: [digest('quay.io', ['d.io/q']), digest('quay.io/ns', ['d2.io/ns']), tag('quay.io', ['t.io/q'])] }),
      prefix: 'quay.io/ns',
      want: {
        prefix: 'quay.io/ns',
        location: 'quay.io/ns',
        mirror: [
          { location: 'd2.io/ns', 'pull-from-mirror': 'digest-only' },
          { location: 't.io/q/ns', 'pull-from-mirror': 'tag-only' },
        ],
      },
    },
    {
      why: 'a blocked scope is blocked; an insecure one is insecure',
      in: inputs({ blocked: [scope('bad.io')], insecure: [scope('bad.io')] }),
      prefix: 'bad.io',
      want: { prefix: 'bad.io', location: 'bad.io', blocked: true, insecure: true },
    },
    {
      why: 'a mirror inside an insecure scope is marked insecure; the source is not',
      in: inputs({ entries: [digest('q.io', ['lab.corp:5000/q', 'ok.io/q'])], insecure: [scope('lab.corp:5000')] }),
      prefix: 'q.io',
      want: {
        prefix: 'q.io',
        location: 'q.io',
        'mirror-by-digest-only': true,
        mirror: [{ location: 'lab.corp:5000/q', insecure: true }, { location: 'ok.io/q' }],
      },
    },
    {
      why: 'a mirror on a host reached over plain HTTP is marked insecure',
      in: inputs({ entries: [tag('q.io', ['lab.corp/q'])], access: [access('lab.corp', { plainHTTP: true })] }),
      prefix: 'q.io',
      want: { prefix: 'q.io', location: 'q.io', mirror: [{ location: 'lab.corp/q', insecure: true, 'pull-from-mirror': 'tag-only' }] },
    },
    {
      why: 'the default mirror is appended for listed registries, switching a digest-only entry to per-mirror form',
      in: inputs({
        entries: [digest('docker.io/library', ['d.io/lib'])],
        defaultMirror: { mirror: 'cache.corp/hub', registries: ['docker.io'], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' },
      }),
      prefix: 'docker.io/library',
      want: {
        prefix: 'docker.io/library',
        location: 'docker.io/library',
        mirror: [{ location: 'd.io/lib', 'pull-from-mirror': 'digest-only' }, { location: 'cache.corp/hub/library' }],
      },
    },
    {
      why: 'the default mirror gets an entry for a listed registry without one',
      in: inputs({
        defaultMirror: { mirror: 'cache.corp/hub', registries: ['docker.io'], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' },
      }),
      prefix: 'docker.io',
      want: { prefix: 'docker.io', location: 'docker.io', mirror: [{ location: 'cache.corp/hub' }] },
    },
    {
      why: 'the default mirror already used by one pool is added only for the other',
      in: inputs({
        entries: [digest('docker.io', ['cache.corp/hub'])],
        defaultMirror: { mirror: 'cache.corp/hub', registries: ['docker.io'], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' },
      }),
      prefix: 'docker.io',
      want: {
        prefix: 'docker.io',
        location: 'docker.io',
        mirror: [
          { location: 'cache.corp/hub', 'pull-from-mirror': 'digest-only' },
          { location: 'cache.corp/hub', 'pull-from-mirror': 'tag-only' },
        ],
      },
    },
  ];
  for (const row of table) {
    it(row.why, () => {
      for (const entries of orders(row.in.entries)) {
        expect(render({ ...row.in, entries }).get(row.prefix)).to.deep.equal(row.want);
      }
    });
  }

  it('starts with a header comment, then one [[registry]] per rule in source order, and no search list', () => {
    const m = model(inputs({ entries: [digest('z.io', ['m.io']), tag('a.io', ['m.io'])], blocked: [scope('m.io/x')] }));
    const content = renderRegistriesConf(m).content;
    expect(content.split('\n')[0]).to.match(/^# Generated by image-mirror/);
    expect(content).to.not.include('unqualified-search-registries');
    expect([...registries(m).keys()]).to.deep.equal(['a.io', 'm.io/x', 'z.io']);
    expect(content.endsWith('\n') && !content.endsWith('\n\n')).to.equal(true);
  });

  it('an empty model is a valid file with only the header', () => {
    const content = renderRegistriesConf(model(inputs())).content;
    expect(parse(content)).to.deep.equal({});
  });

  it('warns that registries.conf has no catch-all when the default mirror lists no registries', () => {
    const defaultMirror = { mirror: 'cache.corp', registries: [], origin: origin('RegistryAccess', 'a'), field: 'spec.defaultMirror' };
    const { warnings } = renderRegistriesConf(model(inputs({ defaultMirror })));
    expect(warnings.map((w) => [w.code, w.renderer, w.mirror])).to.deep.equal([['NoCatchAllInRegistriesConf', 'registries.conf', 'cache.corp']]);
    const listed = renderRegistriesConf(model(inputs({ defaultMirror: { ...defaultMirror, registries: ['docker.io'] } })));
    expect(listed.warnings).to.deep.equal([]);
  });

  it('warns when an equally long wildcard prefix would shadow an exact host', () => {
    // WildcardPort warnings about *.corp.io itself are left out here (test/unit/model/cannot-work.test.ts).
    const ties = (r: ReturnType<typeof renderRegistriesConf>): string[][] => r.warnings.filter((w) => w.code !== 'WildcardPort').map((w) => [w.code, w.source]);
    expect(ties(renderRegistriesConf(model(inputs({ entries: [digest('*.corp.io', ['w.io']), tag('a.corp.io', ['t.io'])] }))))).to.deep.equal([
      ['NotExpressible', 'a.corp.io'],
    ]);
    expect(ties(renderRegistriesConf(model(inputs({ entries: [digest('*.corp.io', ['w.io']), tag('ab.corp.io', ['t.io'])] }))))).to.deep.equal([]);
  });

  it('never combines mirror-by-digest-only with pull-from-mirror in one entry', () => {
    const rules: RegistryRule[] = [
      { source: 'a.io', digestMirrors: ['m.io'], tagMirrors: [], neverContactSource: false, blocked: false, insecure: false },
      { source: 'b.io', digestMirrors: ['m.io'], tagMirrors: ['m.io'], neverContactSource: false, blocked: false, insecure: false },
      { source: 'c.io', digestMirrors: ['m.io'], tagMirrors: ['n.io'], neverContactSource: false, blocked: false, insecure: false },
    ];
    for (const r of registries({ rules, insecureScopes: [], access: [], contributors: [] }).values()) {
      const perMirror = (r.mirror ?? []).some((m) => m['pull-from-mirror'] !== undefined);
      expect(perMirror && r['mirror-by-digest-only'] === true, r.prefix).to.equal(false);
    }
  });

  describe('TOML string escaping', () => {
    const table: Array<[string, string]> = [
      ['plain', 'quay.io/ns'],
      ['double quote', 'a"b'],
      ['backslash', 'a\\b'],
      ['newline and tab', 'a\nb\tc'],
      ['other control characters', 'a\u0000b\u001fc\u007f'],
      ['non-ASCII', 'grüße ✓ 🐳'],
    ];
    for (const [why, value] of table) {
      it(`round-trips ${why}`, () => {
        expect(parse(`k = ${tomlString(value)}`)).to.deep.equal({ k: value });
      });
    }
  });
});
