import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('init')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm init: not built yet\n');
      process.exitCode = 1;
    });
}
