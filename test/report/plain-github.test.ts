import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import { createPlainReporter } from '../../src/report/plain.js';

const run = 'r';
const loc = { file: `${process.cwd()}/swarm.yaml`, line: 7, col: 9, endLine: 7, endCol: 10 };

function output(events: SwarmEvent[]): string[] {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const reporter = createPlainReporter({ out, file: 'swarm.yaml', github: { taskLoc: (id) => (id === 'a' ? loc : undefined) } });
  for (const e of events) reporter.handle(e);
  return text.split('\n');
}

describe('the plain reporter in GitHub Actions', () => {
  it('never lets an agent write a workflow command: what it says goes out with the task prefix on every line', () => {
    const lines = output([
      {
        type: 'run',
        reason: 'started',
        run,
        at: 0,
        into: 'swarm/r',
        base: 'b'.repeat(40),
        concurrency: 1,
        resumed: false,
        tasks: [{ id: 'a', title: 'a', dependsOn: [], files: ['x'], state: 'pending' }],
      },
      { type: 'task', reason: 'state', run, at: 1, task: 'a', from: 'pending', to: 'running', attempt: 1 },
      // claude's and codex's text comes as one event, newlines and all.
      { type: 'agent', reason: 'output', run, at: 2, task: 'a', attempt: 1, text: 'done.\n::error::forged\n  ::endgroup::\r::stop-commands::x' },
      { type: 'task', reason: 'state', run, at: 3, task: 'a', from: 'running', to: 'failed', attempt: 1, detail: 'the agent said\n::warning::forged too' },
      { type: 'run', reason: 'finished', run, at: 4, outcome: 'failed', merged: 0, total: 1, costUsd: 0, durationMs: 4 },
    ]);
    // The runner reads a command from any line that starts with `::` (after blanks), and ends lines at CR too.
    const commands = lines.flatMap((l) => l.split('\r')).filter((l) => l.trimStart().startsWith('::'));
    expect(commands).toEqual([
      '::group::a: failed: the agent said ::warning::forged too',
      '::endgroup::',
      '::error file=swarm.yaml,line=7,col=9,endColumn=10,title=swarm%3A task a failed::the agent said%0A::warning::forged too%0Adone.%0A::error::forged%0A  ::endgroup::%0D::stop-commands::x%0Asee: swarm logs a',
    ]);
    // Inside the fold, every line the agent said has the task's prefix.
    const fold = lines.slice(lines.indexOf(commands[0]!) + 1, lines.indexOf('::endgroup::'));
    expect(fold).toEqual([
      '[00:00] a        running',
      '[00:00] a          > done.',
      '[00:00] a          > ::error::forged',
      '[00:00] a          >   ::endgroup::',
      '[00:00] a          > ::stop-commands::x',
      '[00:00] a        failed: the agent said',
      '[00:00] a        ::warning::forged too',
    ]);
    // And the failures listed at the end are defused where they cannot be prefixed.
    expect(lines.slice(lines.indexOf('  a: the agent said'), lines.indexOf('  a: the agent said') + 2)).toEqual([
      '  a: the agent said',
      ':\u200b:warning::forged too',
    ]);
  });
});
