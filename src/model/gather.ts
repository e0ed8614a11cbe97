// Everything one target needs, read once into MergeInputs (SPEC §1, §6;
// STYLE.md 2). The only I/O is through the ObjectSource; every lookup is
// recorded in `references` so that the controller can map ConfigMap and
// Secret events back to the targets that read them.
import { readRegistryAccess } from './access.js';
import { OUTPUT_LABEL } from '../contract.js';
import { apiVersionOf, isListed, isOurs, KINDS, kindOf, served, type KnownKind } from './kinds.js';
import { holdsNoDocuments, locationOf, parseObjects, type ParseOptions } from './parse.js';
import { quote } from './patterns.js';
import { isEmptySelector, isWellFormedSelector, selectorMatches, type LabelSelector } from './selector.js';
import { originOf, type Gathered, type KubeObject, type NamespacedKind, type ObjectSource, type Reference, type Target } from './source.js';
import type { DefaultMirror, HostAccess, MirrorEntry, Origin, Problem, RenderWarning, ScopeEntry } from './types.js';
import { mirrorEntriesOf, scopesOf, validateObjectParts } from './validate.js';
import { byteOrder } from '../common/values.js';

/** Gathers the inputs of one target. Deterministic: the order of objects in `src` does not matter. */
export function gather(src: ObjectSource, target: Target): Gathered {
  const g = new Collector(src);
  if (target.kind === 'Cluster') g.clusterScoped(CLUSTER_TARGET_SELECTS);
  else g.nodePoolTarget(target.namespace, target.name);
  return g.result();
}

/** Which nodePoolSelectors a target takes objects for. */
export type Selects = (sel: LabelSelector | undefined) => boolean;

/** The cluster target: objects with an empty selector. */
export const CLUSTER_TARGET_SELECTS: Selects = (sel) => isEmptySelector(sel);

/** A NodePool target: objects whose selector matches the NodePool's labels. */
export function nodePoolSelects(labels: Readonly<Record<string, string>>): Selects {
  return (sel) => selectorMatches(sel, labels);
}

/**
 * True when gather takes a cluster-scoped object for a target that `selects`:
 * OpenShift's kinds carry no selector (they apply everywhere), and a
 * malformed selector applies everywhere too, so that its problem is reported
 * rather than the object silently skipped. The controller routes changes of
 * these objects with the same test.
 */
export function appliesTo(obj: KubeObject, selects: Selects): boolean {
  const sel = selectorOf(obj);
  return !isWellFormedSelector(sel) || selects(sel);
}

const MIRROR_KINDS: readonly KnownKind[] = [...new Set(KINDS.filter((k) => k.mirror).map((k) => k.known))];

/** Keys of the HostedCluster mirror ConfigMap (SPEC §1). */
const MIRROR_CONFIG_KEYS = ['idms.yaml', 'itms.yaml'];

class Collector {
  private readonly entries: MirrorEntry[] = [];
  private readonly insecure: ScopeEntry[] = [];
  private readonly blocked: ScopeEntry[] = [];
  private readonly access: HostAccess[] = [];
  private readonly hosts = new Map<string, HostAccess>();
  private defaultMirror: DefaultMirror | undefined;
  private readonly contributors = new Map<string, Origin>();
  private readonly references = new Map<string, Reference>();
  private readonly problems: Problem[] = [];
  private readonly rejected: MirrorEntry[] = [];
  private readonly warnings: RenderWarning[] = [];
  private nodePool: KubeObject | undefined;
  private hostedCluster: KubeObject | undefined;

  constructor(private readonly src: ObjectSource) {}

  result(): Gathered {
    const out: Gathered = {
      inputs: {
        entries: this.entries,
        insecure: this.insecure,
        blocked: this.blocked,
        access: this.access,
        contributors: sortOrigins([...this.contributors.values()]),
      },
      problems: this.problems,
      references: [...this.references.values()].sort((a, b) => byteOrder(refKey(a), refKey(b))),
    };
    if (this.defaultMirror) out.inputs = { ...out.inputs, defaultMirror: this.defaultMirror };
    if (this.rejected.length > 0) out.rejectedEntries = this.rejected;
    if (this.warnings.length > 0) out.warnings = this.warnings;
    if (this.nodePool) out.nodePool = this.nodePool;
    if (this.hostedCluster) out.hostedCluster = this.hostedCluster;
    return out;
  }

