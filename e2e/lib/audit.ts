// Reads the local control plane's audit log (one JSON event per API write to
// configmaps, secrets, imagemirror.io and hypershift.openshift.io resources;
// see e2e/controlplane/up.sh for the policy) so tests can count writes.
import { open, stat } from 'node:fs/promises';

export interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly stageTimestamp: string;
}

export interface WriteFilter {
  readonly resource?: string;
  readonly apiGroup?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly username?: string;
  readonly verbs?: readonly string[];
  /** Count only requests the server accepted (2xx); default true. */
  readonly succeededOnly?: boolean;
}

/**
 * A position in the audit log: take a mark before the action under test,
 * then read only the events written after it.
 */
export class AuditLog {
  constructor(readonly path: string) {}

  /** Current end of the log (bytes). */
  async mark(): Promise<number> {
    return (await stat(this.path).catch(() => ({ size: 0 }))).size;
  }

  /** Events after `mark` (from the start when omitted). */
  async events(mark = 0): Promise<AuditEvent[]> {
    const file = await open(this.path, 'r').catch(() => undefined);
    if (!file) return [];
    try {
      const { size } = await file.stat();
      const buf = Buffer.alloc(Math.max(0, size - mark));
      await file.read(buf, 0, buf.length, mark);
      return parseEvents(buf.toString('utf8'));
    } finally {
      await file.close();
    }
  }

  async countWrites(filter: WriteFilter = {}, mark = 0): Promise<number> {
    return (await this.events(mark)).filter((e) => matches(e, filter)).length;
  }
}

// A line may be half written while the server appends: only complete lines count.
function parseEvents(text: string): AuditEvent[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
}

export function matches(e: AuditEvent, f: WriteFilter): boolean {
  const ref = e.objectRef ?? {};
  const code = e.responseStatus?.code ?? 0;
  if ((f.succeededOnly ?? true) && (code < 200 || code > 299)) return false;
  if (f.verbs && !f.verbs.includes(e.verb)) return false;
  if (f.username !== undefined && e.user.username !== f.username) return false;
  if (f.resource !== undefined && ref.resource !== f.resource) return false;
  if (f.apiGroup !== undefined && (ref.apiGroup ?? '') !== f.apiGroup) return false;
  if (f.namespace !== undefined && ref.namespace !== f.namespace) return false;
  if (f.name !== undefined && ref.name !== f.name) return false;
  if (f.subresource !== undefined && (ref.subresource ?? '') !== f.subresource) return false;
  return true;
}
