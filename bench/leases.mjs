// Benchmark, not a test: lease acquire+release operations per second on one state.db, with
// 1, 4 and 16 processes hammering it at once. Each operation is two BEGIN IMMEDIATE
// transactions (acquire, then release). Two workloads:
//   disjoint   every process leases its own folder: every acquire is granted
//   contended  every process asks for globs overlapping everyone else's: most are refused
// Run `npm run build` first.
//   node bench/leases.mjs [--seconds 2] [--procs 1,4,16]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const SECONDS = Number(arg('seconds', 2));
const PROCS = String(arg('procs', '1,4,16')).split(',').map(Number);
const self = fileURLToPath(import.meta.url);
const storeUrl = new URL('../dist/store/index.js', import.meta.url);

if (process.argv[2] === '--worker') await worker(process.argv[3], Number(process.argv[4]), process.argv[5]);
else await main();

async function worker(db, id, mode) {
  const { openStore, HOST } = await import(storeUrl.href);
  const store = openStore(db);
  const globs = mode === 'disjoint' ? [`pkg${id}/**`] : ['src/**', `src/p${id}/*.ts`];
  process.stdout.write('ready\n');
  const seconds = Number(await new Promise((resolve) => process.stdin.once('data', (d) => resolve(String(d)))));
  process.stdin.destroy();
  const latencies = [];
  let granted = 0;
  let refused = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const r = store.acquire({ holder: `bench-${id}`, globs, pid: process.pid, host: HOST, ttlMs: 60_000 });
      if (r.ok) {
        store.release(r.lease.id, r.lease.token);
        granted++;
      } else refused++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - t0);
  }
  store.close();
  process.stdout.write(`${JSON.stringify({ granted, refused, errors, latencies })}\n`);
}

async function round(procs, mode) {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-bench-leases-'));
  const db = join(dir, 'state.db');
  const { openStore } = await import(storeUrl.href);
  openStore(db).close();
  const children = Array.from({ length: procs }, (_, id) =>
    spawn(process.execPath, [self, '--worker', db, String(id), mode], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  for (const l of lines) await l.next(); // every worker has opened the db
  for (const c of children) c.stdin.end(String(SECONDS));
  const results = await Promise.all(lines.map(async (l) => JSON.parse((await l.next()).value)));
  rmSync(dir, { recursive: true, force: true });
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  const ops = latencies.length;
  return {
    procs,
    mode,
    ops,
    perSecond: ops / SECONDS,
    granted: results.reduce((n, r) => n + r.granted, 0),
    refused: results.reduce((n, r) => n + r.refused, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    p50: pct(50),
    p99: pct(99),
    max: latencies.at(-1) ?? 0,
  };
}

async function main() {
  if (!existsSync(fileURLToPath(storeUrl))) {
    console.error('bench/leases.mjs: run `npm run build` first');
    process.exit(2);
  }
  const rows = [];
  for (const mode of ['disjoint', 'contended']) for (const procs of PROCS) rows.push(await round(procs, mode));
  const header = ['workload', 'procs', 'ops/s', 'granted', 'refused', 'errors', 'p50 ms', 'p99 ms', 'max ms'];
  const table = [
    header,
    ...rows.map((r) =>
      [r.mode, r.procs, r.perSecond.toFixed(0), r.granted, r.refused, r.errors, r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1)].map(String),
    ),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log(`lease acquire+release on one state.db, ${SECONDS}s per round (an op is acquire, then release when granted)`);
  for (const row of table) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}
