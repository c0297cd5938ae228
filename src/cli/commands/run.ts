import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('run')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm run: not built yet\n');
      process.exitCode = 1;
    });
}
