// Benchmark: sharding (issue 16). The same graph of sleeping tasks (a root, a wide fan-out,
// a few joins, a final task) run by 1, 2 and 4 `swarm run --shard K/N --push origin`
// processes, each with the same concurrency, each in its own clone of one fresh bare origin,
// all started together. For each N: the makespan (first process started to last process
// exited) against the lower bound for that total capacity, max(critical path, total work /
// (N x concurrency)), the speed-up against N = 1, and where the coordination time went.
// Every run is checked: each shard exits 0 and every task landed exactly once on origin's
// integration branch (its `Swarm-Task` trailers), else the benchmark fails.
// Run `npm run build` first.
//   node bench/shards.mjs [--fan 40] [--joins 6] [--ms 2000] [--concurrency 2] [--shards 1,2,4] [--poll 200] [--enforce off]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { criticalPath, fanJoins, simulateShards, toSwarmYaml, totalWork } from './lib/graphs.mjs';
import { AGENTS, arg, CLI, env, git, machine, table } from './lib/repo.mjs';

const fan = arg('fan', 40);
const joins = arg('joins', 6);
const ms = arg('ms', 2000);
const concurrency = arg('concurrency', 2);
const counts = String(arg('shards', '1,2,4')).split(',').map(Number);
const pollMs = arg('poll', 200);
const enforce = arg('enforce', 'off');

const NAME = 'bench';
const INTO = `swarm/${NAME}`;
const graph = fanJoins(fan, joins, () => ms);
const ids = graph.tasks.map((t) => t.id);
const deps = new Map(graph.tasks.map((t) => [t.id, t.deps]));

/** A fresh bare origin whose main holds the swarm file, and `n` clones of it. */
function origin(n) {
  const root = mkdtempSync(join(tmpdir(), 'swarm-bench-shards-'));
  const bare = join(root, 'origin.git');
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  const seed = join(root, 'seed');
  git(root, 'init', '-q', '-b', 'main', seed);
  writeFileSync(join(seed, 'README.md'), '# bench\n');
  writeFileSync(
    join(seed, 'swarm.yaml'),
    toSwarmYaml(graph, {
      name: NAME,
      concurrency,
      agent: [join(AGENTS, 'sleep.sh')],
      extra: ['  sandbox: off', 'lease:', `  enforce: ${enforce}`],
    }),
  );
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'swarm file');
  git(seed, 'push', '-q', bare, 'HEAD:main');
  const clones = Array.from({ length: n }, (_, k) => {
    const dir = join(root, `shard${k + 1}`);
    git(root, 'clone', '-q', bare, dir);
    return dir;
  });
  return { root, bare, clones };
}

/** Starts every shard at once; resolves when the last one exited. */
async function runShards(clones) {
  const n = clones.length;
  const t0 = performance.now();
  const runs = clones.map(
    (dir, k) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI, 'run', 'swarm.yaml', '--ui', 'plain', '--push', 'origin', '--shard', `${k + 1}/${n}`], {
          cwd: dir,
          env: env({ SWARM_SHARD_POLL_MS: String(pollMs) }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
      }),
  );
  const results = await Promise.all(runs);
  return { makespan: performance.now() - t0, t0: Date.now() - (performance.now() - t0), results };
}

