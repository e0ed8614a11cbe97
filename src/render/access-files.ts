// How containers/image (CRI-O, podman, skopeo) reaches registry hosts with
// RegistryAccess settings: CA and client certificates in the per-host
// directory of containers-certs.d(5), credentials in containers-auth.json(5).
// TLS verification and plain HTTP are `insecure` scopes in registries.conf
// (the merge turns them into scopes).
import type { HostAccess, MirrorModel, RenderWarning } from '../model/types.js';
import {
  assertHostPort,
  keyFor,
  MAX_FILE_NAME_LENGTH,
  AUTH_JSON_KEY,
  AUTH_JSON_PATH,
  CONTAINERS_CERTS_DIR,
  hostDir,
  PUBLIC_MODE,
  SECRET_MODE,
} from './paths.js';
import type { NodeFile } from './types.js';
import { byteOrder } from '../common/values.js';

export function renderAccessFiles(model: MirrorModel): { files: NodeFile[]; warnings: RenderWarning[] } {
  const warnings: RenderWarning[] = [];
  const files = model.access.flatMap((a) => certFiles(a, warnings));
  const auth = authJson(model.access);
  if (auth) files.push(auth);
  return { files, warnings };
}

/** `/etc/containers/certs.d/<host[:port]>/{ca.crt,client.cert,client.key}`. */
function certFiles(a: HostAccess, warnings: RenderWarning[]): NodeFile[] {
  assertHostPort(a.host);
  if ((a.caPEM !== undefined || a.clientCert) && a.host.length > MAX_FILE_NAME_LENGTH) {
    // containers/image looks the directory up by the host as written: it cannot be renamed.
    warnings.push({
      code: 'NotExpressible',
      renderer: 'registries.conf',
      source: a.host,
      message:
        `containers/image reads the certificates of ${a.host} from a directory named after it, and that name ` +
        `(${a.host.length} characters) is longer than the ${MAX_FILE_NAME_LENGTH} a file name may have: the CA and client certificate of this host are left out`,
    });
    return [];
  }
  const file = (name: string, content: string, secret: boolean): NodeFile => {
    const path = `${CONTAINERS_CERTS_DIR}/${a.host}/${name}`;
    return {
      key: keyFor(`containers.${hostDir(a.host)}.${name}`, path),
      path,
      mode: secret ? SECRET_MODE : PUBLIC_MODE,
      content: content.endsWith('\n') ? content : `${content}\n`,
      secret,
    };
  };
  const out: NodeFile[] = [];
  if (a.caPEM !== undefined) out.push(file('ca.crt', a.caPEM, false));
  if (a.clientCert) {
    out.push(file('client.cert', a.clientCert.certPEM, false), file('client.key', a.clientCert.keyPEM, true));
  }
  return out;
}

/** `{"auths": {"<host>": {"auth": base64("user:password")}}}`, hosts sorted. */
function authJson(access: readonly HostAccess[]): NodeFile | undefined {
  const withAuth = access.filter((a) => a.auth).sort((x, y) => byteOrder(x.host, y.host));
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
