// Which node files a NodePool target publishes besides the MachineConfig
// (docs/hypershift.md "Which keys"). HyperShift reads only the `config` key;
// the other keys are for a node agent, which never runs on NodePool nodes
// from the management cluster and, where one runs at all (a DaemonSet inside
// the hosted cluster reading a copy), runs on RHCOS nodes, that is CRI-O:
// - `crio` (default): files.json and the files containers/image reads
//   (registries.conf drop-in, certs.d, auth.json), no containerd files;
// - `none`: the `config` key only;
// - `all`: every node file, containerd included (the behaviour before).
// Pure: files in, files out.
import type { RenderWarning } from '../model/types.js';
import { CONTAINERD_CERTS_DIR } from './paths.js';
import type { NodeFile } from './types.js';

export const AGENT_FILES = ['none', 'crio', 'all'] as const;
export type AgentFiles = (typeof AGENT_FILES)[number];
export const DEFAULT_AGENT_FILES: AgentFiles = 'crio';

export function isAgentFiles(v: unknown): v is AgentFiles {
  return typeof v === 'string' && (AGENT_FILES as readonly string[]).includes(v);
}

export function isContainerdFile(f: Pick<NodeFile, 'path'>): boolean {
  return f.path.startsWith(`${CONTAINERD_CERTS_DIR}/`);
}

/** The node files published for the agent. */
export function agentFiles(files: readonly NodeFile[], which: AgentFiles): NodeFile[] {
  if (which === 'none') return [];
  if (which === 'crio') return files.filter((f) => !isContainerdFile(f));
  return [...files];
}

/**
 * Warnings of a NodePool target. Its nodes run CRI-O: containerd's warnings
 * are not target warnings. When the containerd files are published anyway
 * (`all`), they are listed apart, with those files.
 */
export function splitWarnings(warnings: readonly RenderWarning[], which: AgentFiles): { target: RenderWarning[]; containerd: RenderWarning[] } {
  const target = warnings.filter((w) => w.renderer !== 'containerd');
  const containerd = which === 'all' ? warnings.filter((w) => w.renderer === 'containerd') : [];
  return { target, containerd };
}

/** On a NodePool: overrides the operator's `--nodepool-agent-files` for that NodePool (`none`, `crio` or `all`). */
export const AGENT_FILES_ANNOTATION = 'imagemirror.io/agent-files';

/** The agent files of a NodePool: its annotation, else the default; an unknown value is a warning and the default applies. */
export function agentFilesOf(
  annotations: Readonly<Record<string, string>> | undefined,
  fallback: AgentFiles,
  where: string,
): { which: AgentFiles; warning?: RenderWarning } {
  const value = annotations?.[AGENT_FILES_ANNOTATION];
  if (value === undefined) return { which: fallback };
  if (isAgentFiles(value)) return { which: value };
  return {
    which: fallback,
    warning: {
      code: 'InvalidAnnotation',
      renderer: 'inputs',
      source: `${where} annotation ${AGENT_FILES_ANNOTATION}`,
      message: `${JSON.stringify(value)} is not one of ${AGENT_FILES.join(', ')}; ${fallback} applies`,
    },
  };
}
