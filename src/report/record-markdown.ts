/**
 * `swarm report --format markdown --remote NAME`: the run's summary from its record in git
 * (the final job of a sharded CI run, for the pull request body). Git knows what landed,
 * by which shard, and what failed with why; attempts, time, cost, logs and the timeline
 * are in each shard's state.db and are not shown — the text says so.
 */
import { countsLine, type RecordStatusJson, recordPlace, shardLine } from './record-status.js';

const STATE_ICON: Readonly<Record<string, string>> = {
  merged: '✅',
  failed: '❌',
  conflicted: '⚔️',
  blocked: '⛔',
  pending: '⏳',
  running: '⏳',
  finished: '✅',
  cancelled: '⏹',
  absent: '·',
  unknown: '?',
};

/** The headline: every task merged, a failure, shards still at work, or not finished. */
export function recordOutcome(s: RecordStatusJson): string {
  const n = s.tasks.length;
  if (n > 0 && (s.counts.merged ?? 0) === n && s.redefined === 0) return '✅ every task merged';
  const running = s.shards.some((sh) => sh.state === 'running' && sh.silent !== true);
  if ((s.counts.failed ?? 0) + (s.counts.conflicted ?? 0) > 0) return running ? '❌ failed tasks; shards still running' : '❌ failed';
  return running ? '⏳ running' : '⏸ not finished';
}

export function renderRecordMarkdown(s: RecordStatusJson): string {
  const out: string[] = [];
  out.push(`## swarm run \`${s.run.name}\`: ${recordOutcome(s)}`, '');
  out.push(
    `**${countsLine(s)}** · into \`${s.run.into}\` · from the record on \`${recordPlace(s)}\`${s.head !== undefined ? ` (${s.head.slice(0, 10)})` : ''}`,
    '',
  );
  if (s.shards.length > 0) {
    out.push('| shard | state |', '| --- | --- |');
    for (const sh of s.shards) out.push(`| ${sh.shard} | ${STATE_ICON[sh.silent === true ? 'unknown' : sh.state] ?? ''} ${cell(shardLine(sh))} |`);
    out.push('');
  }
  if (s.tasks.length > 0) {
    out.push('| task | state | shard | detail |', '| --- | --- | --- | --- |');
    for (const t of s.tasks) {
      const state = t.state === 'pending' ? 'not merged yet' : t.state;
      out.push(`| \`${t.id}\` | ${STATE_ICON[t.state] ?? ''} ${state} | ${t.shard ?? t.assignedShard ?? '–'} | ${cell(t.detail ?? '')} |`);
    }
    out.push('');
  }
  const failures = s.tasks.filter((t) => t.failure !== undefined);
  if (failures.length > 0) {
    out.push('### Failures', '');
    for (const t of failures) {
      const body = t.failure!.length > 2000 ? `${t.failure!.slice(0, 1999)}…` : t.failure!;
      const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
      out.push(`#### \`${t.id}\`: ${t.state}${t.shard !== undefined ? ` in shard ${t.shard}` : ''}`, '', `${fence}text`, body, fence, '');
    }
  }
  if (s.unknown.length > 0) out.push(`In the record but not in the file: ${s.unknown.map((u) => `\`${u.id}\` (${u.state})`).join(', ')}.`, '');
  out.push(
    '> [!NOTE]',
    "> Read from git, not from a runner's state.db: attempts, time, cost, logs and the timeline stay with the machine that ran each task (`swarm report` there).",
    '',
  );
  return `${out.join('\n')}\n`;
}

/** One table cell: one line, no HTML, no pipes, no accidental emphasis. */
function cell(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return (one.length > 200 ? `${one.slice(0, 199)}…` : one).replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}
