import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('plan')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm plan: not built yet\n');
      process.exitCode = 1;
    });
}
