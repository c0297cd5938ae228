import { ENV } from './env.js';
import { ackedIds, appendOutbox } from './outbox.js';

/**
 * `swarm hook post-tool-use`: Claude Code's PostToolUse hook on every tool. It hands the
 * agent the messages sent to its task (`swarm msg`) that it has not seen, as
 * `hookSpecificOutput.additionalContext`, which claude -p puts in front of the model with the
 * tool's result (proven against claude 2.1.110 in test/e2e/steer-claude.test.ts), and
 * records the receipt so each message is handed over once. Nothing to say: empty output.
 * It never fails the tool: a message that cannot be read now is delivered later, or with
 * the next attempt's prompt.
 */
export async function postToolUse(_input: string, env: NodeJS.ProcessEnv): Promise<string> {
  const db = env[ENV.stateDb];
  const run = env[ENV.run];
  const task = env[ENV.task];
  if (!db || !run || !task) return '';
  try {
    const { readUndelivered, senderName } = await import('../store/messages.js');
    const outbox = env[ENV.outbox] || undefined;
    const acked = outbox === undefined ? new Set<number>() : ackedIds(outbox);
    const messages = readUndelivered(db, run, task).filter((m) => !acked.has(m.id));
    if (messages.length === 0) return '';
    const ids = messages.map((m) => m.id);
    if (outbox !== undefined) appendOutbox(outbox, { kind: 'ack', ids, at: Date.now() });
    else await markDelivered(db, ids);
    const lines = [
      `swarm: ${messages.length === 1 ? 'a message' : `${messages.length} messages`} for you (task ${task}) arrived while you work:`,
      ...messages.map((m) => `  - from ${senderName(m)}: ${m.body}`),
      'Take this into account in what you do next. To reply to a task: swarm msg <task> "..."',
    ];
    return `${JSON.stringify({ hookSpecificOutput: { hookEventName: 'PostToolUse', additionalContext: lines.join('\n') } })}\n`;
  } catch {
    return '';
  }
}

/** Without an outbox (a hook run by hand, outside a sandbox): the receipt goes straight into state.db. */
async function markDelivered(db: string, ids: readonly number[]): Promise<void> {
  const { openStore } = await import('../store/index.js');
  const store = openStore(db);
  try {
    store.messages.markDelivered(ids, 'hook');
  } finally {
    store.close();
  }
}
