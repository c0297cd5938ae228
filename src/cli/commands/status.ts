import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('status')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm status: not built yet\n');
      process.exitCode = 1;
    });
}
