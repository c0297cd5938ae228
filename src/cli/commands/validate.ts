import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('validate')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm validate: not built yet\n');
      process.exitCode = 1;
    });
}
