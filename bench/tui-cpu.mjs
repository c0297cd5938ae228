// Benchmark, not a test: CPU time of the Ink TUI against the plain line reporter for the
// same synthetic 200-task run with frequent events (tool calls, output, state changes).
// Each reporter runs in its own process, writing to a fake terminal; the feed paces the
// events over a few seconds of wall time as a real run would, so the TUI's throttling
// (at most 30 renders a second) is what is measured. Run `npm run build` first.
//   node bench/tui-cpu.mjs [--tasks 200] [--events 20000] [--seconds 4] [--concurrency 16] [--fps 15]
// The fake terminal is 120x40 (BENCH_COLS, BENCH_ROWS); BENCH_NOCOLOR=1 turns colours off.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const TASKS = Number(arg('tasks', 200));
const EVENTS = Number(arg('events', 20000));
const SECONDS = Number(arg('seconds', 4));
const CONCURRENCY = Number(arg('concurrency', 16));
const FPS = arg('fps', undefined);
const self = fileURLToPath(import.meta.url);
const dist = (path) => new URL(`../dist/${path}`, import.meta.url);

/** A deterministic run: tasks start CONCURRENCY at a time, talk a lot, check, merge; a few fail. */
function* syntheticRun(start) {
  const run = 'bench';
  const ids = Array.from({ length: TASKS }, (_, i) => `task-${String(i + 1).padStart(3, '0')}`);
  const tasks = ids.map((id, i) => ({
    id,
    title: `Synthetic task ${i + 1} with a title long enough to be truncated`,
    dependsOn: i >= 10 ? [ids[i - 10]] : [],
    files: [`src/${id}/**`],
    state: 'pending',
  }));
  let at = start;
  const ev = (e) => ({ run, at: (at += 1), ...e });
  yield ev({ type: 'run', reason: 'started', into: `swarm/${run}`, base: 'abcdef0', concurrency: CONCURRENCY, resumed: false, tasks });
  const perTask = Math.max(4, Math.floor((EVENTS - 1) / TASKS) - 12);
  let next = 0;
  const active = [];
  let merged = 0;
  let failed = 0;
  let cost = 0;
  let _left = perTask * TASKS;
  const startTask = function* (id) {
    yield ev({ type: 'task', reason: 'state', task: id, from: 'pending', to: 'ready', attempt: 0 });
    yield ev({ type: 'task', reason: 'state', task: id, from: 'ready', to: 'starting', attempt: 1 });
    yield ev({ type: 'lease', reason: 'acquired', task: id, token: next, globs: [`src/${id}/**`] });
    yield ev({ type: 'task', reason: 'state', task: id, from: 'starting', to: 'running', attempt: 1 });
    active.push({ id, left: perTask });
  };
  while (next < TASKS && active.length < CONCURRENCY) yield* startTask(ids[next++]);
  let turn = 0;
  while (active.length > 0) {
    const slot = turn++ % active.length;
    const task = active[slot];
    _left -= 1;
    task.left -= 1;
    yield turn % 3 === 0
      ? ev({ type: 'agent', reason: 'output', task: task.id, attempt: 1, text: `Working on step ${turn} of the change in src/${task.id}.` })
      : ev({ type: 'agent', reason: 'tool', task: task.id, attempt: 1, tool: 'Edit', summary: `src/${task.id}/file-${turn % 17}.ts` });
    if (task.left > 0) continue;
    active.splice(slot, 1);
    const id = task.id;
    cost += 0.37;
    yield ev({ type: 'agent', reason: 'exited', task: id, attempt: 1, ok: true, exitCode: 0, signal: null, costUsd: 0.37, turns: 11 });
    yield ev({ type: 'task', reason: 'state', task: id, from: 'running', to: 'checking', attempt: 1 });
    yield ev({ type: 'check', reason: 'started', scope: 'task', task: id, attempt: 1, command: 'npm test' });
    if (Number(id.slice(-3)) % 50 === 0) {
      failed += 1;
      yield ev({
        type: 'check',
        reason: 'failed',
        scope: 'task',
        task: id,
        attempt: 1,
        command: 'npm test',
        exitCode: 1,
        tail: 'FAIL x.test.ts\nexpected 1, got 2',
      });
      yield ev({ type: 'task', reason: 'state', task: id, from: 'checking', to: 'failed', attempt: 1, detail: 'check failed' });
    } else {
      yield ev({ type: 'check', reason: 'passed', scope: 'task', task: id, attempt: 1, command: 'npm test', exitCode: 0, tail: '' });
      yield ev({ type: 'task', reason: 'state', task: id, from: 'checking', to: 'queued', attempt: 1 });
      yield ev({ type: 'merge', reason: 'queued', task: id });
      yield ev({ type: 'task', reason: 'state', task: id, from: 'queued', to: 'merging', attempt: 1 });
      yield ev({ type: 'merge', reason: 'merged', task: id, commit: '0123456789abcdef' });
      yield ev({ type: 'task', reason: 'state', task: id, from: 'merging', to: 'merged', attempt: 1 });
      merged += 1;
    }
    yield ev({ type: 'lease', reason: 'released', task: id, token: 0, globs: [`src/${id}/**`] });
    if (next < TASKS) yield* startTask(ids[next++]);
  }
  yield ev({ type: 'run', reason: 'finished', outcome: failed > 0 ? 'failed' : 'success', merged, total: TASKS, costUsd: cost, durationMs: at - start });
}

