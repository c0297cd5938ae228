import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('report')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm report: not built yet\n');
      process.exitCode = 1;
    });
}
