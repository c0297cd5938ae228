#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit.js';

// `swarm plan | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command('swarm')
  .description('Run a graph of coding-agent tasks in parallel git worktrees, with file leases and a merge queue.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Only the command named is loaded: hooks run on every edit an agent makes, and validate
// should answer at once.
// `swarm --version` needs none of them.
const versionOnly = process.argv.length === 3 && ['--version', '-V'].includes(process.argv[2]!);
if (!versionOnly) {
  const { registerCommands } = await import('./commands/index.js');
  await registerCommands(program, process.argv[2]);
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
