import type { Command } from 'commander';
import { EXIT } from '../exit.js';

const EVENTS = ['pre-tool-use', 'pre-commit'] as const;

export function register(program: Command): void {
  program
    .command('hook')
    .description('internal: the Claude Code PreToolUse hook and the git pre-commit guard that swarm sets for its agents')
    .argument('<event>', EVENTS.join(' | '))
    .argument('[args...]', 'what git passes to the hook')
    .allowUnknownOption()
    .addHelpText(
      'after',
      `
swarm passes these to its agents itself; you do not need to call them. By hand:
  echo '{"tool_name":"Write","tool_input":{"file_path":"src/x.ts"}}' | swarm hook pre-tool-use
Without the SWARM_* environment of a task they allow everything (pre-commit still runs
the repository's own pre-commit hook).`,
    )
    .action(async (event: string, args: string[]) => {
      // Loaded on demand: every edit an agent makes waits for this process.
      switch (event) {
        case 'pre-tool-use': {
          const { preToolUse } = await import('../../hooks/pre-tool-use.js');
          process.stdout.write(await preToolUse(await readStdin(), process.env));
          return;
        }
        case 'pre-commit': {
          const { preCommit } = await import('../../hooks/pre-commit.js');
          process.exitCode = await preCommit(args, process.env);
          return;
        }
        default:
          process.stderr.write(`swarm hook: unknown event ${JSON.stringify(event)}; expected ${EVENTS.join(' or ')}\n`);
          process.exitCode = EXIT.badInput;
      }
    });
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
