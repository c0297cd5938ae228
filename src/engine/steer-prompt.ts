import type { InboxMessage } from './ports.js';

/** Another task of the run whose agent works at the same time. */
export interface Peer {
  readonly id: string;
  readonly title: string;
  readonly files: readonly string[];
}

/** Who else is working now, what they own, and how to reach them (`swarm msg`, `swarm note`). */
export function peerLines(self: string, peers: readonly Peer[]): string[] {
  const lines = ['## Other agents working now'];
  if (peers.length === 0) lines.push('', 'No other task of this run is running right now.');
  else {
    lines.push('', 'These tasks run at the same time as you; each owns its files (edits of them are refused to you):');
    for (const p of [...peers].sort((a, b) => a.id.localeCompare(b.id))) {
      lines.push(`  - ${p.id}: ${p.title} (files: ${p.files.join(', ') || 'none'})`);
    }
  }
  lines.push(
    '',
    'If a file another task owns must change, ask its owner from your shell:',
    `  swarm msg <task> "what you need and why"   (e.g. swarm msg ${peers[0]?.id ?? 'other-task'} "please export parseConfig from src/config.ts")`,
    'Messages to you appear in your context while you work. To leave a note for the tasks that build on your work, run:',
    '  swarm note "what they need to know"',
    `You are task ${self}; the sender of your messages is filled in for you.`,
  );
  return lines;
}

/** Messages that reached the task between attempts (or before its agent started): put in its prompt. */
export function inboxLines(messages: readonly InboxMessage[]): string[] {
  if (messages.length === 0) return [];
  return [
    '## Messages for you',
    '',
    ...messages.map((m) => `  - from ${m.from}: ${m.text.replace(/\s+/g, ' ').slice(0, 2000)}`),
    '',
    'Take them into account. Reply to a task, if needed, with: swarm msg <task> "..."',
  ];
}

/** The prompt with the task's undelivered messages appended. */
export function withInbox(prompt: string, messages: readonly InboxMessage[]): string {
  return messages.length === 0 ? prompt : `${prompt.trimEnd()}\n\n${inboxLines(messages).join('\n')}\n`;
}
