// How the agent marks the files it owns, so that it never overwrites or
// removes a file somebody else put on the node. Pure: text in, text out.
//
// - TOML (hosts.toml, registries.conf drop-ins): a comment as the first line.
// - PEM (CA bundles, client certificates and keys): the same comment line
//   before the first block. RFC 7468 allows explanatory text before a block,
//   and Go's pem.Decode (used by containerd and containers/image through
//   x509.CertPool.AppendCertsFromPEM and tls.LoadX509KeyPair) skips it.
// - auth.json: an extra top-level key. containers/image decodes the file into
//   a struct with json.Unmarshal, which ignores unknown keys.
import { isRecord } from '../common/values.js';

/** The kinds of file the agent installs; anything else is refused. */
export type FileFormat = 'toml' | 'pem' | 'json';

export const MARKER_LINE = '# Managed by the image-mirror agent (imagemirror.io): local changes are overwritten.';
export const JSON_MARKER_KEY = 'imagemirror.io/managed-by';
export const JSON_MARKER_VALUE = 'image-mirror-agent';

const FORMAT_BY_SUFFIX: ReadonlyArray<readonly [string, FileFormat]> = [
  ['.toml', 'toml'],
  ['.conf', 'toml'],
  ['.crt', 'pem'],
  ['.cert', 'pem'],
  ['.key', 'pem'],
  ['.pem', 'pem'],
  ['.json', 'json'],
];

/** The format of a node path, from its suffix; undefined when unsupported. */
export function formatOf(path: string): FileFormat | undefined {
  return FORMAT_BY_SUFFIX.find(([suffix]) => path.endsWith(suffix))?.[1];
}

/**
 * The content as installed: `content` plus the marker. Deterministic, so an
 * unchanged input gives byte-identical output and no write.
 * For JSON the caller has checked that `content` is a JSON object.
 */
export function withMarker(format: FileFormat, content: string): string {
  if (format === 'json') {
    const parsed = JSON.parse(content) as Record<string, unknown>;
    const rest = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== JSON_MARKER_KEY));
    return `${JSON.stringify({ [JSON_MARKER_KEY]: JSON_MARKER_VALUE, ...rest }, null, 2)}\n`;
  }
  return `${MARKER_LINE}\n${content}`;
}

/** Whether installed content carries the marker, i.e. the agent owns the file. */
export function hasMarker(format: FileFormat, content: string): boolean {
  if (format !== 'json') return content.startsWith(`${MARKER_LINE}\n`);
  try {
    const parsed: unknown = JSON.parse(content);
    return isRecord(parsed) && parsed[JSON_MARKER_KEY] === JSON_MARKER_VALUE;
  } catch {
    return false;
  }
}
