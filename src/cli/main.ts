// image-mirror: one binary, four subcommands. Usage errors exit 2.
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './agent.js';
import { registerControllerCommand } from './controller.js';
import { registerRenderCommands } from './render.js';

const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('image-mirror')
    .description('render registry mirror configuration (registries.conf, containerd hosts.toml) from IDMS/ITMS and HyperShift objects')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerRenderCommands(program);
  registerControllerCommand(program);
  registerAgentCommand(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
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
