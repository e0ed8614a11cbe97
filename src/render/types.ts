// What the renderers return: files for a node, independent of where they
// are stored (ConfigMap/Secret keys, a directory for the CLI, ignition).
import type { RenderWarning } from '../model/types.js';

/** One file to install on a node. */
export interface NodeFile {
  /**
   * Key in the output ConfigMap or Secret: `[-._a-zA-Z0-9]+`, unique per target.
   * Examples: `registries.conf`, `containerd.quay.io.hosts.toml`.
   */
  key: string;
  /** Absolute path on the node, e.g. `/etc/containerd/certs.d/quay.io/hosts.toml`. */
  path: string;
  /** File mode, e.g. 0o644 (0o600 for anything secret). */
  mode: number;
  content: string;
  /** Holds credentials or a private key: stored only in the output Secret. */
  secret: boolean;
}

/** The `files.json` key of the output ConfigMap: key -> where the agent installs it. */
export interface FilesManifestEntry {
  path: string;
  /** Octal string, e.g. "0644". */
  mode: string;
  /** Which object holds the key. */
  from: 'ConfigMap' | 'Secret';
}
export type FilesManifest = Record<string, FilesManifestEntry>;

export interface RenderOutput {
  /** Sorted by key. */
  files: NodeFile[];
  warnings: RenderWarning[];
}
