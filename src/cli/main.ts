#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit.js';
import { reportUncaught } from './internal-error.js';

// What escapes the command (a callback, a stream, a promise nobody awaited) gets the same
// treatment as what reaches the catch below: one line, the stack in a log file.
let dying = false;
const onUncaught = (error: unknown): void => {
  if (dying) return;
  dying = true;
  void reportUncaught(error).then((code) => process.exit(code));
};
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

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
  // Hidden, for the tests of the handler below: a bug on demand, inside a command's run.
  if (process.env.SWARM_TEST_INTERNAL_ERROR === '1')
    program.hook('preAction', () => {
      throw new Error('a deliberate internal error (SWARM_TEST_INTERNAL_ERROR=1)');
    });
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; a bad flag or argument is bad input: 2.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT.badInput;
  } else {
    process.exitCode = await reportUncaught(error);
  }
}
