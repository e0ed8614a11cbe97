// `image-mirror explain IMAGE [PATH...]`: where each runtime pulls IMAGE
// from under the configuration rendered from PATHs (offline), or from the
// cluster of the current kubeconfig when no PATH is given. Exit codes:
// 0 explained, 1 invalid input, 2 usage, 3 some runtime cannot pull IMAGE.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { dump } from 'js-yaml';
import { cannotPull, explain, parseImageRef, type Explanation, type ImageRef, type Runtime } from '../explain/index.js';
import { formatExplanation } from '../explain/format.js';
import { DEFAULT_OPERATOR_NAMESPACE } from '../contract.js';
import { formatProblem, type Problem } from '../model/types.js';
import type { Target } from '../model/source.js';
import { type AgentFiles, DEFAULT_AGENT_FILES, isContainerdFile } from '../render/agent-files.js';
import { agentFilesOption, EXIT_INVALID, parseTarget, renderPaths } from './render.js';

export const EXIT_CANNOT_PULL = 3;

export interface ExplainFlags {
  target?: Target;
  /** NodePool targets: the agent files the controller publishes (its --nodepool-agent-files). */
  nodepoolAgentFiles?: AgentFiles;
  output: 'human' | 'json' | 'yaml';
  runtime: 'all' | Runtime;
  from: 'inputs' | 'published';
  kubeconfig?: string;
  context?: string;
  namespace: string;
}

