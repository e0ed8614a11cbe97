// The human form of an Explanation: one block per runtime, endpoints in the
// order they are tried, each with what it applies to, TLS, credentials (where
// from, never what) and who asked for it; then the requests in order.
import type { RenderWarning } from '../model/types.js';
import type { Contributor, ContainerdEndpoint, ContainersImageEndpoint, EndpointBase, Explanation, PredictedRequest, RuntimeExplanation } from './types.js';

export function formatExplanation(e: Explanation): string {
  const out: string[] = [];
  const r = e.reference;
  out.push(`reference  ${r.pulled}  (pull by ${r.kind})`);
  for (const n of r.notes) out.push(`           note: ${n}`);
  out.push(`target     ${e.target}, read from ${FROM[e.from]}${e.contentHash ? `, content hash ${e.contentHash.replace(/^sha256:/, '').slice(0, 12)}` : ''}`);
  for (const n of e.notes) out.push(`           note: ${n}`);
  for (const rt of e.runtimes) out.push('', ...runtimeBlock(rt));
  return `${out.join('\n')}\n`;
}

const FROM: Record<Explanation['from'], string> = {
  files: 'files',
  'cluster-inputs': "the cluster's inputs",
  'cluster-published': 'the published output',
};

function runtimeBlock(rt: RuntimeExplanation): string[] {
  const out: string[] = [`${rt.runtime === 'containerd' ? 'containerd' : 'containers/image'}  (${rt.consumers})`];
  if (rt.runtime === 'containers-image') {
    out.push(`  file      ${rt.files[0] ?? '(no registries.conf drop-in rendered)'}`);
    if (rt.match) {
      const flags = [rt.match.blocked && 'blocked', rt.match.insecure && 'insecure', rt.match.mirrorByDigestOnly && 'mirror-by-digest-only'].filter(Boolean);
      out.push(`  matched   [[registry]] prefix ${JSON.stringify(rt.match.prefix)}${flags.length ? `: ${flags.join(', ')}` : ''}`);
      out.push(...contributorLines(rt.match.contributors, '            '));
    } else {
      out.push('  matched   no [[registry]]: the reference is pulled from its own registry');
    }
    out.push(...endpointLines(rt.endpoints, ciHeading));
  } else {
    out.push(`  host dir  ${rt.dir ?? '(none)'}  (looked for ${rt.lookedFor.map((d) => d.slice(d.lastIndexOf('/') + 1)).join(', ')})`);
    out.push(...endpointLines(rt.endpoints, cdHeading));
  }
  out.push(`  order     ${rt.requests.length === 0 ? '(no request)' : ''}`.trimEnd());
  rt.requests.forEach((q, i) => out.push(`    ${i + 1}. ${request(q)}`));
  out.push(`  source    ${SOURCE[rt.sourceContacted]}`);
  out.push(
    `  result    ${rt.pull.status === 'ok' ? 'pulled from the first endpoint that has it' : `${rt.pull.status === 'fails' ? 'CANNOT BE PULLED' : 'UNKNOWN'}: ${rt.pull.why}`}`,
  );
  for (const w of rt.warnings) out.push(`  warning   ${warning(w)}`);
  for (const n of rt.notes) out.push(`  note      ${n}`);
  return out;
}

const SOURCE: Record<RuntimeExplanation['sourceContacted'], string> = {
  first: 'contacted first (no mirror applies)',
  'after-mirrors': 'contacted only when no mirror before it serves the image',
  never: 'never contacted',
};

function endpointLines<T extends EndpointBase>(endpoints: readonly T[], heading: (e: T) => string): string[] {
  const out: string[] = [];
  let n = 0;
  for (const e of endpoints) {
    const blockedBy = (e as Partial<ContainersImageEndpoint>).blockedBy;
    const mark = e.applies && !blockedBy ? `${++n}.` : '- ';
    out.push(`  ${mark.padEnd(3)} ${heading(e)}`);
    const pad = '        ';
    if (blockedBy) out.push(`${pad}refused before any request: blocked by prefix ${JSON.stringify(blockedBy)}`);
    if (e.skipped) out.push(`${pad}not tried: ${e.skipped}`);
    if (e.applies && !blockedBy) {
      out.push(`${pad}${tls(e)}`);
      if (e.credentials) out.push(`${pad}credentials: ${e.credentials.file}, ${e.credentials.entry}${e.credentials.note ? ` (${e.credentials.note})` : ''}`);
    }
    const widened = (e as Partial<ContainerdEndpoint>).widenedFrom;
    if (widened) out.push(`${pad}used for this repository only because containerd configures whole hosts: it mirrors ${widened.join(', ')}`);
    out.push(...contributorLines(e.contributors, pad));
  }
  return out;
}

function ciHeading(e: ContainersImageEndpoint): string {
  const use = e.role === 'mirror' ? ` [${e.pullFromMirror === 'all' ? 'digest and tag pulls' : `${e.pullFromMirror}`}]` : '';
  return `${e.role.padEnd(6)} ${e.reference}${use}`;
}

function cdHeading(e: ContainerdEndpoint): string {
  const what = e.role === 'host' ? `[host.${JSON.stringify(e.written)}]` : e.role === 'server' ? `server = ${JSON.stringify(e.written)}` : '(default)';
  return `${what}  capabilities ${e.capabilities.join(', ')}${e.overridePath ? ', override_path' : ''}  -> ${e.apiRoot}`;
}

function tls(e: EndpointBase): string {
  const t = e.tls;
  const parts = [t.scheme === 'http' ? 'plain HTTP' : t.verify ? 'TLS verified' : 'TLS not verified'];
  if (t.httpFallback) parts.push('falls back to plain HTTP');
  if (t.caFiles.length) parts.push(`CA ${t.caFiles.join(', ')}`);
  else if (t.scheme === 'https' && t.verify) parts.push('system CAs');
  for (const c of t.clientCertificates) parts.push(`client certificate ${c.cert}${c.key ? ` + ${c.key}` : ''}`);
  return parts.join('; ');
}

function contributorLines(list: readonly Contributor[], pad: string): string[] {
  return list.map((c) => {
    const id = c.namespace ? `${c.namespace}/${c.name}` : c.name;
    return `${pad}from ${c.kind} ${id}${c.location ? ` (${c.location})` : ''} ${c.field}: ${c.what}`;
  });
}

function request(q: PredictedRequest): string {
  return `${q.method} ${q.url}`;
}

function warning(w: RenderWarning): string {
  return `${w.mirror ? `${w.source} -> ${w.mirror}` : w.source}: ${w.message} [${w.code}]`;
}
