import { existsSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { MIN_LEASE_TTL_MS } from '../../config/checks.js';
import { globProblem } from '../../config/glob-check.js';
import type { Lease } from '../../engine/ports.js';
import { findStateDb, HOST, NotARepositoryError, openStateDb, type SqliteStore } from '../../store/index.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { EXIT } from '../exit.js';

/** `swarm leases` and `swarm lease acquire|renew|release`: leases for people and other tools. */
export function register(program: Command): void {
  program
    .command('leases')
    .description('list the live file leases on this repository, from every swarm run and person')
    .option('--json', 'print the leases as a JSON array')
    .addHelpText('after', "\nExample:\n  swarm leases\n  swarm leases --json | jq '.[].holder'")
    .action((opts: { json?: boolean }) =>
      withStore({ create: false }, (store) => {
        const leases = store?.list() ?? [];
        if (opts.json) process.stdout.write(`${JSON.stringify(leases, null, 2)}\n`);
        else process.stdout.write(leases.length === 0 ? 'No live leases.\n' : table(leases, Date.now()));
      }),
    );

  const lease = program
    .command('lease')
    .description('take, renew or give back a file lease by hand, so that swarm tasks keep off those files')
    .addHelpText(
      'after',
      `
Example:
  swarm lease acquire --holder alice --files 'src/auth/**' --ttl 2h --reason "fixing login by hand"
  swarm lease release --holder alice

A lease taken here has no process behind it (pid 0): it lasts until released or until its
TTL runs out. Tasks whose files overlap it wait for it.`,
    );

  lease
    .command('acquire')
    .description('lease files to a holder; refused (exit 1) when someone else holds an overlapping lease')
    .requiredOption('--holder <name>', 'who holds the lease: your name, or a tool')
    .requiredOption('--files <globs...>', 'globs relative to the repository root')
    .addOption(new Option('--ttl <duration>', 'how long the lease lasts unless renewed').default('2h').argParser(ttl))
    .option('--reason <text>', 'shown to whoever waits for these files')
    .addOption(new Option('--pid <pid>', 'a process whose death ends the lease (0: none, the TTL only)').default(0).argParser(pid))
    .option('--json', 'print the lease as JSON')
    .addHelpText('after', "\nExample:\n  swarm lease acquire --holder alice --files 'docs/**' README.md --ttl 30m")
    .action((opts: { holder: string; files: string[]; ttl: number | string; reason?: string; pid: number; json?: boolean }) => {
      // The same rules as a task's files: a lease on '/etc/**' or '../**' guards nothing here.
      for (const glob of opts.files) {
        const problem = glob === '' ? 'is empty' : globProblem(glob);
        if (problem === undefined) continue;
        process.stderr.write(`swarm lease: --files: ${JSON.stringify(glob)} ${problem}\n`);
        process.exitCode = EXIT.badInput;
        return;
      }
      if (opts.holder.trim() === '') {
        process.stderr.write('swarm lease: --holder: expected a name, got ""\n');
        process.exitCode = EXIT.badInput;
        return;
      }
      return withStore({ create: true }, (store) => {
        const ttlMs = typeof opts.ttl === 'number' ? opts.ttl : ttl(opts.ttl);
        const result = store!.acquire({
          holder: opts.holder,
          globs: opts.files,
          pid: opts.pid,
          host: HOST,
          ttlMs,
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        if (!result.ok) {
          process.stderr.write(`swarm lease: refused: ${describeHolder(result.heldBy)}\n`);
          process.exitCode = EXIT.failed;
          return;
        }
        const l = result.lease;
        if (opts.json) process.stdout.write(`${JSON.stringify(l, null, 2)}\n`);
        else process.stdout.write(`Leased ${l.globs.join(' ')} to ${l.holder} until ${when(l.expiresAt)} (id ${l.id}, token ${l.token}).\n`);
      });
    });

  lease
    .command('renew')
    .description("extend a holder's leases (by default by their original TTL)")
    .option('--holder <name>', 'renew every lease of this holder')
    .addOption(new Option('--id <id>', 'renew only this lease').argParser(pid))
    .addOption(new Option('--ttl <duration>', 'the new TTL, from now').argParser(ttl))
    .addHelpText('after', '\nExample:\n  swarm lease renew --holder alice --ttl 1h')
    .action((opts: { holder?: string; id?: number; ttl?: number }) =>
      withStore({ create: false }, (store) => {
        const leases = select(store, opts);
        if (leases === undefined) return;
        for (const l of leases) {
          const ttlMs = opts.ttl ?? l.expiresAt - l.renewedAt;
          if (store!.renew(l.id, l.token, ttlMs)) process.stdout.write(`Renewed ${l.globs.join(' ')} for ${l.holder} for ${formatDuration(ttlMs)}.\n`);
          else {
            process.stderr.write(`swarm lease: lease ${l.id} of ${l.holder} was taken over meanwhile\n`);
            process.exitCode = EXIT.failed;
          }
        }
      }),
    );

  lease
    .command('release')
    .description("give back a holder's leases")
    .option('--holder <name>', 'release every lease of this holder')
    .addOption(new Option('--id <id>', 'release only this lease').argParser(pid))
    .addHelpText('after', '\nExample:\n  swarm lease release --holder alice')
    .action((opts: { holder?: string; id?: number }) =>
      withStore({ create: false }, (store) => {
        const leases = select(store, opts);
        if (leases === undefined) return;
        for (const l of leases) {
          store!.release(l.id, l.token);
          process.stdout.write(`Released ${l.globs.join(' ')} (${l.holder}).\n`);
        }
      }),
    );
}

/** The leases `--holder`/`--id` name; sets the exit code and returns undefined when there are none. */
function select(store: SqliteStore | undefined, opts: { holder?: string; id?: number }): Lease[] | undefined {
  if ((opts.holder === undefined) === (opts.id === undefined)) {
    process.stderr.write('swarm lease: give either --holder NAME or --id ID\n');
    process.exitCode = EXIT.badInput;
    return undefined;
  }
  const leases = (store?.leaseRows() ?? []).filter((l) => (opts.id !== undefined ? l.id === opts.id : l.holder === opts.holder));
  if (leases.length === 0) {
    process.stderr.write(`swarm lease: ${opts.id !== undefined ? `no lease with id ${opts.id}` : `${opts.holder} holds no lease`}\n`);
    process.exitCode = EXIT.failed;
    return undefined;
  }
  return leases;
}

/** Opens the repository's state.db; `undefined` when it does not exist and `create` is false. */
async function withStore(opts: { create: boolean }, fn: (store: SqliteStore | undefined) => void): Promise<void> {
  let path: string;
  try {
    path = await findStateDb(process.cwd());
  } catch (error) {
    if (!(error instanceof NotARepositoryError)) throw error;
    process.stderr.write(`swarm: ${error.message}\n`);
    process.exitCode = EXIT.badInput;
    return;
  }
  if (!opts.create && !existsSync(path)) return fn(undefined);
  const opened = openStateDb(path);
  if (!opened.ok) {
    process.stderr.write(`swarm: ${opened.error}\n`);
    process.exitCode = EXIT.badInput;
    return;
  }
  const store = opened.value;
  try {
    fn(store);
  } finally {
    store.close();
  }
}

function ttl(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`expected a duration such as 90s, 30m or 2h, not ${JSON.stringify(value)}`);
  // The limit lease.ttl has in swarm.yaml.
  if (ms < MIN_LEASE_TTL_MS) throw new InvalidArgumentError(`expected at least 5s, not ${JSON.stringify(value)}`);
  return ms;
}

function pid(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}

function describeHolder(l: Lease): string {
  const why = l.reason ? ` (${l.reason})` : '';
  const proc = l.pid > 0 ? `, pid ${l.pid} on ${l.host}` : '';
  return `${l.globs.join(' ')} held by ${l.holder}${why} since ${when(l.acquiredAt)}${proc}, until ${when(l.expiresAt)}`;
}

/** Local time, e.g. 2025-06-01 14:03:12: what a person compares with their clock. */
function when(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function table(leases: readonly Lease[], now: number): string {
  const rows = [
    ['HOLDER', 'FILES', 'PID', 'HOST', 'AGE', 'EXPIRES', 'TOKEN', 'REASON'],
    ...leases.map((l) => [
      l.holder,
      l.globs.join(' '),
      l.pid > 0 ? String(l.pid) : '-',
      l.host,
      formatDuration(now - l.acquiredAt),
      `in ${formatDuration(Math.max(0, l.expiresAt - now))}`,
      String(l.token),
      l.reason ?? '',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
