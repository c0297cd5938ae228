import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('clean')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm clean: not built yet\n');
      process.exitCode = 1;
    });
}