/** A terminal that only counts what it is sent. */
class FakeTty extends EventEmitter {
  isTTY = true;
  columns = Number(process.env.BENCH_COLS ?? 120);
  rows = Number(process.env.BENCH_ROWS ?? 40);
  bytes = 0;
  writes = 0;
  write(chunk) {
    this.bytes += chunk.length;
    this.writes += 1;
    return true;
  }
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  setRawMode() {}
  setEncoding() {}
  read() {
    return null;
  }
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

async function makeReporter(kind, out) {
  switch (kind) {
    case 'tui': {
      const { createTuiReporter } = await import(dist('tui/reporter.js'));
      return createTuiReporter({
        stdout: out,
        stdin: new FakeStdin(),
        controls: { stop() {} },
        file: 'swarm.yaml',
        noColor: process.env.BENCH_NOCOLOR === '1',
        ...(FPS === undefined ? {} : { maxFps: Number(FPS) }),
      });
    }
    case 'plain': {
      if (existsSync(dist('report/plain.js'))) {
        const { createPlainReporter } = await import(dist('report/plain.js'));
        return createPlainReporter({ out, file: 'swarm.yaml' });
      }
      // The trivial line reporter: one line per event.
      return {
        handle: (e) => out.write(`${e.type} ${e.reason} ${e.task ?? ''}\n`),
        close: async () => {},
      };
    }
    case 'none':
      return { handle() {}, close: async () => {} };
    default:
      throw new Error(`unknown reporter ${kind}`);
  }
}

async function child(kind) {
  // Ink writes only a last frame when it believes it runs in CI; measure the terminal case.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const out = new FakeTty();
  const reporter = await makeReporter(kind, out);
  const events = [...syntheticRun(Date.now())];
  const batches = Math.max(1, SECONDS * 200); // one batch every 5 ms
  const perBatch = Math.ceil(events.length / batches);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < events.length; i += perBatch) {
    for (const event of events.slice(i, i + perBatch)) reporter.handle(event);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await reporter.close();
  const used = process.cpuUsage(cpu);
  const result = {
    kind,
    events: events.length,
    cpuMs: (used.user + used.system) / 1000,
    wallMs: performance.now() - wall,
    bytes: out.bytes,
    writes: out.writes,
    heapMb: heapAfterGc(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parent() {
  if (!existsSync(dist('tui/reporter.js'))) {
    process.stderr.write('bench/tui-cpu.mjs: dist/tui/reporter.js is missing; run `npm run build` first\n');
    process.exitCode = 2;
    return;
  }
  const results = {};
  for (const kind of ['none', 'plain', 'tui']) {
    const args = [
      '--expose-gc',
      self,
      '--child',
      kind,
      '--tasks',
      String(TASKS),
      '--events',
      String(EVENTS),
      '--seconds',
      String(SECONDS),
      '--concurrency',
      String(CONCURRENCY),
      ...(FPS === undefined ? [] : ['--fps', FPS]),
    ];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8', env: process.env });
    if (run.status !== 0) {
      process.stderr.write(`bench/tui-cpu.mjs: the ${kind} run failed\n${run.stderr}`);
      process.exitCode = 1;
      return;
    }
    results[kind] = JSON.parse(run.stdout.trim().split('\n').at(-1));
  }
  const row = (r) =>
    `${r.kind.padEnd(6)} ${r.cpuMs.toFixed(0).padStart(7)} ms cpu ${r.wallMs.toFixed(0).padStart(7)} ms wall ${String(r.writes).padStart(7)} writes ${(r.bytes / 1024).toFixed(0).padStart(7)} KiB ${r.heapMb.toFixed(0).padStart(5)} MiB heap`;
  const { none, plain, tui } = results;
  process.stdout.write(`${TASKS} tasks, ${tui.events} events over ~${SECONDS}s, concurrency ${CONCURRENCY}\n`);
  for (const r of [none, plain, tui]) process.stdout.write(`${row(r)}\n`);
  const over = (r) => Math.max(1, r.cpuMs - none.cpuMs);
  process.stdout.write(`tui / plain cpu: ${(tui.cpuMs / plain.cpuMs).toFixed(2)}x`);
  process.stdout.write(`  (over the feed alone: ${(over(tui) / over(plain)).toFixed(2)}x)\n`);
  process.stdout.write(`tui cpu per second of run: ${((tui.cpuMs / tui.wallMs) * 100).toFixed(1)}% of one core\n`);
}

const at = process.argv.indexOf('--child');
if (at >= 0) await child(process.argv[at + 1]);
else parent();

function heapAfterGc() {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}
