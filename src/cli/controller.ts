// `image-mirror controller`: runs the operator against a cluster.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { identifyAs } from '../common/client-identity.js';
import { Controller, type ControllerConfig, type TargetMode } from '../controller/controller.js';
import { apiWriter, KubeApi, RESOURCES } from '../controller/kube.js';
import { closeIdleConnections, reuseConnections } from '../controller/keepalive.js';
import { leaseClientFor } from '../controller/leader.js';
import { createLogger, errorFields, LOG_LEVELS, type Logger, type LogLevel } from '../controller/log.js';
import { ControllerMetrics } from '../controller/metrics.js';
import { DEFAULT_OPERATOR_NAMESPACE } from '../contract.js';
import { close, parseBindAddress, serve, type BindAddress } from '../controller/server.js';
import { AGENT_FILES, type AgentFiles, DEFAULT_AGENT_FILES } from '../render/agent-files.js';

export interface ControllerCliOptions {
  kubeconfig?: string;
  namespace: string;
  leaderElect: boolean;
  leaseName: string;
  leaseDuration: number;
  leaseRenewPeriod: number;
  leaseRenewDeadline: number;
  leaseRetryPeriod: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  concurrency: number;
  resyncPeriod: number;
  logLevel: LogLevel;
  targets: TargetMode;
  nodepoolAgentFiles: AgentFiles;
  nodepoolConfigSettle: number;
  nodepoolConfigApproval: boolean;
}

