import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_TASKS } from '../../src/demo/scenario.js';
import { CLI } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

// Our own tmux server, so the test never touches a user's sessions.
const server = `swarm-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
const root = mkdtempSync(join(tmpdir(), 'swarm-tmux-'));

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    /* already gone */
  }
  rmSync(root, { recursive: true, force: true });
});

describe('swarm demo in a real terminal', () => {
  it.skipIf(!hasTmux)('shows the tasks, their states changing, and the final summary', async () => {
    const dir = join(root, 'demo');
    // CI=1 would pick the plain reporter: this test is about what a person sees in a terminal.
    const command = `env -u CI NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} demo --dir ${JSON.stringify(dir)} --delay 300; echo SWARM-EXIT=$?; sleep 600`;
    tmux('new-session', '-d', '-s', 'demo', '-x', '100', '-y', '32', command);

    const frames: string[] = [];
    const deadline = Date.now() + 150_000;
    for (;;) {
      const frame = tmux('capture-pane', '-p', '-t', 'demo');
      if (frame !== frames.at(-1)) frames.push(frame);
      if (frame.includes('SWARM-EXIT=') || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const last = frames.at(-1)!;
    expect(last).toContain('SWARM-EXIT=0');
    expect(last).toMatch(/all 7 tasks merged into swarm\/demo/);

    // While it ran: the table with every task, the header's progress, a live merge queue.
    const live = frames.filter((f) => f.includes('TASK') && f.includes('ACTION'));
    expect(live.length).toBeGreaterThan(3);
    for (const t of DEMO_TASKS) expect(live.some((f) => f.includes(` ${t.id} `))).toBe(true);
    expect(live.some((f) => /\d\/7 merged/.test(f))).toBe(true);
    expect(live.some((f) => /merge queue: (?!empty)/.test(f))).toBe(true);

    // States change: the row of `ui` (it waits for api) goes from waiting, to working, to merged.
    const row = (f: string) => f.split('\n').find((l) => /^\s*\S+\s+ui\s/.test(l.slice(0, 20))) ?? '';
    const uiRows = live.map(row).filter(Boolean);
    const firstMerged = uiRows.findIndex((r) => r.includes('✓'));
    expect(uiRows.findIndex((r) => r.includes('after api'))).toBeGreaterThanOrEqual(0);
    expect(uiRows.findIndex((r) => r.includes('after api'))).toBeLessThan(firstMerged === -1 ? Infinity : firstMerged);
    expect(uiRows.some((r) => !r.includes('after api') && !r.includes('✓'))).toBe(true);

    // And the work is really there.
    const tree = git(dir, 'ls-tree', '-r', '--name-only', 'swarm/demo');
    for (const t of DEMO_TASKS) for (const w of t.writes) expect(tree).toContain(w);
  });
});