function imageRef(value: string): ImageRef {
  const parsed = parseImageRef(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.ref;
}

export function targetLabel(t: Target): string {
  return t.kind === 'Cluster' ? 'cluster-wide target' : `NodePool ${t.namespace}/${t.name}`;
}

/** The notes every NodePool explanation carries: its nodes do not get every file the agent would install. */
export function nodePoolNotes(t: Target, files: ReadonlyArray<{ path: string }>): string[] {
  if (t.kind !== 'NodePool') return [];
  const containerd = files.some(isContainerdFile)
    ? 'the containerd files are for nodes running the agent'
    : 'no containerd files are published for a NodePool (its nodes run CRI-O; agent files "all" adds them), so containerd is not explained';
  return [
    'HyperShift NodePool nodes get registries.conf and the CA files through the MachineConfig (NodePool.spec.config); ' +
      `credentials come from the HostedCluster pull secret there, and ${containerd}`,
  ];
}

/** The runtimes to explain: the one asked for; for a NodePool output without containerd files, containers/image only. */
export function runtimesFor(t: Target, files: ReadonlyArray<{ path: string }>, runtime: ExplainFlags['runtime']): Runtime[] | undefined {
  if (runtime !== 'all') return [runtime];
  return t.kind === 'NodePool' && !files.some(isContainerdFile) ? ['containers-image'] : undefined;
}

/** Explains from files: the same load, validation and render as `render`. */
export function explainFromPaths(
  ref: ImageRef,
  paths: readonly string[],
  flags: Pick<ExplainFlags, 'target' | 'runtime' | 'nodepoolAgentFiles'>,
): { errors: Problem[]; explanation?: Explanation } {
  const target = flags.target ?? { kind: 'Cluster' as const };
  const { errors, rendered } = renderPaths(paths, target, { nodePoolAgentFiles: flags.nodepoolAgentFiles ?? DEFAULT_AGENT_FILES });
  if (errors.length > 0 || !rendered?.outcome.ok) return { errors };
  const { output, hash } = rendered.outcome;
  const explanation = explain({
    ref,
    files: output.files.map((f) => ({ path: f.path, content: f.content })),
    inputs: rendered.gathered.inputs,
    warnings: [...output.warnings, ...(rendered.outcome.containerdWarnings ?? [])],
    target: targetLabel(target),
    from: 'files',
    contentHash: `sha256:${hash}`,
    runtimes: runtimesFor(target, output.files, flags.runtime),
    notes: nodePoolNotes(target, output.files),
  });
  return { errors: [], explanation };
}

export function printExplanation(e: Explanation, output: ExplainFlags['output']): void {
  if (output === 'json') process.stdout.write(`${JSON.stringify(e, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(dump(e, { noRefs: true, lineWidth: -1 }));
  else process.stdout.write(formatExplanation(e));
  process.exitCode = cannotPull(e) ? EXIT_CANNOT_PULL : 0;
}

function reportErrors(errors: readonly Problem[]): void {
  for (const p of errors) process.stderr.write(`error: ${formatProblem(p)}\n`);
  process.stderr.write(`${errors.length} error(s)\n`);
  process.exitCode = EXIT_INVALID;
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('say, for one image reference, which endpoints CRI-O/podman/skopeo and containerd try, in which order, and why')
    .argument('<image>', 'image reference, e.g. quay.io/ns/app:v1 or quay.io/ns/app@sha256:...', imageRef)
    .argument('[path...]', 'YAML/JSON files or directories, as for render; without any, read the cluster of the current kubeconfig')
    .option('--target <namespace/nodepool>', 'explain for this NodePool (default: the cluster-wide target)', parseTarget)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['human', 'json', 'yaml']).default('human'))
    .addOption(new Option('--runtime <runtime>', 'explain only this runtime').choices(['all', 'containers-image', 'containerd']).default('all'))
    .addOption(
      new Option('--from <what>', 'cluster only: render from the inputs the controller reads, or read the published output the nodes install')
        .choices(['inputs', 'published'])
        .default('inputs'),
    )
    .option('--kubeconfig <path>', 'cluster only: kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'cluster only: kubeconfig context')
    .option('--namespace <ns>', 'cluster only: the operator namespace (where the cluster-wide output lives)', DEFAULT_OPERATOR_NAMESPACE)
    .addOption(agentFilesOption())
    .addHelpText('after', EXPLAIN_HELP)
    .action(async (ref: ImageRef, paths: string[], flags: ExplainFlags) => {
      if (paths.length > 0) {
        const { errors, explanation } = explainFromPaths(ref, paths, flags);
        if (!explanation) return reportErrors(errors);
        return printExplanation(explanation, flags.output);
      }
      const { explainFromCluster } = await import('./explain-cluster.js');
      const result = await explainFromCluster(ref, flags);
      if (!result.ok) {
        for (const line of result.errors) process.stderr.write(`error: ${line}\n`);
        process.exitCode = EXIT_INVALID;
        return;
      }
      printExplanation(result.explanation, flags.output);
    });
}

const EXPLAIN_HELP = `
Each runtime reads the rendered files as it would on a node:
  containers/image (CRI-O, podman, skopeo): the longest [[registry]] prefix, its mirrors filtered by
    mirror-by-digest-only / pull-from-mirror, then the location; blocked endpoints are refused before any request.
  containerd: certs.d/<host>/hosts.toml host tables in file order, then server, filtered by capabilities
    (a tag needs pull and resolve); requests carry ?ns=<registry> on mirrors and honour override_path.

Against a cluster (no PATH), --from inputs (default) gathers the objects the controller reads (it needs the
same read access, Secrets referenced by RegistryAccess included) and says who asked for each endpoint;
--from published reads the output ConfigMap/Secret the nodes install (files in a Secret you cannot read are
reported as unknown).

Exit status: 0 explained, 1 invalid input (or the cluster could not be read), 2 usage error,
3 some runtime explained cannot pull IMAGE under this configuration (e.g. NeverContactSource with only digest
mirrors, pulled by tag).

Examples:
  image-mirror explain quay.io/openshift-release-dev/ocp-release@sha256:<digest> --target clusters/demo-workers examples/hypershift
  image-mirror explain -o json registry.k8s.io/pause:3.10 examples/cluster
  kubectl image-mirror explain --target clusters/demo-workers quay.io/openshift-release-dev/ocp-release:4.18.1-x86_64
`;
