// The `config` key of a NodePool output: one MachineConfig that HyperShift's
// NodePool controller turns into ignition when the ConfigMap is listed in
// `NodePool.spec.config` (docs/hypershift.md). Nodes of a HostedCluster never
// run the node agent, so this is their only way to get the files.
//
// What goes in: the registries.conf drop-in and the containers CA files. RHCOS
// runs CRI-O, so containerd files stay out. Nothing secret goes in: ignition
// is served to every node of the pool and the ConfigMap is readable by anyone
// who may read ConfigMaps in the namespace.
//
// Byte stability matters more than anywhere else: HyperShift hashes the
// content and every change rolls the nodes of the pool. The text is JSON (a
// subset of YAML) with every object's keys sorted, so the bytes depend only
// on this file and the model, never on a serializer's version.
import { byteOrder } from '../merge/scope.js';
import type { HostAccess, MirrorModel, RenderWarning } from '../model/types.js';
import { invariant } from './errors.js';
import { CONTAINERS_CERTS_DIR, REGISTRIES_CONF_PATH } from './paths.js';
import type { NodeFile } from './types.js';
import { sortedWarnings } from './warnings.js';

/** The ConfigMap key HyperShift reads from every ConfigMap in `NodePool.spec.config`. */
export const MACHINE_CONFIG_KEY = 'config';
export const MACHINE_CONFIG_NAME = '99-worker-image-mirrors';
export const MACHINE_CONFIG_API_VERSION = 'machineconfiguration.openshift.io/v1';
export const ROLE_LABEL = 'machineconfiguration.openshift.io/role';
/** The ignition spec the Machine Config Operator accepts in MachineConfigs of every supported release. */
export const IGNITION_VERSION = '3.2.0';
export const DATA_URL_PREFIX = 'data:text/plain;charset=utf-8;base64,';

/** `/etc/containers/certs.d/<host[:port]>/ca.crt`: one directory level, nothing else. */
const CONTAINERS_CA = new RegExp(`^${CONTAINERS_CERTS_DIR.replaceAll('.', '\\.')}/[^/]+/ca\\.crt$`);

export interface MachineConfigOutput {
  /** The value of the `config` key. */
  content: string;
  /** The node files it installs, sorted by path. */
  files: NodeFile[];
  warnings: RenderWarning[];
}

/** One ignition `storage.files` entry (ignition spec 3.2.0). */
export interface IgnitionFile {
  path: string;
  /** Decimal in JSON: 420 for 0644. */
  mode: number;
  overwrite: boolean;
  contents: { source: string };
}

/**
 * Builds the MachineConfig from the files `render()` returned for the same
 * model. Pure: the same model and files give the same bytes.
 */
export function renderMachineConfig(model: MirrorModel, files: readonly NodeFile[]): MachineConfigOutput {
  const selected = files.filter(isCrioFile).sort((a, b) => byteOrder(a.path, b.path));
  const doc = {
    apiVersion: MACHINE_CONFIG_API_VERSION,
    kind: 'MachineConfig',
    metadata: { name: MACHINE_CONFIG_NAME, labels: { [ROLE_LABEL]: 'worker' } },
    spec: { config: { ignition: { version: IGNITION_VERSION }, storage: { files: selected.map(ignitionFile) } } },
  };
  return { content: `${JSON.stringify(sortedKeys(doc), null, 2)}\n`, files: selected, warnings: omittedCredentials(model.access) };
}

/**
 * The files CRI-O reads that hold nothing secret. Client certificates stay
 * out with their keys: containers/image refuses a certs.d directory holding
 * a `client.cert` without its `client.key`, which would break every pull
 * from that host.
 */
function isCrioFile(f: NodeFile): boolean {
  return !f.secret && (f.path === REGISTRIES_CONF_PATH || CONTAINERS_CA.test(f.path));
}

function ignitionFile(f: NodeFile): IgnitionFile {
  invariant(f.path.startsWith('/') && Number.isInteger(f.mode), `bad node file ${JSON.stringify(f.path)} for ignition`);
  return { path: f.path, mode: f.mode, overwrite: true, contents: { source: dataUrl(f.content) } };
}

export function dataUrl(content: string): string {
  return `${DATA_URL_PREFIX}${Buffer.from(content, 'utf8').toString('base64')}`;
}

/** Inverse of dataUrl, for tests and tools; undefined when `url` is not one of ours. */
export function decodeDataUrl(url: string): string | undefined {
  if (!url.startsWith(DATA_URL_PREFIX)) return undefined;
  return Buffer.from(url.slice(DATA_URL_PREFIX.length), 'base64').toString('utf8');
}

/** One warning per host whose credentials or client certificate the MachineConfig leaves out. */
function omittedCredentials(access: readonly HostAccess[]): RenderWarning[] {
  const out: RenderWarning[] = [];
  for (const a of [...access].sort((x, y) => byteOrder(x.host, y.host))) {
    if (a.auth) {
      out.push(
        warning(
          a.host,
          `credentials for ${a.host} are not put into the NodePool's MachineConfig (ignition is not secret); ` +
            `add them to the HostedCluster's global pull secret (spec.pullSecret) instead`,
        ),
      );
    }
    if (a.clientCert) {
      out.push(
        warning(
          a.host,
          `the client certificate for ${a.host} is not put into the NodePool's MachineConfig (its private key ` +
            `would be served in ignition); nodes of this NodePool reach ${a.host} without it`,
        ),
      );
    }
  }
  return out;
}

function warning(host: string, message: string): RenderWarning {
  return { code: 'CredentialsOmitted', renderer: 'machineconfig', source: host, message };
}

/** A deep copy with every object's keys in byte order (arrays keep their order). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => byteOrder(a, b));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortedKeys(v)]));
}

/** Warnings of both renderings, sorted and de-duplicated as render() sorts its own. */
export function mergeWarnings(a: readonly RenderWarning[], b: readonly RenderWarning[]): RenderWarning[] {
  return sortedWarnings([...a, ...b]);
}
