#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit.js';

const program = new Command('swarm')
  .description('Run a graph of coding-agent tasks in parallel git worktrees, with file leases and a merge queue.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// The hooks run on every edit an agent makes: load only what they need, not the whole CLI.
if (process.argv[2] === 'hook') {
  const { register } = await import('./commands/hook.js');
  register(program);
} else {
  const { registerCommands } = await import('./commands/index.js');
  registerCommands(program);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; a bad flag or argument is bad input: 2.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT.badInput;
  } else {
    process.stderr.write(`swarm: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}
