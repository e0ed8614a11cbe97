// PEM input read strictly (SPEC §5): a CA bundle or a client certificate is
// certificates only, a client key is one private key. Everything is parsed
// with Node's crypto (OpenSSL), and what is published is re-encoded from
// the parsed certificates, never copied from the input: text a bundle holds
// around its certificates (comments, or a pasted key without PEM lines) can
// never reach a ConfigMap, a node file of mode 0644 or ignition.
//
// Messages name blocks by their position and PEM type only: never content.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

export type PemResult<T> = { ok: true; value: T } | { ok: false; why: string };

/** One `-----BEGIN TYPE----- ... -----END TYPE-----` block, in input order. */
interface Block {
  type: string;
  /** The block's text, BEGIN and END lines included. */
  text: string;
}

const BEGIN = /-----BEGIN ([^-\r\n]{1,64})-----/g;

/** Every PEM block of `text`, or why the armour is broken. Text between blocks is skipped. */
function blocks(text: string): PemResult<Block[]> {
  const out: Block[] = [];
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m; m = BEGIN.exec(text)) {
    const type = m[1]!;
    const end = `-----END ${type}-----`;
    const at = text.indexOf(end, m.index + m[0].length);
    const next = text.indexOf('-----BEGIN ', m.index + m[0].length);
    if (at < 0 || (next >= 0 && next < at)) return { ok: false, why: `PEM block ${out.length + 1} (${describeType(type)}) has no matching END line` };
    out.push({ type, text: text.slice(m.index, at + end.length) });
    BEGIN.lastIndex = at + end.length;
  }
  return { ok: true, value: out };
}

/** A PEM type as users see it, bounded: types come from user data. */
function describeType(type: string): string {
  return /^[A-Z0-9 ]{1,40}$/.test(type) ? type : 'an unknown type';
}

const KEY_TYPES = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'DSA PRIVATE KEY', 'OPENSSH PRIVATE KEY']);

/**
 * The certificates of `text` as a normalized PEM bundle, with their number.
 * Every PEM block must be a CERTIFICATE that parses as X.509; `what` names
 * the input in messages ("a CA bundle", "tls.crt").
 */
export function readCertificates(text: string, what: string): PemResult<{ pem: string; count: number }> {
  const found = blocks(text);
  if (!found.ok) return found;
  if (found.value.length === 0) return { ok: false, why: 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----")' };
  const pems: string[] = [];
  for (const [i, b] of found.value.entries()) {
    if (b.type !== 'CERTIFICATE') {
      const kind = KEY_TYPES.has(b.type) ? `a private key (${b.type})` : `a ${describeType(b.type)} block`;
      return { ok: false, why: `holds ${kind} as PEM block ${i + 1}; ${what} may hold only certificates, and nothing else of it is published` };
    }
    try {
      pems.push(new X509Certificate(b.text).toString());
    } catch {
      return { ok: false, why: `PEM block ${i + 1} is not a valid X.509 certificate` };
    }
  }
  return { ok: true, value: { pem: pems.join(''), count: pems.length } };
}

/**
 * The one private key of `text` (its PEM block as given: Go's TLS stack reads
 * PKCS#1, SEC 1 and PKCS#8 alike), checked to belong to the first
 * certificate of `certPEM`. Other blocks are skipped, as Go's
 * tls.X509KeyPair skips them (`openssl ecparam -genkey` writes an
 * `EC PARAMETERS` block first), and only the key block is published.
 */
export function readPrivateKey(text: string, certPEM: string): PemResult<string> {
  const found = blocks(text);
  if (!found.ok) return found;
  const keys = found.value.filter((b) => KEY_TYPES.has(b.type));
  if (keys.length !== 1)
    return { ok: false, why: keys.length === 0 ? 'holds no PEM private key' : `holds ${keys.length} private keys; it must hold exactly one` };
  const block = keys[0]!;
  if (block.type === 'ENCRYPTED PRIVATE KEY') return { ok: false, why: 'holds an encrypted private key; nodes have no passphrase to decrypt it' };
  let key: KeyObject;
  try {
    key = createPrivateKey(block.text);
  } catch {
    return { ok: false, why: `holds a ${block.type} block that is not a valid private key` };
  }
  if (!new X509Certificate(certPEM).checkPrivateKey(key)) return { ok: false, why: 'holds a private key that does not belong to the certificate in tls.crt' };
  return { ok: true, value: `${block.text}\n` };
}