/** Every task landed exactly once on origin's integration branch, and every shard exited 0; else throws. */
function verify(bare, results, n) {
  for (const [k, r] of results.entries()) {
    if (r.code !== 0) throw new Error(`N=${n}: shard ${k + 1}/${n} exited ${r.code}:\n${r.out.slice(-3000)}`);
  }
  const trailers = git(bare, 'log', '--first-parent', '--format=%(trailers:key=Swarm-Task,valueonly)', INTO)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const seen = new Map();
  for (const t of trailers) seen.set(t, (seen.get(t) ?? 0) + 1);
  const twice = [...seen].filter(([, c]) => c > 1).map(([t, c]) => `${t} x${c}`);
  const missing = ids.filter((id) => !seen.has(id));
  const unknown = [...seen.keys()].filter((t) => !deps.has(t));
  if (twice.length > 0 || missing.length > 0 || unknown.length > 0 || trailers.length !== ids.length) {
    throw new Error(
      `N=${n}: origin's ${INTO} holds ${trailers.length} Swarm-Task trailers for ${ids.length} tasks` +
        `${twice.length ? `; twice: ${twice.join(', ')}` : ''}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  }
  return trailers.length;
}

/** Each clone's events from its state.db. */
function eventsOf(dir) {
  const db = new Database(join(dir, '.swarm', 'state.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT data FROM events WHERE run = ? ORDER BY id')
      .all(NAME)
      .map((r) => JSON.parse(r.data));
  } finally {
    db.close();
  }
}

const median = (xs) => (xs.length === 0 ? Number.NaN : [...xs].sort((a, b) => a - b)[xs.length >> 1]);
const s = (x) => `${(x / 1000).toFixed(1)} s`;
const msf = (x) => (Number.isNaN(x) ? '-' : `${Math.round(x)} ms`);

/** Where the time between tasks went, from every shard's events. */
function analyse(clones, run) {
  const shardOf = new Map();
  const mergedAt = new Map(); // task -> when its own shard landed it (pushed to origin)
  const readyAt = new Map(); // task -> when its shard saw it ready
  const mergeMs = []; // merge started -> merged: fetch, merge, push, and any refused tries with their backoff
  const queuedMs = []; // queued -> merge started: behind this shard's other merges
  const refusedBy = new Map(); // task -> pushes of its merge origin refused
  let firstSpawn = Number.POSITIVE_INFINITY;
  for (const [k, dir] of clones.entries()) {
    const events = eventsOf(dir);
    for (const e of events) {
      if (e.type === 'agent' && e.reason === 'spawned') {
        shardOf.set(e.task, k + 1);
        firstSpawn = Math.min(firstSpawn, e.at);
      }
      const refusal = e.type === 'log' ? /^task (\S+): .*refused its merge/.exec(e.message) : null;
      if (refusal) refusedBy.set(refusal[1], (refusedBy.get(refusal[1]) ?? 0) + 1);
    }
    const started = new Map();
    const queued = new Map();
    for (const e of events) {
      if (e.type === 'task' && e.reason === 'state' && e.to === 'ready') readyAt.set(e.task, e.at);
      if (e.type === 'merge' && e.reason === 'queued') queued.set(e.task, e.at);
      if (e.type === 'merge' && e.reason === 'started') {
        started.set(e.task, e.at);
        queuedMs.push(e.at - queued.get(e.task));
      }
      if (e.type === 'merge' && e.reason === 'merged' && shardOf.get(e.task) === k + 1) {
        mergedAt.set(e.task, e.at);
        mergeMs.push(e.at - started.get(e.task));
      }
    }
  }
  // A dependency landed (in its own shard) -> its dependent ready (in its own): the hop.
  const local = [];
  const cross = [];
  for (const id of ids) {
    const d = deps.get(id);
    if (d.length === 0) continue;
    const last = d.reduce((a, b) => (mergedAt.get(a) >= mergedAt.get(b) ? a : b));
    const hop = readyAt.get(id) - mergedAt.get(last);
    (shardOf.get(last) === shardOf.get(id) ? local : cross).push(hop);
  }
  // The longest time origin's branch stood still between two landings.
  const landings = [...mergedAt.values()].sort((a, b) => a - b);
  const gap = Math.max(0, ...landings.slice(1).map((t, i) => t - landings[i]));
  const refused = [...refusedBy.values()].reduce((a, b) => a + b, 0);
  const worst = [...refusedBy].sort((a, b) => b[1] - a[1])[0];
  return { shardOf, refused, worst, gap, mergeMs, queuedMs, local, cross, startup: firstSpawn - run.t0 };
}

console.log(`machine: ${machine()}`);
const cp = criticalPath(graph);
console.log(
  `${ids.length} tasks (a root, a fan-out of ${fan}, ${joins} joins, a final task), each agent sleeps ${ms} ms; ` +
    `concurrency ${concurrency} per shard; sandbox off, lease.enforce ${enforce}; SWARM_SHARD_POLL_MS=${pollMs}\n`,
);
const rows = [];
const costs = [];
const notes = [];
let base;
for (const n of counts) {
  const o = origin(n);
  let ok = false;
  try {
    const run = await runShards(o.clones);
    let landed;
    try {
      landed = verify(o.bare, run.results, n);
    } catch (e) {
      console.error(`\nbench/shards.mjs: FAILED: ${e.message}\n(the clones and origin are kept in ${o.root})`);
      process.exit(1);
    }
    const a = analyse(o.clones, run);
    const lb = Math.max(cp, totalWork(graph) / (n * concurrency));
    const sim = simulateShards(graph, concurrency, (id) => a.shardOf.get(id));
    base ??= run.makespan;
    rows.push([
      n,
      n * concurrency,
      s(run.makespan),
      s(lb),
      (run.makespan / lb).toFixed(2),
      s(sim),
      `${(base / run.makespan).toFixed(2)}x`,
      `${(Math.max(cp, totalWork(graph) / concurrency) / lb).toFixed(2)}x`,
    ]);
    costs.push([
      n,
      msf(a.startup),
      `${msf(median(a.mergeMs))} / ${msf(Math.max(...a.mergeMs))}`,
      `${msf(median(a.queuedMs))} / ${msf(Math.max(...a.queuedMs))}`,
      s(ids.length * median(a.mergeMs)),
      a.refused === 0 ? '0' : `${a.refused} (${a.worst[0]}: ${a.worst[1]})`,
      s(a.gap),
      `${msf(median(a.local))} / ${msf(Math.max(...a.local))}`,
      a.cross.length ? `${msf(median(a.cross))} / ${msf(Math.max(...a.cross))} (${a.cross.length})` : '-',
    ]);
    notes.push(`N=${n}: ${landed} tasks landed once each on origin; shard exits ${run.results.map((r) => `${s(r.ms)}`).join(', ')}`);
    console.log(`  N=${n} done: ${s(run.makespan)}`);
    ok = true;
  } finally {
    if (ok && !process.argv.includes('--keep')) rmSync(o.root, { recursive: true, force: true });
    else if (existsSync(o.root)) console.log(`  kept ${o.root}`);
  }
}
console.log(`\ncritical path ${s(cp)}, total work ${s(totalWork(graph))}\n`);
console.log(table(['shards N', 'slots N x c', 'makespan', 'lower bound', 'makespan / bound', 'split alone', 'speed-up vs N=1', 'bound allows'], rows));
console.log('\nWhere the coordination time went:\n');
console.log(
  table(
    [
      'shards N',
      'first agent after',
      'merge (median / max)',
      'queued for it (median / max)',
      'tasks x median merge',
      'pushes refused (most for one task)',
      'origin still, longest',
      'hop in a shard (median / max)',
      'hop across shards (median / max, count)',
    ],
    costs,
  ),
);
console.log('');
for (const line of notes) console.log(line);
