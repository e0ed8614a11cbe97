// Writes of an output that can never succeed as they are. The API server
// answers 422 (Invalid), 400 (BadRequest) or 413 (RequestEntityTooLarge) the
// same way on every retry: such an answer is a problem of the target,
// reported in its RenderedMirrorConfig (Degraded, with the object, field,
// value and why) and an Event, not a reason to retry in a loop. The same
// holds for what the operator finds before writing (an output Secret of
// another type: a Secret's type cannot change). Other errors (conflicts,
// timeouts, 5xx) stay errors, retried with backoff.
import { statusCode } from '../common/api-errors.js';
import { dataKeyProblem, labelValueProblem, nameProblem } from '../common/names.js';
import type { Problem } from '../model/types.js';

/** Answers that do not change when the same write is sent again. */
export const TERMINAL_STATUS_CODES: readonly number[] = [400, 413, 422];

/** Messages from the API server are clipped to this (conditions and Events stay readable). */
const MAX_MESSAGE = 600;

export interface OutputObject {
  kind: 'ConfigMap' | 'Secret';
  namespace: string;
  name: string;
}

/** A problem with an output object, found before or by a write; carries the Problem the status reports. */
export class OutputProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
    this.name = 'OutputProblem';
  }
}

/** The Problem for a refused write of `obj` (its origin; the message quotes the API server), or undefined when `err` is not a terminal answer. */
export function refusedWrite(err: unknown, obj: OutputObject, verb: string): Problem | undefined {
  const code = statusCode(err);
  if (code === undefined || !TERMINAL_STATUS_CODES.includes(code)) return undefined;
  const status = statusOf((err as { body?: unknown }).body);
  const causes = status?.details?.causes ?? [];
  const detail = status?.message ?? (causes.length > 0 ? causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join('; ') : 'no details given');
  const message =
    `the API server refused to ${verb} it (HTTP ${code}${status?.reason ? ` ${status.reason}` : ''}): ` +
    `${clip(detail)}; the last good output is kept, and the write is tried again when the inputs change (or at the next resync)`;
  const problem: Problem = { reason: 'OutputRejected', message, origin: { apiVersion: 'v1', kind: obj.kind, name: obj.name, namespace: obj.namespace } };
  const field = causes.find((c) => c.field)?.field;
  if (field) problem.field = field;
  return problem;
}

/** An existing output Secret whose type is not Opaque: the operator cannot write it without deleting it, and does not. */
export function secretTypeProblem(obj: Omit<OutputObject, 'kind'>, type: string): Problem {
  return {
    reason: 'OutputTypeConflict',
    message:
      `it exists with type ${JSON.stringify(type)}, but the output Secret ${obj.namespace}/${obj.name} is of type "Opaque" ` +
      'and the type of a Secret cannot change; the operator leaves that Secret as it is and publishes nothing new for this target ' +
      'until it is deleted or renamed',
    field: 'type',
    origin: { apiVersion: 'v1', kind: 'Secret', name: obj.name, namespace: obj.namespace },
  };
}

interface Status {
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

function statusOf(body: unknown): Status | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === '' ? undefined : { message: body.trim() };
    }
  }
  return parsed && typeof parsed === 'object' ? (parsed as Status) : undefined;
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 3)}...` : s;
}

/**
 * Checks every derived name, label value and key of a target's output
 * against Kubernetes' limits before anything is written. The names are
 * built to fit (contract.ts, render/paths.ts), so this is the backstop: a
 * value that slips through is reported precisely instead of being refused
 * by the API server on every try.
 */
export function derivedNamesProblem(
  output: { namespace: string; name: string; labels: Readonly<Record<string, string>> },
  data: { configMapData: Readonly<Record<string, string>>; secretData: Readonly<Record<string, string>> },
): Problem | undefined {
  const where = `${output.namespace}/${output.name}`;
  const found: Array<{ field: string; value: string; why: string }> = [];
  const nameWhy = nameProblem(output.name);
  if (nameWhy) found.push({ field: 'metadata.name', value: output.name, why: nameWhy });
  for (const [key, value] of Object.entries(output.labels)) {
    const why = labelValueProblem(value);
    if (why) found.push({ field: `metadata.labels[${key}]`, value, why });
  }
  for (const [kind, values] of [
    ['ConfigMap', data.configMapData],
    ['Secret', data.secretData],
  ] as const) {
    for (const key of Object.keys(values)) {
      const why = dataKeyProblem(key);
      if (why) found.push({ field: `${kind} data key`, value: key, why });
    }
  }
  const first = found[0];
  if (!first) return undefined;
  const shown = first.value.length > 80 ? `${first.value.slice(0, 77)}...` : first.value;
  return {
    reason: 'OutputRejected',
    message:
      `the output ${where} would be refused by the API server: ${first.field} ${JSON.stringify(shown)} ${first.why}` +
      `${found.length > 1 ? ` (and ${found.length - 1} more)` : ''}; nothing is written, the last good output is kept`,
    field: first.field,
  };
}
