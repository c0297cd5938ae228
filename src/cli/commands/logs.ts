import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('logs')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm logs: not built yet\n');
      process.exitCode = 1;
    });
}
