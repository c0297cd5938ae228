import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('hook')
    .description('internal: the Claude Code PreToolUse hook and the git pre-commit guard that swarm sets for its agents')
    .argument('<event>', 'pre-tool-use | pre-commit')
    .argument('[args...]', 'what git passes to the hook')
    .allowUnknownOption()
    .addHelpText(
      'after',
      `
swarm wires these into its agents itself; you do not need to call them. By hand:
  echo '{"tool_name":"Write","tool_input":{"file_path":"src/x.ts"}}' | swarm hook pre-tool-use
Without the SWARM_* environment of a task they allow everything (pre-commit still runs
the repository's own pre-commit hook).`,
    )
    .action(async (event: string, args: string[]) => {
      // Loaded on demand: nothing else in the CLI needs the hooks.
      const { runHook } = await import('../../hooks/main.js');
      process.exitCode = await runHook(event, args);
    });
}
