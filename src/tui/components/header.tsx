import { Box, Text } from 'ink';
import { ACTIVE_STATES } from '../../engine/task-state.js';
import { clockTime } from '../../engine/usage-limit.js';
import { elapsed, money, progressBar, truncate } from '../format.js';
import { toneColor } from '../glyphs.js';
import type { RunView } from '../view-model.js';

export interface HeaderProps {
  readonly view: RunView;
  readonly width: number;
  readonly color: boolean;
}

/** How long a warning from the run stays in the header. */
const NOTE_MS = 60_000;

/** The lines under the progress bar: rate limits, a lowered concurrency, a recent warning. */
export function headerNotices(view: RunView): string[] {
  const notices: string[] = [];
  const { rateLimit, limit, usage } = view;
  if (usage?.message !== undefined) notices.push(`⚠ ${usage.message}`);
  else if (usage?.resumeAt !== undefined && view.finished === undefined) {
    const at = usage.resetsAt === undefined ? '' : ` at ${clockTime(usage.resetsAt, view.now)}`;
    notices.push(`⏸ usage limit reached; it resets${at}: going on in ${countdown(usage.resumeAt - view.now)}, no new task starts`);
  }
  if (rateLimit !== undefined && view.now < rateLimit.until && view.finished === undefined) {
    const wait = Math.ceil((rateLimit.until - view.now) / 1000);
    notices.push(`⚠ ${rateLimit.error}: ${rateLimit.task} retries (#${rateLimit.retryAttempt}) in ${wait}s`);
  }
  if (limit.concurrency < limit.max && view.finished === undefined) {
    notices.push(`⚠ concurrency lowered to ${limit.concurrency} of ${limit.max} after rate limits`);
  }
  const note = view.notes.findLast((n) => n.level === 'warning');
  if (note !== undefined && view.now - note.at < NOTE_MS) notices.push(`⚠ ${note.message}`);
  return notices;
}

/** `2:13:05`, `4:09`: a countdown to the second. */
export function countdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Run name, progress bar merged/total, elapsed time, cost, agents running / limit. */
export function Header({ view, width, color }: HeaderProps) {
  const total = view.tasks.length;
  const merged = view.tasks.filter((t) => t.state === 'merged').length;
  const running = view.tasks.filter((t) => ACTIVE_STATES.has(t.state)).length;
  const time = view.finished !== undefined ? elapsed(view.finished.durationMs) : view.startedAt === undefined ? '0s' : elapsed(view.now - view.startedAt);
  // Lowered by rate limits, the limit says how many may start, not how many run: agents
  // already running are not stopped, so "2 running, start limit 1 of 4", never "2/1".
  const limited = view.limit.concurrency < view.limit.max;
  const agents = limited ? `agents ${running} (limit ${view.limit.concurrency} of ${view.limit.max})` : `agents ${running}/${view.limit.max}`;
  const stats =
    width >= 60
      ? ` ${merged}/${total} merged  ${time}  ${money(view.costUsd)}  ${agents}`
      : ` ${merged}/${total}  ${time}  ${money(view.costUsd)}  ${running}/${limited ? `${view.limit.concurrency}↓` : view.limit.max}`;
  const barWidth = Math.max(4, Math.min(32, width - stats.length));
  const title = view.name === '' ? 'swarm: starting…' : `swarm ${view.name} → ${view.into}${view.resumed ? ' (resumed)' : ''}`;
  const warn = toneColor('warn', color);
  return (
    <Box flexDirection="column">
      <Text bold={color} wrap="truncate-end">
        {truncate(title, width)}
      </Text>
      <Text wrap="truncate-end">
        <Text color={toneColor('good', color)}>{progressBar(merged, total, barWidth)}</Text>
        {truncate(stats, width - barWidth)}
      </Text>
      {headerNotices(view).map((notice, i) => (
        <Text key={i} color={warn} wrap="truncate-end">
          {truncate(notice, width)}
        </Text>
      ))}
    </Box>
  );
}
