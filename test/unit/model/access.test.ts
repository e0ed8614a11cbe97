import { expect } from 'chai';
import { readKey, readRegistryAccess, type Lookup } from '../../../src/model/access.js';
import { originOf, type KubeObject } from '../../../src/model/source.js';
import type { Reason } from '../../../src/model/types.js';
import { TEST_CA2_PEM, TEST_CA_PEM, TEST_CLIENT_CERT_PEM, TEST_CLIENT_KEY_PEM, TEST_OTHER_KEY_PEM } from '../../lib/pki.js';

const CA = TEST_CA_PEM;
const CERT = TEST_CLIENT_CERT_PEM;
const KEY = TEST_CLIENT_KEY_PEM;
/** The base64 body of the client key, to prove it never appears where it must not. */
const KEY_BODY = KEY.split('\n')[1]!;
/** A bundle with comments around its certificates, as Mozilla's cacert.pem has. */
const COMMENTED = `# Test CA\n${CA}\nSecond test CA\n==============\n${TEST_CA2_PEM}`;
const pemBlock = (type: string, body: string): string => `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
const PASSWORD = 'S3cr3t-pa55';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function secret(name: string, type: string | undefined, data: Record<string, string>, stringData?: Record<string, string>): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, data };
  if (type) o.type = type;
  if (stringData) o.stringData = stringData;
  return o;
}

function configMap(name: string, data: Record<string, string>, binaryData?: Record<string, string>): KubeObject {
  const o: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data };
  if (binaryData) o.binaryData = binaryData;
  return o;
}

const dockerJSON = (auths: Record<string, unknown>): string => JSON.stringify({ auths });

const OBJECTS: KubeObject[] = [
  configMap(
    'ca',
    {
      'ca.crt': CA,
      'not-pem': 'hello',
      'commented.crt': COMMENTED,
      'with-key.crt': CA + KEY,
      'fake.crt': pemBlock('CERTIFICATE', 'TUlJQnRlc3Q='),
      'unterminated.crt': `${CA}-----BEGIN CERTIFICATE-----\nMIIB\n`,
      'csr.crt': pemBlock('CERTIFICATE REQUEST', 'TUlJQnRlc3Q='),
    },
    { 'bin.crt': b64(CA) },
  ),
  secret('ca-with-key', undefined, { 'ca.crt': b64(`${CA}${KEY}`) }),
  secret('ca-secret', undefined, { 'ca.crt': b64(CA) }),
  secret('docker', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64(dockerJSON({ 'm.io:5000': { auth: b64(`user:${PASSWORD}`) } })) }),
  secret(
    'docker-url',
    'kubernetes.io/dockerconfigjson',
    {},
    {
      '.dockerconfigjson': dockerJSON({ 'https://m.io:5000/v2/': { username: 'u2', password: PASSWORD } }),
    },
  ),
  secret('docker-hub', 'kubernetes.io/dockerconfigjson', {
    '.dockerconfigjson': b64(dockerJSON({ 'https://index.docker.io/v1/': { auth: b64(`hub:${PASSWORD}`) } })),
  }),
  secret('docker-other', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64(dockerJSON({ 'other.io': { auth: b64(`x:${PASSWORD}`) } })) }),
  secret('docker-badjson', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64(`{"auths": ${PASSWORD}`) }),
  secret('docker-badauth', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64(dockerJSON({ 'm.io:5000': { auth: b64(PASSWORD) } })) }),
  secret('dockercfg', 'kubernetes.io/dockercfg', { '.dockercfg': b64(JSON.stringify({ 'm.io:5000': { auth: b64(`old:${PASSWORD}`) } })) }),
  secret('basic', 'kubernetes.io/basic-auth', { username: b64('bob'), password: b64(PASSWORD) }),
  secret('basic-nopw', 'kubernetes.io/basic-auth', { username: b64('bob') }),
  secret('basic-colon', 'kubernetes.io/basic-auth', { username: b64('bo:b'), password: b64(PASSWORD) }),
  secret('opaque-basic', 'Opaque', {}, { username: 'carol', password: PASSWORD }),
  secret('untyped-empty', undefined, { something: b64(PASSWORD) }),
  secret('bad-base64', 'kubernetes.io/basic-auth', { username: 'not base64!', password: b64(PASSWORD) }),
  secret('tls', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) }),
  secret('tls-badkey', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(PASSWORD) }),
  secret('tls-key-in-crt', 'kubernetes.io/tls', { 'tls.crt': b64(CERT + KEY), 'tls.key': b64(KEY) }),
  secret('tls-chain', 'kubernetes.io/tls', { 'tls.crt': b64(CERT + CA), 'tls.key': b64(KEY) }),
  secret('tls-wrong-key', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(TEST_OTHER_KEY_PEM) }),
  secret('tls-two-keys', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(TEST_OTHER_KEY_PEM + KEY) }),
  secret('tls-ec-params', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(pemBlock('EC PARAMETERS', 'BggqhkjOPQMBBw==') + KEY) }),
  secret('tls-encrypted', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(pemBlock('ENCRYPTED PRIVATE KEY', 'TUlJQnRlc3Q=')) }),
  secret('tls-fake-key', 'kubernetes.io/tls', { 'tls.crt': b64(CERT), 'tls.key': b64(pemBlock('PRIVATE KEY', 'TUlJQnRlc3Q=')) }),
];

function lookupOver(objects: KubeObject[], calls: string[] = []): Lookup {
  return (kind, ns, name) => {
    calls.push(`${kind} ${ns}/${name}`);
    return objects.find((o) => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === name);
  };
}

function access(host: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'imagemirror.io/v1alpha1',
    kind: 'RegistryAccess',
    metadata: { name: 'ra' },
    spec: { hosts: [{ host: 'm.io:5000', ...host }], ...spec },
  } as KubeObject;
}

const ref = (name: string): { namespace: string; name: string } => ({ namespace: 'ns', name });
const keyRef = (name: string, key: string): { namespace: string; name: string; key: string } => ({ namespace: 'ns', name, key });

describe('access: RegistryAccess secret resolution (SPEC §5)', () => {
  const good: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
    [{ ca: { configMapKeyRef: keyRef('ca', 'ca.crt') } }, { caPEM: CA }, 'CA from a ConfigMap data key'],
    [{ ca: { configMapKeyRef: keyRef('ca', 'bin.crt') } }, { caPEM: CA }, 'CA from a ConfigMap binaryData key'],
    [{ ca: { secretKeyRef: keyRef('ca-secret', 'ca.crt') } }, { caPEM: CA }, 'CA from a Secret (base64 data)'],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'commented.crt') } },
      { caPEM: CA + TEST_CA2_PEM },
      'a bundle keeps its certificates, in order, and drops the text around them',
    ],
    [{ credentialsSecretRef: ref('docker') }, { auth: { username: 'user', password: PASSWORD } }, 'dockerconfigjson auth for the exact host'],
    [
      { credentialsSecretRef: ref('docker-url') },
      { auth: { username: 'u2', password: PASSWORD } },
      'dockerconfigjson keyed by URL, username/password, from stringData',
    ],
    [{ credentialsSecretRef: ref('dockercfg') }, { auth: { username: 'old', password: PASSWORD } }, 'legacy dockercfg'],
    [{ credentialsSecretRef: ref('basic') }, { auth: { username: 'bob', password: PASSWORD } }, 'basic-auth Secret'],
    [{ credentialsSecretRef: ref('opaque-basic') }, { auth: { username: 'carol', password: PASSWORD } }, 'an Opaque Secret typed by its keys'],
    [{ clientCertificateSecretRef: ref('tls') }, { clientCert: { certPEM: CERT, keyPEM: KEY } }, 'client certificate from a TLS Secret'],
    [
      { clientCertificateSecretRef: ref('tls-chain') },
      { clientCert: { certPEM: CERT + CA, keyPEM: KEY } },
      'client certificate with its chain; the key belongs to the first',
    ],
    [
      { clientCertificateSecretRef: ref('tls-ec-params') },
      { clientCert: { certPEM: CERT, keyPEM: KEY } },
      'an EC PARAMETERS block before the key (openssl ecparam -genkey) is skipped, only the key is kept',
    ],
    [{ insecureSkipVerify: true, plainHTTP: false }, { insecureSkipVerify: true, plainHTTP: false }, 'flags are copied'],
  ];
  for (const [host, want, why] of good) {
    it(why, () => {
      const o = access(host);
      const r = readRegistryAccess(o, originOf(o), lookupOver(OBJECTS));
      expect(r.problems).to.deep.equal([]);
      expect(r.access).to.deep.equal([{ host: 'm.io:5000', origin: originOf(o), field: 'spec.hosts[0]', ...want }]);
    });
  }

  it('finds Docker Hub credentials stored under index.docker.io', () => {
    const o = access({ host: 'docker.io', credentialsSecretRef: ref('docker-hub') });
    const r = readRegistryAccess(o, originOf(o), lookupOver(OBJECTS));
    expect(r.access[0]!.auth).to.deep.equal({ username: 'hub', password: PASSWORD });
  });

  const bad: Array<[Record<string, unknown>, Reason, string, string, string]> = [
    [
      { ca: { configMapKeyRef: keyRef('nope', 'ca.crt') } },
      'MissingReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'ConfigMap ns/nope not found',
      'missing ConfigMap',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'other') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'ConfigMap ns/ca has no key "other"',
      'missing key',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'not-pem') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'key "not-pem" of ConfigMap ns/ca holds no PEM certificate',
      'not a certificate',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'with-key.crt') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'key "with-key.crt" of ConfigMap ns/ca holds a private key (PRIVATE KEY) as PEM block 2; a CA bundle may hold only certificates',
      'a CA bundle with a private key in it',
    ],
    [
      { ca: { secretKeyRef: keyRef('ca-with-key', 'ca.crt') } },
      'InvalidReference',
      'spec.hosts[0].ca.secretKeyRef',
      'key "ca.crt" of Secret ns/ca-with-key holds a private key (PRIVATE KEY) as PEM block 2',
      'a CA from a Secret with a private key in it',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'fake.crt') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'PEM block 1 is not a valid X.509 certificate',
      'a CERTIFICATE block that is not a certificate',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'unterminated.crt') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'PEM block 2 (CERTIFICATE) has no matching END line',
      'a truncated bundle',
    ],
    [
      { ca: { configMapKeyRef: keyRef('ca', 'csr.crt') } },
      'InvalidReference',
      'spec.hosts[0].ca.configMapKeyRef',
      'holds a CERTIFICATE REQUEST block as PEM block 1',
      'a certificate request instead of a certificate',
    ],
    [
      { ca: { secretKeyRef: keyRef('nope', 'ca.crt') } },
      'MissingReference',
      'spec.hosts[0].ca.secretKeyRef',
      'Secret ns/nope not found',
      'missing Secret for the CA',
    ],
    [{ credentialsSecretRef: ref('nope') }, 'MissingReference', 'spec.hosts[0].credentialsSecretRef', 'Secret ns/nope not found', 'missing credentials Secret'],
    [
      { credentialsSecretRef: ref('docker-other') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'Secret ns/docker-other has no auths entry for host "m.io:5000"',
      'no entry for this host',
    ],
    [
      { credentialsSecretRef: ref('docker-badjson') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'key .dockerconfigjson of Secret ns/docker-badjson is not valid JSON',
      'broken JSON',
    ],
    [
      { credentialsSecretRef: ref('docker-badauth') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'has neither a valid auth nor username and password',
      'auth without a colon',
    ],
    [
      { credentialsSecretRef: ref('basic-nopw') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'Secret ns/basic-nopw has no key "password"',
      'basic-auth without password',
    ],
    [
      { credentialsSecretRef: ref('basic-colon') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'the username must be non-empty without ":"',
      'a colon in the username breaks Basic auth',
    ],
    [
      { credentialsSecretRef: ref('tls') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'Secret ns/tls has type kubernetes.io/tls; credentials need type kubernetes.io/dockerconfigjson or kubernetes.io/basic-auth',
      'wrong Secret type',
    ],
    [
      { credentialsSecretRef: ref('untyped-empty') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'has type (none)',
      'untyped Secret without known keys',
    ],
    [
      { credentialsSecretRef: ref('bad-base64') },
      'InvalidReference',
      'spec.hosts[0].credentialsSecretRef',
      'key "username" of Secret ns/bad-base64 is not valid base64',
      'data that is not base64',
    ],
    [
      { clientCertificateSecretRef: ref('basic') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'a client certificate needs type kubernetes.io/tls',
      'client certificate from a basic-auth Secret',
    ],
    [
      { clientCertificateSecretRef: ref('tls-badkey') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'key "tls.key" of Secret ns/tls-badkey holds no PEM private key',
      'client key that is not PEM',
    ],
    [
      { clientCertificateSecretRef: ref('tls-key-in-crt') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'key "tls.crt" of Secret ns/tls-key-in-crt holds a private key (PRIVATE KEY) as PEM block 2; tls.crt may hold only certificates',
      'a private key inside tls.crt (it would be published with the certificate)',
    ],
    [
      { clientCertificateSecretRef: ref('tls-wrong-key') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'key "tls.key" of Secret ns/tls-wrong-key holds a private key that does not belong to the certificate in tls.crt',
      'a key of another certificate',
    ],
    [
      { clientCertificateSecretRef: ref('tls-two-keys') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'key "tls.key" of Secret ns/tls-two-keys holds 2 private keys; it must hold exactly one',
      'two keys in tls.key',
    ],
    [
      { clientCertificateSecretRef: ref('tls-encrypted') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'holds an encrypted private key',
      'an encrypted key',
    ],
    [
      { clientCertificateSecretRef: ref('tls-fake-key') },
      'InvalidReference',
      'spec.hosts[0].clientCertificateSecretRef',
      'holds a PRIVATE KEY block that is not a valid private key',
      'a PRIVATE KEY block that does not parse',
    ],
  ];
  for (const [host, reason, field, message, why] of bad) {
    it(`${reason}: ${why}, without secret content in the message`, () => {
      const o = access(host);
      const r = readRegistryAccess(o, originOf(o), lookupOver(OBJECTS));
      expect(r.problems.map((p) => [p.reason, p.field])).to.deep.equal([[reason, field]]);
      expect(r.problems[0]!.message).to.include(message);
      expect(r.problems[0]!.origin).to.deep.equal(originOf(o));
      const text = JSON.stringify(r.problems);
      for (const secretText of [PASSWORD, b64(PASSWORD), KEY_BODY]) expect(text).to.not.include(secretText);
      expect(r.access[0]).to.not.have.property('auth');
    });
  }

  it('records every lookup and lists the objects it used', () => {
    const calls: string[] = [];
    const o = access({ ca: { configMapKeyRef: keyRef('ca', 'ca.crt') }, credentialsSecretRef: ref('basic'), clientCertificateSecretRef: ref('nope') });
    const r = readRegistryAccess(o, originOf(o), lookupOver(OBJECTS, calls));
    expect(calls).to.include.members(['ConfigMap ns/ca', 'Secret ns/basic', 'Secret ns/nope']);
    expect(r.used.map((u) => `${u.kind} ${u.metadata.name}`)).to.deep.equal(['ConfigMap ca', 'Secret basic']);
  });

  it('reads the default mirror', () => {
    const o = access({}, { defaultMirror: { mirror: 'cache.io/lib', registries: ['docker.io'] } });
    const r = readRegistryAccess(o, originOf(o), lookupOver(OBJECTS));
    expect(r.defaultMirror).to.deep.equal({ mirror: 'cache.io/lib', registries: ['docker.io'], origin: originOf(o), field: 'spec.defaultMirror' });
  });

  it('readKey: Secret stringData wins over data, as the API server merges it', () => {
    const s = secret('s', 'Opaque', { k: b64('from-data') }, { k: 'from-stringData' });
    expect(readKey(s, 'k')).to.deep.equal({ ok: true, text: 'from-stringData' });
    expect(readKey(secret('s', 'Opaque', { k: `${b64('wrapped')}\n` }), 'k')).to.deep.equal({ ok: true, text: 'wrapped' });
  });
});
