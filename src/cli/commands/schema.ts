import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('schema')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm schema: not built yet\n');
      process.exitCode = 1;
    });
}