/** Registers the `controller` subcommand. */
export function registerControllerCommand(program: Command): Command {
  return program
    .command('controller')
    .description('run the operator: render every target into its ConfigMap/Secret and keep them current')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option(
      '--namespace <ns>',
      'operator namespace: Lease, cluster-target outputs and status ($POD_NAMESPACE or $OPERATOR_NAMESPACE when set)',
      process.env.POD_NAMESPACE || process.env.OPERATOR_NAMESPACE || DEFAULT_OPERATOR_NAMESPACE,
    )
    .option('--leader-elect', 'run only while holding the Lease (for more than one replica)', false)
    .option('--lease-name <name>', 'name of the leader election Lease', 'image-mirror-controller')
    .addOption(durationOption('--lease-duration <duration>', 'how long a Lease is valid without renewal', '15s'))
    .addOption(durationOption('--lease-renew-period <duration>', 'how often the leader renews the Lease', '5s'))
    .addOption(durationOption('--lease-renew-deadline <duration>', 'the leader steps down when it could not renew for this long', '10s'))
    .addOption(durationOption('--lease-retry-period <duration>', 'how often a follower tries to take the Lease', '2s'))
    .option('--metrics-bind-address <addr>', 'host:port for /metrics, "0" to disable', ':8080')
    .option('--health-probe-bind-address <addr>', 'host:port for /healthz and /readyz, "0" to disable', ':8081')
    .option('--concurrency <n>', 'targets reconciled at once', parsePositiveInt, 4)
    .addOption(durationOption('--resync-period <duration>', 'reconcile every target again this often ("0" disables)', '10m'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as string[]).default('info'))
    .addOption(
      new Option('--targets <mode>', 'auto: NodePools when HyperShift is served, else the cluster; or force one')
        .choices(['auto', 'cluster', 'nodepools'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--nodepool-agent-files <which>',
        'node files a NodePool output holds besides the MachineConfig (key config): none, crio (for an agent on CRI-O nodes), all (containerd too)',
      )
        .choices([...AGENT_FILES])
        .default(DEFAULT_AGENT_FILES),
    )
    .addOption(
      durationOption(
        '--nodepool-config-settle <duration>',
        'a change of the config key of an output listed in NodePool.spec.config (it rolls the nodes) waits this long for more changes ("0": publish at once)',
        '5s',
      ),
    )
    .option('--nodepool-config-approval', 'hold every change of such a config key until the NodePool annotation imagemirror.io/approve-config names it', false)
    .action(async (opts: ControllerCliOptions) => {
      await runController(opts);
    });
}

function durationOption(flags: string, description: string, shown: string): Option {
  return new Option(flags, description).argParser(parseDuration).default(parseDuration(shown), shown);
}

/** `15s`, `500ms`, `10m`, `1h`, or plain seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`not a duration: ${JSON.stringify(value)} (examples: 500ms, 15s, 10m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`not a positive integer: ${JSON.stringify(value)}`);
  return n;
}

/** Runs until SIGTERM/SIGINT, then stops gracefully (drain, release the Lease) and exits. */
export async function runController(opts: ControllerCliOptions): Promise<void> {
  const logger = createLogger(opts.logLevel);
  let kc: KubeConfig;
  let metricsAddr: BindAddress | undefined;
  let probeAddr: BindAddress | undefined;
  try {
    kc = loadKubeConfig(opts.kubeconfig);
    metricsAddr = parseBindAddress(opts.metricsBindAddress);
    probeAddr = parseBindAddress(opts.healthProbeBindAddress);
    if (opts.leaseRenewDeadline >= opts.leaseDuration) throw new Error('--lease-renew-deadline must be shorter than --lease-duration');
  } catch (err) {
    logger.fatal(errorFields(err), 'invalid configuration');
    process.exitCode = 2;
    return;
  }
  const api = new KubeApi(kc);
  const metrics = new ControllerMetrics();
  const identity = `${process.env.POD_NAME || hostname()}_${randomUUID().slice(0, 8)}`;
  const controller = new Controller(controllerConfig(opts, identity, kc), {
    informerApi: api,
    writer: apiWriter(api, (kind, verb) => metrics.countWrite(kind, verb)),
    hypershiftServed: async () => (await api.serves(RESOURCES.HostedCluster)) && (await api.serves(RESOURCES.NodePool)),
    logger,
    metrics,
  });
  const servers = await startServers(logger, metricsAddr, probeAddr, controller, metrics);
  handleSignals(logger, async () => {
    await controller.stop();
    await Promise.all(servers.map(close));
    closeIdleConnections();
  });
  await controller.start();
}

function controllerConfig(opts: ControllerCliOptions, identity: string, kc: KubeConfig): ControllerConfig {
  const config: ControllerConfig = {
    operatorNamespace: opts.namespace,
    identity,
    concurrency: opts.concurrency,
    resyncPeriodMs: opts.resyncPeriod,
    targets: opts.targets,
    nodePools: { agentFiles: opts.nodepoolAgentFiles, settleMs: opts.nodepoolConfigSettle, approval: opts.nodepoolConfigApproval },
  };
  if (opts.leaderElect) {
    config.leaderElection = {
      leaseName: opts.leaseName,
      leaseDurationMs: opts.leaseDuration,
      renewPeriodMs: opts.leaseRenewPeriod,
      renewDeadlineMs: opts.leaseRenewDeadline,
      retryPeriodMs: opts.leaseRetryPeriod,
      client: leaseClientFor(kc.makeApiClient(CoordinationV1Api)),
    };
  }
  return config;
}

function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new Error(`cannot load kubeconfig ${file ?? '(default)'}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file ?? '(default)'} has no current cluster`);
  return identifyAs(reuseConnections(kc), 'controller');
}

async function startServers(
  logger: Logger,
  metricsAddr: BindAddress | undefined,
  probeAddr: BindAddress | undefined,
  controller: Controller,
  metrics: ControllerMetrics,
): Promise<Server[]> {
  const probes = { ready: () => controller.ready() };
  const same = metricsAddr && probeAddr && metricsAddr.host === probeAddr.host && metricsAddr.port === probeAddr.port && metricsAddr.port !== 0;
  const plan: Array<{ addr: BindAddress; endpoints: Parameters<typeof serve>[1]; what: string }> = [];
  if (same && metricsAddr) plan.push({ addr: metricsAddr, endpoints: { probes, metrics: metrics.registry }, what: 'metrics and probes' });
  else {
    if (metricsAddr) plan.push({ addr: metricsAddr, endpoints: { metrics: metrics.registry }, what: 'metrics' });
    if (probeAddr) plan.push({ addr: probeAddr, endpoints: { probes }, what: 'probes' });
  }
  const servers: Server[] = [];
  for (const p of plan) {
    const { server, port } = await serve(p.addr, p.endpoints);
    logger.info({ serving: p.what, host: p.addr.host, port }, 'listening');
    servers.push(server);
  }
  return servers;
}

function handleSignals(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(errorFields(err), 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
