import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('lease')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm lease: not built yet\n');
      process.exitCode = 1;
    });
}