  /**
   * Looks an object up and records the lookup, found or not. Items of
   * Kubernetes list responses for built-in kinds carry no apiVersion/kind;
   * the lookup knows them, so they are filled in on a copy.
   */
  private get(kind: NamespacedKind, namespace: string, name: string): KubeObject | undefined {
    const ref: Reference = { kind, namespace, name };
    this.references.set(refKey(ref), ref);
    const obj = this.src.get(kind, namespace, name);
    if (!obj || (obj.kind && obj.apiVersion)) return obj;
    return { ...obj, apiVersion: obj.apiVersion || apiVersionOf(served(kind)), kind };
  }

  /** Cluster-scoped mirror objects, Image `cluster` and RegistryAccess objects whose selector `applies`. */
  clusterScoped(selects: Selects): void {
    const objects = [...this.src.clusterScoped()].sort((a, b) => byteOrder(objectKey(a), objectKey(b)));
    for (const obj of objects) {
      const kind = kindOf(obj);
      if (!isListed(kind) || (kind === 'Image' && obj.metadata.name !== 'cluster')) continue;
      if (!appliesTo(obj, selects)) continue;
      this.use(obj, originOf(obj, locationOf(obj)));
    }
  }

  nodePoolTarget(namespace: string, name: string): void {
    const np = this.get('NodePool', namespace, name);
    if (!np) {
      this.problems.push({ reason: 'MissingReference', message: `NodePool ${namespace}/${name} not found` });
      return;
    }
    this.nodePool = np;
    const npOrigin = originOf(np, locationOf(np));
    if (!this.valid(np, npOrigin)) return;
    this.contribute(npOrigin);
    const labels = np.metadata.labels ?? {};
    this.hostedClusterOf(np, npOrigin);
    this.nodePoolConfig(np, npOrigin);
    this.clusterScoped(nodePoolSelects(labels));
  }

  private hostedClusterOf(np: KubeObject, npOrigin: Origin): void {
    const ns = np.metadata.namespace ?? '';
    const clusterName = String(field(np, 'spec', 'clusterName'));
    const hc = this.get('HostedCluster', ns, clusterName);
    if (!hc) {
      this.problems.push({
        reason: 'MissingReference',
        message: `HostedCluster ${ns}/${clusterName} not found`,
        origin: npOrigin,
        field: 'spec.clusterName',
        value: clusterName,
      });
      return;
    }
    this.hostedCluster = hc;
    const origin = originOf(hc, locationOf(hc));
    // An invalid HostedCluster still has its mirror ConfigMap read: its problems are reported in the same pass.
    this.use(hc, origin);
    const ref = field(hc, 'spec', 'imageMirrorConfigRef', 'name') ?? field(hc, 'spec', 'imageMirrorConfig', 'name');
    if (typeof ref !== 'string' || ref === '') return;
    const refField = field(hc, 'spec', 'imageMirrorConfigRef') ? 'spec.imageMirrorConfigRef.name' : 'spec.imageMirrorConfig.name';
    this.bothMirrorConfigFields(hc, ns);
    this.mirrorConfigMap(ns, ref, { origin, field: refField });
  }

  /** `imageMirrorConfigRef` wins over `imageMirrorConfig` (SPEC §1); with both set, say so rather than ignore one silently. */
  private bothMirrorConfigFields(hc: KubeObject, ns: string): void {
    const used = field(hc, 'spec', 'imageMirrorConfigRef', 'name');
    const ignored = field(hc, 'spec', 'imageMirrorConfig', 'name');
    if (typeof used !== 'string' || used === '' || typeof ignored !== 'string' || ignored === '') return;
    const what =
      used === ignored
        ? `both name ConfigMap ${ns}/${used}`
        : `ConfigMap ${ns}/${used} (spec.imageMirrorConfigRef.name) is used, ${ns}/${ignored} (spec.imageMirrorConfig.name) is ignored`;
    this.warnings.push({
      code: 'AmbiguousReference',
      renderer: 'inputs',
      source: `HostedCluster ${ns}/${hc.metadata.name}`,
      message: `sets both spec.imageMirrorConfigRef and spec.imageMirrorConfig: ${what}; remove spec.imageMirrorConfig`,
    });
  }

