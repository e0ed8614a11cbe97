// containerd registry host configuration (SPEC §4): one
// /etc/containerd/certs.d/<dir>/hosts.toml per registry host, plus the CA
// and client certificate files it refers to, in the same directory.
import type { RenderWarning } from '../model/types.js';
import type { MirrorModel } from '../model/types.js';
import { type ContainerdPlan, planContainerd } from './containerd-plan.js';
import { formatHostsToml, toHostsToml } from './hosts-toml.js';
import { CONTAINERD_CERTS_DIR, keyFor, PUBLIC_MODE, SECRET_MODE } from './paths.js';
import type { NodeFile } from './types.js';

export function renderContainerd(model: MirrorModel): { files: NodeFile[]; warnings: RenderWarning[] } {
  const plan = planContainerd(model);
  return { files: planFiles(plan), warnings: plan.warnings.added() };
}

/**
 * renderContainerd with the warnings in the order sortedWarnings gives them
 * (duplicates kept; `strict` when known to have none), for render().
 */
export function renderContainerdSorted(model: MirrorModel): { files: NodeFile[]; warnings: RenderWarning[]; strict: boolean } {
  const plan = planContainerd(model);
  const { warnings, strict } = plan.warnings.sorted();
  return { files: planFiles(plan), warnings, strict };
}

function planFiles({ dirs }: ContainerdPlan): NodeFile[] {
  const files: NodeFile[] = [];
  for (const plan of dirs) {
    const mapped = toHostsToml(plan);
    files.push(nodeFile(plan.dir, 'hosts.toml', formatHostsToml(mapped.doc), mapped.secret));
    for (const f of mapped.files) files.push(nodeFile(plan.dir, f.name, f.content, f.secret));
  }
  return files;
}

function nodeFile(dir: string, name: string, content: string, secret: boolean): NodeFile {
  const path = `${CONTAINERD_CERTS_DIR}/${dir}/${name}`;
  return {
    key: keyFor(`containerd.${dir}.${name}`, path),
    path,
    mode: secret ? SECRET_MODE : PUBLIC_MODE,
    content,
    secret,
  };
}
