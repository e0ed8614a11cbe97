// The CRDs' validation on the real API server (Kubernetes 1.34): a bad
// source, mirror, scope or host is refused with a message in the operator's
// own words, naming the value (CEL x-kubernetes-validations); the upstream
// pattern still refuses what no rule describes; the bounds the rules need
// are enforced. Requests are dry runs: nothing is stored.
import { expect } from 'chai';
import { kube } from './hooks.js';
import { errorMessage, statusCode, type Kube } from './lib/kube.js';

const GROUP = 'imagemirror.io';
const VERSION = 'v1alpha1';

type Plural = 'imagedigestmirrorsets' | 'imagetagmirrorsets' | 'registryaccesses';
const KINDS: Record<Plural, string> = {
  imagedigestmirrorsets: 'ImageDigestMirrorSet',
  imagetagmirrorsets: 'ImageTagMirrorSet',
  registryaccesses: 'RegistryAccess',
};

/** Creates (dry run) and returns the API server's message, or undefined when it accepts the object. */
async function admission(k: Kube, plural: Plural, spec: Record<string, unknown>): Promise<string | undefined> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: KINDS[plural], metadata: { name: 'admission-check' }, spec };
  try {
    await k.custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural, body, dryRun: 'All' });
    return undefined;
  } catch (err) {
    expect(statusCode(err), errorMessage(err)).to.equal(422);
    return errorMessage(err);
  }
}

const entry = (source: string, mirrors: string[]): Record<string, unknown> => ({ source, mirrors });

// [what, object kind, spec, the words of the refusal (undefined: accepted)]
const CASES: [string, Plural, Record<string, unknown>, string | undefined][] = [
  [
    'a valid IDMS',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('quay.io/ocp', ['mirror.corp:5000/ocp']), entry('*.redhat.io', ['m.io'])] },
    undefined,
  ],
  [
    'a scheme in a source',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('https://quay.io/ns', ['m.io/ns'])] },
    'spec.imageDigestMirrors[0].source: Invalid value: "string": invalid source "https://quay.io/ns": must not contain a URI scheme',
  ],
  [
    'a scheme in a mirror',
    'imagetagmirrorsets',
    { imageTagMirrors: [entry('quay.io/ns', ['http://m.io/ns'])] },
    'invalid mirror "http://m.io/ns": must not contain a URI scheme',
  ],
  ['a tag on a mirror', 'imagetagmirrorsets', { imageTagMirrors: [entry('quay.io/ns', ['m.io/ns:v1'])] }, 'must not contain a tag (":tag")'],
  ['a digest on a source', 'imagedigestmirrorsets', { imageDigestMirrors: [entry('quay.io/ns@sha256:0123', ['m.io/ns'])] }, 'must not contain a digest'],
  [
    'upper case in a path',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('quay.io/OCP', ['m.io/ocp'])] },
    'invalid source "quay.io/OCP": path components must be lower case',
  ],
  [
    'upper case in a host (the pattern allows it)',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('Quay.io/foo', ['m.io/foo'])] },
    'invalid source "Quay.io/foo": host names must be lower case',
  ],
  ['a trailing slash', 'imagetagmirrorsets', { imageTagMirrors: [entry('quay.io/ns/', ['m.io/ns'])] }, 'path has an empty component'],
  ['a wildcard mirror', 'imagetagmirrorsets', { imageTagMirrors: [entry('*.quay.io', ['*.m.io'])] }, 'wildcards ("*") are allowed only in sources and scopes'],
  [
    'a bare-host mirror of a repository source',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('example.com/ns/app', ['m1.mirror'])] },
    'spec.imageDigestMirrors[0]: Invalid value: "object": every mirror of a source with a repository path needs a path too',
  ],
  [
    'a mistake no rule describes: the pattern still refuses it',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry('quay.io/a..b', ['m.io/x'])] },
    'spec.imageDigestMirrors[0].source in body should match',
  ],
  ['a host with a path', 'registryaccesses', { hosts: [{ host: 'mirror.corp/ns' }] }, 'invalid host "mirror.corp/ns": must be host[:port] without a path'],
  [
    'a scope with a scheme',
    'registryaccesses',
    { insecureRegistries: ['https://lab.corp'] },
    'invalid scope "https://lab.corp": must not contain a URI scheme',
  ],
  [
    'an upper-case default mirror registry',
    'registryaccesses',
    { defaultMirror: { mirror: 'cache.corp/hub', registries: ['Docker.io'] } },
    'host names must be lower case',
  ],
  [
    'a valid RegistryAccess',
    'registryaccesses',
    {
      hosts: [{ host: 'mirror.corp:5000', plainHTTP: true }],
      blockedRegistries: ['*.bad.example'],
      defaultMirror: { mirror: 'cache.corp/hub', registries: ['docker.io'] },
    },
    undefined,
  ],
  [
    'a reference longer than any image reference',
    'imagedigestmirrorsets',
    { imageDigestMirrors: [entry(`quay.io/${'a'.repeat(250)}`, ['m.io/x'])] },
    'Too long: may not be',
  ],
  [
    'more entries than the bound',
    'imagetagmirrorsets',
    { imageTagMirrors: Array.from({ length: 1001 }, (_, i) => entry(`r${i}.io`, ['m.io'])) },
    'Too many: 1001: must have at most 1000 items',
  ],
];

describe('CRD validation on the API server', function () {
  let k: Kube;
  before(() => {
    k = kube();
  });

  for (const [what, plural, spec, words] of CASES) {
    it(`${KINDS[plural]}: ${what}: ${words === undefined ? 'accepted' : 'refused in our words'}`, async () => {
      const message = await admission(k, plural, spec);
      if (words === undefined) expect(message).to.equal(undefined);
      else expect(message, message).to.be.a('string').and.include(words);
    });
  }

  it('one message per mistake: a value with a scheme gets our message once, beside the pattern', async () => {
    const message = (await admission(k, 'imagedigestmirrorsets', { imageDigestMirrors: [entry('https://Quay.io/NS', ['m.io/ns'])] }))!;
    expect(message.split('invalid source "https://Quay.io/NS"').length - 1, message).to.equal(1);
    expect(message).to.include('must not contain a URI scheme');
  });
});