  /** HostedCluster `imageMirrorConfigRef`: keys idms.yaml / itms.yaml, mirror kinds only. */
  private mirrorConfigMap(ns: string, name: string, from: { origin: Origin; field: string }): void {
    const cm = this.configMap(ns, name, from);
    if (!cm) return;
    const present = MIRROR_CONFIG_KEYS.filter((k) => typeof dataOf(cm)[k] === 'string');
    if (present.length === 0) {
      this.problems.push({
        reason: 'InvalidReference',
        message: `ConfigMap ${ns}/${name} has neither key idms.yaml nor itms.yaml`,
        ...from,
        value: name,
      });
      return;
    }
    for (const key of present) {
      // These keys exist only to hold mirror sets: one that holds none is far more
      // likely a broken template than a wish to drop them (removing the key says that).
      const read = this.embedded(cm, key, 'error');
      if (read.objects === 0 && read.problems === 0) {
        this.problems.push({
          reason: 'EmptyInput',
          message: `key ${key} holds no ImageDigestMirrorSet or ImageTagMirrorSet (it is empty or only "---"); restore its documents, or remove the key to drop its mirrors`,
          origin: originOf(cm, locationOf(cm)),
          field: `data[${JSON.stringify(key)}]`,
        });
      }
    }
  }

  /** NodePool `spec.config[]`: key `config`; mirror kinds count, other kinds are ignored (SPEC §1). */
  private nodePoolConfig(np: KubeObject, npOrigin: Origin): void {
    const ns = np.metadata.namespace ?? '';
    const configs = (field(np, 'spec', 'config') ?? []) as { name: string }[];
    configs.forEach((c, i) => {
      const from = { origin: npOrigin, field: `spec.config[${i}].name` };
      const cm = this.configMap(ns, c.name, from);
      if (!cm) return;
      if (typeof dataOf(cm).config !== 'string') {
        this.problems.push({ reason: 'InvalidReference', message: `ConfigMap ${ns}/${c.name} has no key "config"`, ...from, value: c.name });
        return;
      }
      this.embedded(cm, 'config', 'ignore');
      // Mirror documents share this key with MachineConfigs and the like; only a key with no document at all says nothing.
      if (holdsNoDocuments(dataOf(cm).config as string)) {
        this.warnings.push({
          code: 'EmptyInput',
          renderer: 'inputs',
          source: `ConfigMap ${ns}/${c.name} key config`,
          message: `holds no documents, so NodePool ${ns}/${np.metadata.name} spec.config[${i}] configures nothing`,
        });
      }
    });
  }

  /**
   * A referenced ConfigMap, or undefined when it is missing (a problem) or
   * is one of our outputs (never read as an input: shared contract).
   */
  private configMap(ns: string, name: string, from: { origin: Origin; field: string }): KubeObject | undefined {
    const cm = this.get('ConfigMap', ns, name);
    if (!cm) {
      this.problems.push({ reason: 'MissingReference', message: `ConfigMap ${ns}/${name} not found`, ...from, value: name });
      return undefined;
    }
    if (cm.metadata.labels && Object.hasOwn(cm.metadata.labels, OUTPUT_LABEL)) return undefined;
    const origin = originOf(cm, locationOf(cm));
    if (!this.valid(cm, origin)) return undefined;
    this.contribute(origin);
    return cm;
  }

  /** Mirror documents embedded in one ConfigMap key; how many objects and problems it gave. */
  private embedded(cm: KubeObject, key: string, otherKinds: ParseOptions['otherKinds']): { objects: number; problems: number } {
    const location = `ConfigMap ${cm.metadata.namespace ?? ''}/${cm.metadata.name} key ${key}`;
    const parsed = parseObjects(dataOf(cm)[key] as string, { location, kinds: MIRROR_KINDS, otherKinds });
    this.problems.push(...parsed.problems);
    for (const doc of parsed.objects) this.use(doc, originOf(doc, locationOf(doc)));
    return { objects: parsed.objects.length, problems: parsed.problems.length };
  }

  /** Validates an object and adds what it contributes; false when it is invalid. */
  private use(obj: KubeObject, origin: Origin): boolean {
    const read = readObject(obj, origin);
    this.problems.push(...read.problems.map((p) => ({ ...p })));
    this.rejected.push(...read.rejected);
    if (read.problems.length > 0) return false;
    this.contribute(read.origin);
    this.entries.push(...read.entries);
    this.insecure.push(...read.insecure);
    this.blocked.push(...read.blocked);
    if (kindOf(obj) === 'RegistryAccess') this.registryAccess(obj, read.origin);
    return true;
  }

  private valid(obj: KubeObject, origin: Origin): boolean {
    // The same read as `use`, for its problems only (a NodePool or ConfigMap has no entries or scopes).
    const { problems } = readObject(obj, origin);
    this.problems.push(...problems.map((p) => ({ ...p })));
    return problems.length === 0;
  }

