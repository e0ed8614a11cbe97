// Structured JSON logs (pino). Objects from the API are never logged whole:
// callers log names and reasons, so Secret data cannot reach a log line.
import { pino, type Logger } from 'pino';
import { statusCode } from '../common/api-errors.js';

export type { Logger };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({
    level,
    base: { component: 'image-mirror-controller' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: should an object with these fields ever be logged, drop them.
    redact: { paths: ['data', 'stringData', '*.data', '*.stringData', 'password', '*.password'], remove: true },
  });
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Message and API status code of an error, for log fields (never the request or response body). */
export function errorFields(err: unknown): { err: string; code?: number } {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; body?: unknown };
    const code = statusCode(err);
    const message = statusMessage(e.body) ?? (typeof e.message === 'string' ? firstLine(e.message) : String(err));
    return code === undefined ? { err: message } : { err: message, code };
  }
  return { err: String(err) };
}

/** The `message` of a metav1.Status response body (names and reasons only, never object data). */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
    return (parsed as { message: string }).message;
  }
  return undefined;
}

// ApiException messages embed the whole response body and headers; the first line is the useful part.
function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
