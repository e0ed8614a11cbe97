// Objects from files and directories, for the CLI: loadPaths reads them,
// FileObjectSource answers gather's lookups over the result.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { byteOrder } from '../common/values.js';
import { kindInfo, kindOf } from './kinds.js';
import { locationOf, parseObjects } from './parse.js';
import { originOf, type KubeObject, type NamespacedKind, type ObjectSource } from './source.js';
import { formatProblem, type Problem } from './types.js';
import { validateObject } from './validate.js';

/** A file larger than this is refused unread (a ConfigMap holds 1 MiB; 64 leaves room for many documents). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface Loaded {
  /** In path order, then file order. */
  objects: KubeObject[];
  /** Unreadable paths, parse errors, invalid objects and duplicate objects. */
  problems: Problem[];
}

/**
 * Reads files and directories. Directories are walked recursively in byte
 * order of names, taking `.yaml`, `.yml` and `.json` files and skipping
 * names that start with "." (`.git`); a path given explicitly is read
 * whatever its name. `-` reads standard input. Every document must be of a
 * kind this project reads (UnsupportedKind otherwise), and every object is
 * validated, including those no target would select. The same object
 * (apiVersion group, kind, namespace, name) twice is a problem naming both
 * places; the first one is kept.
 *
 * gather() validates the objects it uses again (the controller has no
 * loadPaths), so a caller that reports both should drop repeated problems:
 * see uniqueProblems.
 */
export function loadPaths(paths: readonly string[]): Loaded {
  const out: Loaded = { objects: [], problems: [] };
  const seen = new Set<string>();
  for (const p of paths) {
    for (const file of expand(p, out.problems, seen)) loadFile(file, out);
  }
  out.problems.push(...duplicateProblems(out.objects));
  out.objects = dropDuplicates(out.objects);
  for (const o of out.objects) out.problems.push(...validateObject(o, originOf(o, locationOf(o))));
  return out;
}

/** Problems without repeats (same formatted line), first occurrence kept. */
export function uniqueProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const line = formatProblem(p);
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
}

function expand(path: string, problems: Problem[], seen: Set<string>): string[] {
  if (path === '-') return ['-'];
  let real: string;
  try {
    real = realpathSync(path);
    if (!statSync(real).isDirectory()) return [path];
  } catch (err) {
    problems.push(ioProblem(path, err));
    return [];
  }
  if (seen.has(real)) return []; // a symbolic link loop, or the same directory twice
  seen.add(real);
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (err) {
    problems.push(ioProblem(path, err));
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => {
      const child = join(path, n);
      if (isDirectory(child)) return expand(child, problems, seen);
      return EXTENSIONS.some((e) => n.endsWith(e)) ? [child] : [];
    });
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // a dangling link: reading it reports the problem if its name qualifies
  }
}

function loadFile(file: string, out: Loaded): void {
  const location = file === '-' ? '<stdin>' : file;
  let text: string;
  try {
    if (file !== '-' && statSync(file).size > MAX_FILE_BYTES) {
      out.problems.push({ reason: 'DocumentTooLarge', message: `${location}: file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` });
      return;
    }
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    out.problems.push(ioProblem(location, err));
    return;
  }
  const parsed = parseObjects(text, { location, otherKinds: 'error' });
  out.objects.push(...parsed.objects);
  out.problems.push(...parsed.problems);
}

function ioProblem(path: string, err: unknown): Problem {
  const code = (err as { code?: unknown }).code;
  const why =
    code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message.split('\n')[0] : String(err);
  return { reason: 'InvalidDocument', message: `${path}: cannot read: ${why}` };
}

/** Identity of an object: API group (not version), kind, namespace, name. */
function identity(o: KubeObject): string {
  const slash = o.apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  return `${group}\u0000${o.kind}\u0000${o.metadata.namespace ?? ''}\u0000${o.metadata.name}`;
}

function describe(o: KubeObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind} ${ns}${o.metadata.name}`;
}

/** One problem per repeated object, naming where it appeared first and again. */
function duplicateProblems(objects: readonly KubeObject[]): Problem[] {
  const first = new Map<string, KubeObject>();
  const problems: Problem[] = [];
  for (const o of objects) {
    const prev = first.get(identity(o));
    if (!prev) {
      first.set(identity(o), o);
      continue;
    }
    problems.push({
      reason: 'InvalidDocument',
      message: `${describe(o)} is defined twice: at ${locationOf(prev) ?? '?'} and at ${locationOf(o) ?? '?'}`,
    });
  }
  return problems;
}

function dropDuplicates(objects: readonly KubeObject[]): KubeObject[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const id = identity(o);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Lookups over objects read from files (or built by hand in tests). */
export class FileObjectSource implements ObjectSource {
  private readonly byName = new Map<string, KubeObject>();
  private readonly cluster: KubeObject[] = [];

  /** When an object appears twice the first is kept; loadPaths reports such duplicates. */
  constructor(objects: readonly KubeObject[]) {
    for (const o of objects) {
      const info = kindInfo(o.apiVersion, o.kind);
      if (info?.gathered === 'named') {
        const key = nameKey(info.known, o.metadata.namespace ?? 'default', o.metadata.name);
        if (!this.byName.has(key)) this.byName.set(key, o);
      } else if (info?.gathered === 'listed') {
        this.cluster.push(o);
      }
    }
  }

  clusterScoped(): readonly KubeObject[] {
    return this.cluster;
  }

  get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined {
    return this.byName.get(nameKey(kind, namespace, name));
  }

  /** Every NodePool, sorted by namespace/name: the CLI renders one target per NodePool. */
  nodePools(): KubeObject[] {
    return [...this.byName.values()]
      .filter((o) => kindOf(o) === 'NodePool')
      .sort((a, b) =>
        byteOrder(nameKey('NodePool', a.metadata.namespace ?? '', a.metadata.name), nameKey('NodePool', b.metadata.namespace ?? '', b.metadata.name)),
      );
  }
}

function nameKey(kind: string, namespace: string, name: string): string {
  return `${kind}\u0000${namespace}\u0000${name}`;
}
