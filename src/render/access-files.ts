// How containers/image (CRI-O, podman, skopeo) reaches registry hosts with
// RegistryAccess settings: CA and client certificates in the per-host
// directory of containers-certs.d(5), credentials in containers-auth.json(5).
// TLS verification and plain HTTP are `insecure` scopes in registries.conf
// (the merge turns them into scopes).
import type { HostAccess, MirrorModel } from '../model/types.js';
import { assertHostPort, AUTH_JSON_KEY, AUTH_JSON_PATH, CONTAINERS_CERTS_DIR, hostDir, PUBLIC_MODE, SECRET_MODE } from './paths.js';
import type { NodeFile } from './types.js';

export function renderAccessFiles(model: MirrorModel): NodeFile[] {
  const files = model.access.flatMap(certFiles);
  const auth = authJson(model.access);
  if (auth) files.push(auth);
  return files;
}

/** `/etc/containers/certs.d/<host[:port]>/{ca.crt,client.cert,client.key}`. */
function certFiles(a: HostAccess): NodeFile[] {
  assertHostPort(a.host);
  const file = (name: string, content: string, secret: boolean): NodeFile => ({
    key: `containers.${hostDir(a.host)}.${name}`,
    path: `${CONTAINERS_CERTS_DIR}/${a.host}/${name}`,
    mode: secret ? SECRET_MODE : PUBLIC_MODE,
    content: content.endsWith('\n') ? content : `${content}\n`,
    secret,
  });
  const out: NodeFile[] = [];
  if (a.caPEM !== undefined) out.push(file('ca.crt', a.caPEM, false));
  if (a.clientCert) {
    out.push(file('client.cert', a.clientCert.certPEM, false), file('client.key', a.clientCert.keyPEM, true));
  }
  return out;
}

/** `{"auths": {"<host>": {"auth": base64("user:password")}}}`, hosts sorted. */
function authJson(access: readonly HostAccess[]): NodeFile | undefined {
  const withAuth = access.filter((a) => a.auth).sort((x, y) => (x.host < y.host ? -1 : x.host > y.host ? 1 : 0));
  if (withAuth.length === 0) return undefined;
  const auths: Record<string, { auth: string }> = {};
  for (const a of withAuth) {
    auths[a.host] = { auth: Buffer.from(`${a.auth!.username}:${a.auth!.password}`, 'utf8').toString('base64') };
  }
  return {
    key: AUTH_JSON_KEY,
    path: AUTH_JSON_PATH,
    mode: SECRET_MODE,
    content: `${JSON.stringify({ auths }, null, 2)}\n`,
    secret: true,
  };
}
