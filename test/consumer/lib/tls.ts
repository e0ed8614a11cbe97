// A throwaway certificate authority and a server certificate for
// 127.0.0.1/localhost, made with the openssl CLI.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './proc.js';

export interface TlsMaterial {
  caPEM: string;
  certPEM: string;
  keyPEM: string;
}

// EC keys keep generation fast on a small shared machine.
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Creates a CA and a server certificate signed by it, valid for IP
 * 127.0.0.1 and DNS localhost (Go clients ignore the CN, so the SAN matters).
 */
export async function makeServerCert(dir: string, caName = 'image-mirror consumer-test CA'): Promise<TlsMaterial> {
  const p = (f: string): string => join(dir, f);
  await runOk('openssl', ['req', '-x509', ...EC, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', `/CN=${caName}`]);
  await runOk('openssl', ['req', ...EC, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n');
  await runOk('openssl', [
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.crt'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  const [caPEM, certPEM, keyPEM] = await Promise.all([readFile(p('ca.crt'), 'utf8'), readFile(p('server.crt'), 'utf8'), readFile(p('server.key'), 'utf8')]);
  return { caPEM, certPEM, keyPEM };
}
