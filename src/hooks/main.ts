#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The hooks' own entry point. `swarm hook EVENT` lands here too, but the hooks that swarm
 * installs call this file directly: an agent waits for the PreToolUse hook on every edit,
 * and loading the whole CLI (every command, the engine, zod, yaml) costs it several times
 * what the check itself does.
 */
export const HOOK_EVENTS = ['pre-tool-use', 'post-tool-use', 'pre-commit'] as const;

/** Runs one hook with this process's stdin, stdout and environment; returns the exit code. */
export async function runHook(event: string, args: readonly string[]): Promise<number> {
  try {
    return await dispatch(event, args);
  } catch (error) {
    // A guard that breaks must not wave the change through: refuse, with one line, not a stack.
    const { reportUncaught } = await import('../cli/internal-error.js');
    await reportUncaught(error, `swarm hook ${event}`);
    if (event === 'pre-tool-use') {
      const reason = `swarm's edit guard failed, so the edit was refused: ${error instanceof Error ? error.message : String(error)}`;
      process.stdout.write(
        `${JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason } })}\n`,
      );
      return 0;
    }
    return 1;
  }
}

async function dispatch(event: string, args: readonly string[]): Promise<number> {
  switch (event) {
    case 'pre-tool-use': {
      const { preToolUse } = await import('./pre-tool-use.js');
      process.stdout.write(await preToolUse(await readStdin(), process.env));
      return 0;
    }
    case 'post-tool-use': {
      const { postToolUse } = await import('./post-tool-use.js');
      process.stdout.write(await postToolUse(await readStdin(), process.env));
      return 0;
    }
    case 'pre-commit': {
      const { preCommit } = await import('./pre-commit.js');
      return preCommit(args, process.env);
    }
    default:
      process.stderr.write(`swarm hook: unknown event ${JSON.stringify(event)}; expected ${HOOK_EVENTS.join(' or ')}\n`);
      return 2;
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const [event = '', ...args] = process.argv.slice(2);
  process.exitCode = await runHook(event, args);
}