  private registryAccess(obj: KubeObject, origin: Origin): void {
    const read = readRegistryAccess(obj, origin, (kind, ns, name) => this.get(kind, ns, name));
    this.problems.push(...read.problems);
    for (const used of read.used) this.contribute(originOf(used, locationOf(used)));
    for (const a of read.access) {
      // Host names are case-insensitive: `Mirror.io` and `mirror.io` are one host.
      const first = this.hosts.get(a.host.toLowerCase());
      if (first) this.problems.push(duplicate(`host ${quote(a.host)}`, a, first, 'one setting per host'));
      else {
        this.hosts.set(a.host.toLowerCase(), a);
        this.access.push(a);
      }
    }
    if (!read.defaultMirror) return;
    if (this.defaultMirror) this.problems.push(duplicate('defaultMirror', read.defaultMirror, this.defaultMirror, 'one default mirror'));
    else this.defaultMirror = read.defaultMirror;
  }

  private contribute(o: Origin): void {
    this.contributors.set(originKey(o), o);
  }
}

/** What one object gives every target that uses it: its problems, or its entries and scopes. */
interface ReadObject {
  readonly origin: Origin;
  readonly problems: readonly Problem[];
  /** Entries of an object with semantic problems only (their policy conflicts are still reported). */
  readonly rejected: readonly MirrorEntry[];
  readonly entries: readonly MirrorEntry[];
  readonly insecure: readonly ScopeEntry[];
  readonly blocked: readonly ScopeEntry[];
}

/**
 * Reads of API objects by the object and its resourceVersion. A cluster-wide
 * object is used by every target (10,000 NodePools validate the same IDMS
 * again on each change otherwise); cache objects are replaced, never
 * changed, on an update, and a new resourceVersion misses anyway. Objects
 * without one (files, embedded documents) are read each time. The entries
 * and scopes are frozen: targets share them, and so does the render memo's key.
 */
const reads = new WeakMap<KubeObject, ReadObject>();

function readObject(obj: KubeObject, origin: Origin): ReadObject {
  const rv = obj.metadata.resourceVersion;
  const known = rv ? reads.get(obj) : undefined;
  if (known && known.origin.resourceVersion === rv && sameOrigin(known.origin, origin)) return known;
  const { schema, semantic } = validateObjectParts(obj, origin);
  const problems = [...schema, ...semantic];
  const valid = problems.length === 0;
  const scopes = valid ? scopesOf(obj, origin) : { insecure: [], blocked: [] };
  const read: ReadObject = deepFreeze({
    origin,
    problems,
    rejected: schema.length === 0 && semantic.length > 0 ? mirrorEntriesOf(obj, origin) : [],
    entries: valid ? mirrorEntriesOf(obj, origin) : [],
    insecure: scopes.insecure,
    blocked: scopes.blocked,
  });
  if (rv) reads.set(obj, read);
  return read;
}

function sameOrigin(a: Origin, b: Origin): boolean {
  return (
    a === b ||
    (a.location === b.location &&
      a.name === b.name &&
      a.namespace === b.namespace &&
      a.uid === b.uid &&
      a.generation === b.generation &&
      a.kind === b.kind &&
      a.apiVersion === b.apiVersion)
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function duplicate(what: string, later: { origin: Origin; field: string }, first: { origin: Origin; field: string }, rule: string): Problem {
  const where = `${first.origin.kind} ${first.origin.name}${first.origin.location ? ` (${first.origin.location})` : ''} ${first.field}`;
  return {
    reason: 'DuplicateAccess',
    message: `${what} is also set by ${where}; a target takes ${rule}`,
    origin: later.origin,
    field: later.field,
  };
}

/** A nested field of an object, or undefined when any step is missing. */
function field(obj: KubeObject, ...path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function dataOf(cm: KubeObject): Record<string, unknown> {
  const d = cm.data;
  return typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : {};
}

/** Only our own kinds carry a nodePoolSelector; OpenShift's apply to every target. */
function selectorOf(obj: KubeObject): unknown {
  return isOurs(obj) ? field(obj, 'spec', 'nodePoolSelector') : undefined;
}

function objectKey(o: KubeObject): string {
  return `${o.kind}\u0000${o.apiVersion}\u0000${o.metadata.namespace ?? ''}\u0000${o.metadata.name}\u0000${locationOf(o) ?? ''}`;
}

function refKey(r: Reference): string {
  return `${r.kind}\u0000${r.namespace}\u0000${r.name}`;
}

function originKey(o: Origin): string {
  return `${o.kind}\u0000${o.apiVersion}\u0000${o.namespace ?? ''}\u0000${o.name}\u0000${o.location ?? ''}`;
}

function sortOrigins(list: Origin[]): Origin[] {
  return list.sort((a, b) => byteOrder(originKey(a), originKey(b)));
}
