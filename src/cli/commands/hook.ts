import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('hook')
    .description('(not built yet)')
    .action(() => {
      process.stderr.write('swarm hook: not built yet\n');
      process.exitCode = 1;
    });
}
