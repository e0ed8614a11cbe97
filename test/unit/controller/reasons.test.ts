// Every condition type and reason the operator and the agent set, and every
// Event reason, is documented: in docs/api.md (docs/agent.md for the agent)
// and in the description of the CRD field that carries it. A reason added to
// the code without its documentation fails here.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CONDITION_REASONS, EVENT_REASONS } from '../../../src/agent/report.js';
import { PLAN_ERROR_REASONS } from '../../../src/agent/plan.js';
import { PROBE_CONDITION, PROBE_CONDITION_REASONS, PROBE_EVENT_REASONS } from '../../../src/agent/probe/summary.js';
import { NODE_CONDITION_TYPE } from '../../../src/contract.js';
import {
  AMBIGUOUS_REASONS,
  APPLIED_REASONS,
  CONDITION_TYPES,
  DELIVERED_REASONS,
  DELIVERY_EVENT_REASONS,
  NORMAL_EVENT_REASONS,
  NOT_DEGRADED,
  PROBLEM_REASONS,
  READY_REASONS,
  VALID,
} from '../../../src/controller/reasons.js';
import { crdSchema, documents, str } from '../crds/manifests.js';

const doc = (name: string): string => readFileSync(new URL(`../../../../docs/${name}`, import.meta.url), 'utf8');
const API = doc('api.md');
const AGENT = doc('agent.md');

/** The description of status.conditions in a CRD. */
function conditionsDescription(file: string): string {
  const crd = documents(file)[0];
  return str(crdSchema(crd ?? {}), 'properties', 'status', 'properties', 'conditions', 'description');
}

/** The row of the conditions table of docs/api.md for `kinds` and condition `type`. */
function apiRow(kinds: string, type: string): string {
  const row = API.split('\n').find((l) => l.startsWith(`| ${kinds} | \`${type}\` |`));
  if (!row) throw new Error(`docs/api.md has no conditions row for ${kinds} ${type}`);
  return row;
}

const mentions = (text: string, word: string): boolean => new RegExp(`\\b${word}\\b`).test(text);

const OBJECT_CRDS = [
  'crds/imagemirror.io_imagedigestmirrorsets.yaml',
  'crds/imagemirror.io_imagetagmirrorsets.yaml',
  'crds/imagemirror.io_registryaccesses.yaml',
];
const RMC_CRD = 'crds/imagemirror.io_renderedmirrorconfigs.yaml';

describe('reasons are documented (docs/api.md, docs/agent.md, CRDs)', () => {
  const table: Array<{ why: string; words: readonly string[]; docs: Array<[string, string]> }> = [
    { why: 'condition types, in the API reference and their CRDs', words: CONDITION_TYPES, docs: [['docs/api.md', API]] },
    {
      why: 'Ready reasons, in its row and the RenderedMirrorConfig CRD',
      words: READY_REASONS,
      docs: [
        ['docs/api.md Ready row', apiRow('RenderedMirrorConfig', 'Ready')],
        [RMC_CRD, conditionsDescription(RMC_CRD)],
      ],
    },
    {
      why: 'Degraded=False, in its row and the RenderedMirrorConfig CRD',
      words: [NOT_DEGRADED],
      docs: [
        ['docs/api.md Degraded row', apiRow('RenderedMirrorConfig', 'Degraded')],
        [RMC_CRD, conditionsDescription(RMC_CRD)],
      ],
    },
    {
      why: 'AmbiguousInputs reasons, in its row and the RenderedMirrorConfig CRD',
      words: [...AMBIGUOUS_REASONS, NOT_DEGRADED],
      docs: [
        ['docs/api.md AmbiguousInputs row', apiRow('RenderedMirrorConfig (NodePool targets)', 'AmbiguousInputs')],
        [RMC_CRD, conditionsDescription(RMC_CRD)],
      ],
    },
    {
      why: 'Accepted=True, in the object rows and every object CRD',
      words: [VALID, 'Accepted'],
      docs: [
        ['docs/api.md Accepted row', apiRow('IDMS, ITMS', 'Accepted')],
        ['docs/api.md Accepted row', apiRow('RegistryAccess', 'Accepted')],
        ...OBJECT_CRDS.map((f): [string, string] => [f, conditionsDescription(f)]),
      ],
    },
    {
      why: 'Applied reasons, in their row and every object CRD',
      words: APPLIED_REASONS,
      docs: [
        ['docs/api.md Applied row', apiRow('IDMS, ITMS, RegistryAccess', 'Applied')],
        ...OBJECT_CRDS.map((f): [string, string] => [f, conditionsDescription(f)]),
      ],
    },
    {
      why: 'problem reasons (Degraded, Accepted=False, Warning Events), in the reasons table',
      words: PROBLEM_REASONS.map(String),
      docs: [['docs/api.md', API.slice(API.indexOf('Problem reasons'))]],
    },
    {
      why: 'Delivered reasons, in its row and the RenderedMirrorConfig CRD',
      words: DELIVERED_REASONS,
      docs: [
        ['docs/api.md Delivered row', apiRow('RenderedMirrorConfig (NodePool targets)', 'Delivered')],
        [RMC_CRD, conditionsDescription(RMC_CRD)],
      ],
    },
    { why: 'Normal Event reasons of the operator', words: NORMAL_EVENT_REASONS, docs: [['docs/api.md', API.slice(API.indexOf('Events:'))]] },
    { why: 'Event reasons about NodePool delivery', words: DELIVERY_EVENT_REASONS, docs: [['docs/api.md', API.slice(API.indexOf('Events:'))]] },
    { why: 'the agent Node condition and its reasons', words: [NODE_CONDITION_TYPE, ...CONDITION_REASONS], docs: [['docs/agent.md', AGENT]] },
    { why: 'the agent Node Event reasons', words: EVENT_REASONS, docs: [['docs/agent.md', AGENT]] },
    { why: 'the reasons the agent rejects a publication for', words: PLAN_ERROR_REASONS, docs: [['docs/agent.md', AGENT]] },
    {
      why: 'the agent mirror probe condition, its reasons and Event reasons',
      words: [PROBE_CONDITION, ...PROBE_CONDITION_REASONS, ...PROBE_EVENT_REASONS],
      docs: [['docs/agent.md', AGENT]],
    },
  ];
  for (const { why, words, docs } of table) {
    it(why, () => {
      const missing = docs.flatMap(([where, text]) => words.filter((w) => !mentions(text, w)).map((w) => `${w} not in ${where}`));
      expect(missing).to.deep.equal([]);
    });
  }

  it('a reason the code does not have is not in the reasons table (control: the check can fail)', () => {
    expect(mentions(API.slice(API.indexOf('Problem reasons')), 'NoSuchReason')).to.equal(false);
  });
});
