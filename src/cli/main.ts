// image-mirror: one binary, five subcommands. Usage errors exit 2.
import { Command, CommanderError } from 'commander';
import { version } from '../common/client-identity.js';
import { registerExplainCommand } from './explain.js';
import { registerRenderCommands } from './render.js';

const EXIT_USAGE = 2;
/** Subcommands that need neither the Kubernetes client nor the logger. */
const OFFLINE = new Set(['render', 'validate', 'explain']);

/**
 * Builds the program. The controller and agent modules pull in the
 * Kubernetes client (about 0.6 s to import), so `render`, `validate` and
 * `explain` load without them (`explain` imports the client only to read a
 * cluster); everything else (including top-level help) loads them all.
 */
export async function buildProgram(subcommand?: string): Promise<Command> {
  const program = new Command('image-mirror')
    .description('render registry mirror configuration (registries.conf, containerd hosts.toml) from IDMS/ITMS and HyperShift objects')
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  registerRenderCommands(program);
  registerExplainCommand(program);
  if (!subcommand || !OFFLINE.has(subcommand)) {
    const [{ registerControllerCommand }, { registerAgentCommand }] = await Promise.all([import('./controller.js'), import('./agent.js')]);
    registerControllerCommand(program);
    registerAgentCommand(program);
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv[2])).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exitCode = ok ? 0 : EXIT_USAGE;
      return;
    }
    process.stderr.write(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  }
}

await main(process.argv);
