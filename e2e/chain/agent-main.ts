// Runs the `agent` subcommand exactly as registered on the CLI, so chain
// tests can start the agent as a child process without the rest of the CLI.
import { Command } from 'commander';
import { registerAgentCommand } from '../../src/cli/agent.js';

const program = new Command('image-mirror');
registerAgentCommand(program);
await program.parseAsync(process.argv);
