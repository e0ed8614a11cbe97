// `image-mirror agent`: installs the published node files on this node.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONTAINERD_CONFIG } from '../agent/containerd-check.js';
import { runLoop, runOnce, type AgentOptions } from '../agent/index.js';
import { DEFAULT_STATE_PATH } from '../agent/state.js';
import { DEFAULT_OPERATOR_NAMESPACE } from '../contract.js';
import { parseImageRef, type ImageRef } from '../explain/reference.js';

interface AgentFlags {
  kubeconfig?: string;
  nodeName?: string;
  namespace: string;
  nodepoolNamespace?: string;
  configmap?: string;
  root: string;
  stateFile: string;
  containerdConfig: string;
  reloadCrioCommand?: string;
  resyncInterval: number;
  probeInterval: number;
  probeTimeout: number;
  probeImage?: ImageRef;
  metricsBindAddress?: string;
  once?: boolean;
  logLevel: string;
}

function rootDir(value: string): string {
  if (!isAbsolute(value)) throw new InvalidArgumentError(`"${value}" must be an absolute path`);
  const st = statSync(value, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new InvalidArgumentError(`"${value}" is not a directory`);
  return value;
}

function nodePath(value: string): string {
  if (value !== '' && !isAbsolute(value)) throw new InvalidArgumentError(`"${value}" must be an absolute path on the node`);
  return value;
}

function secondsOrZero(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" must be a whole number of seconds (0 disables)`);
  return n;
}

function imageRef(value: string): ImageRef {
  const r = parseImageRef(value);
  if (!r.ok) throw new InvalidArgumentError(r.error);
  return r.ref;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" must be a whole number of seconds >= 1`);
  return n;
}

/** Registers the `agent` subcommand on `program` and returns it. */
export function registerAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('install the published registries.conf / hosts.toml files on this node and keep them current')
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster config, $KUBECONFIG or ~/.kube/config)')
    .addOption(new Option('--node-name <name>', 'this node: its labels pick the output, and it receives the condition, annotation and events').env('NODE_NAME'))
    .option('--namespace <ns>', 'namespace of the cluster-wide output (the operator namespace)', DEFAULT_OPERATOR_NAMESPACE)
    .option('--nodepool-namespace <ns>', 'namespace of NodePool outputs (default: --namespace)')
    .option('--configmap <name>', 'use this ConfigMap and Secret in --namespace instead of picking by node label')
    .option('--root <dir>', 'directory where the node root filesystem is mounted', rootDir, '/')
    .option('--state-file <path>', 'node path of the list of files the agent owns', nodePath, DEFAULT_STATE_PATH)
    .option('--containerd-config <path>', 'node path of containerd config.toml to check for config_path ("" to skip)', nodePath, DEFAULT_CONTAINERD_CONFIG)
    .option('--reload-crio-command <cmd>', 'shell command run after files under /etc/containers changed, e.g. "systemctl reload crio" (never run by default)')
    .option('--resync-interval <seconds>', 're-apply this often even without changes, to repair drift', seconds, 300)
    .option(
      '--probe-interval <seconds>',
      'probe every mirror the installed files name this often (±20% jitter), and soon after files change; 0 disables',
      secondsOrZero,
      600,
    )
    .option('--probe-timeout <seconds>', 'deadline for the probe of one mirror (TCP, TLS, API root, authentication, probe image)', seconds, 5)
    .option('--probe-image <ref>', 'also check that this image (e.g. the release image by digest) resolves on the mirrors predicted to serve it', imageRef)
    .option('--metrics-bind-address <addr>', 'serve Prometheus /metrics of the probes on [host]:port (default: off)')
    .option('--once', 'apply once and exit: 0 applied, 1 not applied, 3 applied but the Node report or the CRI-O reload command failed')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (flags: AgentFlags) => {
      process.exitCode = await runAgentCommand(flags);
    });
}

async function runAgentCommand(flags: AgentFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { component: 'agent', node: flags.nodeName } });
  const opts: AgentOptions = {
    kubeconfig: flags.kubeconfig,
    nodeName: flags.nodeName || undefined,
    target: { namespace: flags.namespace, nodePoolNamespace: flags.nodepoolNamespace, configMap: flags.configmap },
    root: flags.root,
    statePath: flags.stateFile,
    containerdConfig: flags.containerdConfig || undefined,
    reloadCrioCommand: flags.reloadCrioCommand,
    resyncMs: flags.resyncInterval * 1000,
    log,
  };
  if (flags.probeInterval > 0) {
    opts.probes = {
      intervalMs: flags.probeInterval * 1000,
      timeoutMs: flags.probeTimeout * 1000,
      probeImage: flags.probeImage,
      metricsBind: flags.metricsBindAddress || undefined,
    };
  }
  try {
    if (flags.once) return await runOnce(opts);
    const stop = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
    await runLoop(opts, stop.signal);
    log.info('agent stopped');
    return 0;
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'agent failed');
    return 1;
  }
}
