// `image-mirror render` and `image-mirror validate`: the operator's merge,
// offline, over YAML/JSON files. Exit codes: 0 ok (warnings on stderr),
// 1 invalid input (every error on stderr, nothing written), 2 usage.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { FileObjectSource, loadPaths, uniqueProblems } from '../model/files.js';
import type { Target } from '../model/source.js';
import { formatProblem, type Problem, type RenderWarning } from '../model/types.js';
import { type PipelineOptions, renderTarget, type RenderedTarget } from '../pipeline.js';
import { AGENT_FILES, type AgentFiles, DEFAULT_AGENT_FILES } from '../render/agent-files.js';
import { MACHINE_CONFIG_KEY } from '../render/machineconfig.js';
import type { NodeFile } from '../render/types.js';

export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

/** `NAMESPACE/NODEPOOL` -> Target; the cluster target when absent. */
export function parseTarget(value: string): Target {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not NAMESPACE/NODEPOOL (lower-case DNS names)`);
  return { kind: 'NodePool', namespace: m[1]!, name: m[3]! };
}

/**
 * Loads, validates and renders; never writes. Every problem is returned:
 * those of loading (every object is validated, selected or not) and those
 * of the target (references, conflicts across objects), each once.
 */
export function renderPaths(paths: readonly string[], target: Target, options: PipelineOptions = {}): { errors: Problem[]; rendered?: RenderedTarget } {
  const loaded = loadPaths(paths);
  const rendered = renderTarget(new FileObjectSource(loaded.objects), target, undefined, options);
  const errors = uniqueProblems([...loaded.problems, ...(rendered.outcome.ok ? [] : rendered.outcome.errors)]);
  return { errors, rendered };
}

export function formatWarning(w: RenderWarning): string {
  const pair = w.mirror ? `${w.source} -> ${w.mirror}` : w.source;
  return `warning: ${w.renderer}: ${pair}: ${w.message} [${w.code}]`;
}

/**
 * Writes every node file under `outDir` at its node path. Paths were checked
 * by the renderer; the check here keeps a bug from ever writing outside DIR.
 */
export function writeTree(outDir: string, files: readonly NodeFile[]): string[] {
  const root = resolve(outDir);
  const written: string[] = [];
  for (const f of files) {
    const dest = resolve(root, `.${f.path}`);
    if (!dest.startsWith(root + sep)) throw new Error(`internal error: node path ${JSON.stringify(f.path)} escapes the output directory`);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, f.content, { mode: f.mode });
    chmodSync(dest, f.mode);
    written.push(dest.slice(root.length + 1));
  }
  return written;
}

function usage(message: string): void {
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = EXIT_USAGE;
}

function report(errors: readonly Problem[]): void {
  for (const p of errors) process.stderr.write(`error: ${formatProblem(p)}\n`);
  process.stderr.write(`${errors.length} error(s); nothing written\n`);
  process.exitCode = EXIT_INVALID;
}

export function registerRenderCommands(program: Command): void {
  program
    .command('render')
    .description('merge mirror objects from files and write the node file tree (registries.conf, containerd hosts.toml, CA files, auth.json)')
    .argument('<path...>', 'YAML/JSON files or directories (recursively: *.yaml, *.yml, *.json); "-" reads standard input')
    .requiredOption('--out <dir>', 'directory to write the node file tree into (etc/containers/..., etc/containerd/...)')
    .option(
      '--target <namespace/nodepool>',
      'render for this NodePool: its HostedCluster, their ConfigMaps, plus cluster-wide objects (default: the cluster-wide target)',
      parseTarget,
    )
    .option('--machineconfig <file>', 'with --target: also write the MachineConfig for NodePool.spec.config (the output ConfigMap key `config`) to FILE')
    .addOption(agentFilesOption())
    .addHelpText('after', RENDER_HELP)
    .action((paths: string[], opts: { out: string; target?: Target; machineconfig?: string; nodepoolAgentFiles: AgentFiles }) => {
      if (opts.machineconfig && !opts.target) return usage('--machineconfig needs --target: only NodePool targets get a MachineConfig');
      const { errors, rendered } = renderPaths(paths, opts.target ?? { kind: 'Cluster' }, { nodePoolAgentFiles: opts.nodepoolAgentFiles });
      if (errors.length > 0 || !rendered?.outcome.ok) return report(errors);
      const { output, hash } = rendered.outcome;
      for (const w of output.warnings) process.stderr.write(`${formatWarning(w)}\n`);
      // NodePool targets: containerd's warnings only concern the containerd files (agent files "all").
      for (const w of rendered.outcome.containerdWarnings ?? []) process.stderr.write(`${formatWarning(w)} (containerd files only)\n`);
      for (const file of writeTree(opts.out, output.files)) process.stdout.write(`${file}\n`);
      if (opts.machineconfig) writeFileSync(opts.machineconfig, rendered.outcome.configMapData[MACHINE_CONFIG_KEY] ?? '', { mode: 0o644 });
      // With secret files the operator's content hash also covers them, keyed by its output Secret: not known here.
      const secret = Object.keys(rendered.outcome.secretData).length > 0;
      process.stderr.write(
        `rendered ${output.files.length} file(s), ${rendered.outcome.model.rules.length} registry rule(s), ${secret ? 'ConfigMap hash' : 'content hash'} ${hash.slice(0, 12)}\n`,
      );
    });
  program
    .command('validate')
    .description('run every check of render without writing anything')
    .argument('<path...>', 'YAML/JSON files or directories')
    .option('--target <namespace/nodepool>', 'validate for this NodePool (default: the cluster-wide target)', parseTarget)
    .addOption(agentFilesOption())
    .action((paths: string[], opts: { target?: Target; nodepoolAgentFiles: AgentFiles }) => {
      const { errors, rendered } = renderPaths(paths, opts.target ?? { kind: 'Cluster' }, { nodePoolAgentFiles: opts.nodepoolAgentFiles });
      if (errors.length > 0 || !rendered?.outcome.ok) return report(errors);
      for (const w of rendered.outcome.output.warnings) process.stderr.write(`${formatWarning(w)}\n`);
      process.stdout.write(`valid: ${rendered.gathered.inputs.contributors.length} object(s), ${rendered.outcome.model.rules.length} registry rule(s)\n`);
    });
}

/** `--nodepool-agent-files`, as the controller takes it (render, validate, explain). */
export function agentFilesOption(): Option {
  return new Option(
    '--nodepool-agent-files <which>',
    'with --target: node files besides the MachineConfig, as the controller publishes them (none, crio: no containerd files, all)',
  )
    .choices([...AGENT_FILES])
    .default(DEFAULT_AGENT_FILES);
}

const RENDER_HELP = `
Output tree (paths as on a node):
  etc/containers/registries.conf.d/99-image-mirrors.conf   containers-registries.conf v2 drop-in (CRI-O, podman, skopeo)
  etc/containerd/certs.d/<host>/hosts.toml                  containerd hosts (host:port is written as host_port_)
  etc/containerd/certs.d/<host>/<mirror>.crt                CA referenced by hosts.toml
  etc/containers/certs.d/<host[:port]>/ca.crt               CA for containers/image
  etc/containers/auth.json                                  credentials for containers/image (only when configured)

Exit status: 0 rendered (warnings on stderr, one per line), 1 invalid input (every error on stderr, nothing written), 2 usage error.

Examples:
  image-mirror render --out /tmp/node examples/cluster
  image-mirror render --target clusters/demo-workers --out /tmp/np examples/hypershift examples/cluster
  image-mirror render --target clusters/demo-workers --out /tmp/np --machineconfig /tmp/np-mc.json examples/hypershift
`;
