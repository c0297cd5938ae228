// The composition root of `swarm run` (over 400 lines on purpose): every port of a run is wired here, and the
// order of the checks before anything is written reads top to bottom in one file.
import type { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { reapOrphans } from '../../agents/orphans.js';
import { defaultRunners } from '../../agents/registry.js';
import { sharedLoginWarning } from '../../agents/shared-login.js';
import { Engine, fileLogSink } from '../../engine/engine.js';
import type { Enforcement, RunStore } from '../../engine/ports.js';
import { Publisher } from '../../engine/publish.js';
import type { Spec } from '../../config/spec.js';
import { Git } from '../../git/index.js';
import { Remote } from '../../git/remote.js';
import { ok, type Result } from '../../util/result.js';
import { buildGraph } from '../../graph/index.js';
import { checkAgainstRepository } from '../../config/repo-checks.js';
import { auditPaths, claudeSettingsJson, escapingLinks, enforcementEnv, ensureGuardHooksDir, resolveOrigHooksPath } from '../../hooks/index.js';
import { createJsonReporter } from '../../report/json.js';
import { inGithubActions } from '../../report/github.js';
import { createPlainReporter } from '../../report/plain.js';
import type { Reporter, RunControls } from '../../report/reporter.js';
import { BwrapSandbox, sandboxPreflight, spoolPath, watcher } from '../../sandbox/index.js';
import { openStateDb } from '../../store/index.js';
import type { SwarmEvent } from '../../engine/events.js';
import { Steering } from '../steer.js';
import { followCommand } from './watch.js';
import { spawnSync } from 'node:child_process';
import { crashPointFromEnv } from '../../util/crash-point.js';
import { shell } from '../../util/shell.js';
import { EXIT } from '../exit.js';
import { freshStart } from '../fresh.js';
import { writeGithubRunEnd } from '../run-summary.js';
import { claimRun } from '../runner-lock.js';
import { type ShardSession, shardEndState, shardTasks, startShard } from '../shard.js';
import { dropStaleExcludes, loadOrReport, MAX_CONCURRENCY, positiveInt, printDiagnostics, swarmArgv, trackedFilesFrom } from '../project.js';

export interface RunFlags {
  concurrency?: string;
  only?: string;
  fresh?: boolean;
  ui?: string;
  keepWorktrees?: boolean;
  acceptBranch?: boolean;
  /** `--push [REMOTE]`: true without a name. */
  push?: string | boolean;
  /** `--shard K/N`. */
  shard?: string;
  /** The repository to work in (not a flag: `swarm demo` passes its scratch repository). @default the current folder's */
  repo?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the graph; resumes the unfinished run of the same name')
    .argument('[file]', 'the swarm file', 'swarm.yaml')
    .option('-c, --concurrency <n>', 'most agents at once (overrides the file)')
    .option('--only <ids>', 'run only these tasks (comma-separated), with their dependencies')
    .option('--fresh', 'discard the saved run and start over')
    .option('--ui <kind>', 'tui | plain | json (default: tui on a terminal, plain otherwise and when CI is set)')
    .option('--accept-branch', 'accept the integration branch where it is now, though swarm did not move it there (you moved it on purpose)')
    .option(
      '--push [remote]',
      "fetch the run's branches from REMOTE first, push merges and unmerged work to it (compare-and-swap); default origin, or the file's push:",
    )
    .option('--shard <K/N>', 'run shard K of N (the file split so that tasks whose files overlap share a shard); the shards meet at the --push remote')
    .option('--keep-worktrees', "keep each merged task's worktree as it is (default: handed to the next task, or removed once merged)")
    .addHelpText(
      'after',
      `
Examples:
  swarm run                          # ./swarm.yaml, the TUI on a terminal
  swarm run refactor.yaml -c 8 --ui plain
  swarm run --only auth,api          # auth and api, and whatever they depend on
  swarm run --push                   # in CI: resumes from origin, pushes progress there
  swarm run --shard 2/4 --push origin  # one job of a CI matrix: shard 2 of 4

Exit codes: 0 all merged, 1 a task failed/conflicted/blocked, 2 bad input, 75 usage limit reached (resumable: run again after its reset), 130 stopped (resumable).`,
    )
    .action(async (file: string, flags: RunFlags) => {
      process.exitCode = await runCommand(file, flags);
    });
}

export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`swarm run: ${message}\n`);
    return EXIT.badInput;
  };
  const concurrency = positiveInt('--concurrency', flags.concurrency, MAX_CONCURRENCY);
  if (typeof concurrency === 'string') return fail(concurrency);
  const ui = flags.ui ?? (process.stdout.isTTY && !process.env.CI ? 'tui' : 'plain');
  if (!['tui', 'plain', 'json'].includes(ui)) return fail(`--ui: expected tui, plain or json, got "${ui}"`);

  // Templates expand against the repository the run works in (the file's own when that is none).
  const spec = loadOrReport(file, { repoDir: flags.repo ?? process.cwd() });
  if (!spec) return EXIT.badInput;
  const slots = concurrency ?? spec.concurrency;
  // Parked worktrees, as many as can run at once, unless merged worktrees are kept as they
  // are (--keep-worktrees) or SWARM_POOL=0 (hidden; for benchmarks and bisecting).
  const pool = flags.keepWorktrees === true || process.env.SWARM_POOL === '0' ? 0 : slots;
  // The repository is the one you stand in; the file may live anywhere (its own relative
  // paths resolve against it). Outside any repository, the file's own is used.
  const options = { worktreesDir: spec.worktrees, pool };
  const here = await Git.open(flags.repo ?? process.cwd(), options);
  const opened = here.ok ? here : await Git.open(dirname(resolve(file)), options);
  if (!opened.ok) return fail(opened.error);
  const git = opened.value;
  const trackedFiles = await trackedFilesFrom(git.root);
  const repo = checkAgainstRepository(spec, trackedFiles, file);
  if (repo.length > 0) {
    printDiagnostics(repo);
    return EXIT.badInput;
  }
  await dropStaleExcludes(git.root, trackedFiles);
  // Before anything is written under .swarm/, so it never shows as an untracked change.
  await git.ensureExcluded();
  const stateDir = join(git.root, '.swarm');
  const openedStore = openStateDb(join(stateDir, 'state.db'));
  if (!openedStore.ok) return fail(openedStore.error);
  const store = openedStore.value;
  // One runner per run, claimed before any work on the run's branches: a second `swarm run`
  // of the same run started at the same instant is refused here, not half-way through a merge.
  const claim = claimRun(store, spec.name, flags.fresh ? 'starting it afresh' : 'running it too');
  if (!claim.ok) {
    store.close();
    return fail(claim.error);
  }
  // The shard's claim on the remote, once taken: ended on every way out.
  let endShard: ShardSession['end'] = async () => undefined;
  try {
    const graphResult = buildGraph(spec, { durations: store.learntDurations(), trackedFiles });
    if (!graphResult.ok) {
      printDiagnostics(graphResult.error);
      return EXIT.badInput;
    }
    const graph = graphResult.value;

    let selected: Set<string> | undefined;
    const sharding = flags.shard === undefined ? undefined : shardTasks(spec, trackedFiles, flags.shard);
    if (sharding !== undefined) {
      if (!sharding.ok) return fail(sharding.error);
      if (flags.only !== undefined) return fail('--shard and --only: a shard runs the tasks the file gives it; pick one');
      if (flags.fresh)
        return fail('--shard and --fresh: one shard cannot start the whole run over; delete the integration branch on the remote to start afresh');
      selected = sharding.value.tasks;
    }
    if (flags.only !== undefined) {
      // A template's name stands for every task it made.
      const ids = flags.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .flatMap((id) => spec.templates?.find((t) => t.id === id)?.tasks ?? [id]);
      const unknown = ids.filter((id) => !graph.ids.includes(id));
      if (unknown.length > 0 || ids.length === 0) {
        return fail(`--only: ${ids.length === 0 ? 'expected task ids' : `no task named ${unknown.join(', ')}`} (tasks: ${graph.ids.join(', ')})`);
      }
      selected = new Set(ids.flatMap((id) => [id, ...graph.ancestors(id)]));
    }

    // Every check of the input before --fresh discards anything.
    const sandbox = await BwrapSandbox.open(git.root, stateDir);
    const chosen = spec.tasks.filter((t) => !selected || selected.has(t.id));
    const confinement = sandboxPreflight(sandbox, chosen, spec.lease.enforce !== 'off');
    if (!confinement.ok) return fail(confinement.error);
    const runners = defaultRunners({ sandbox });
    const kinds = new Set(chosen.map((t) => t.agent));
    for (const agent of kinds) {
      const runner = runners.get(agent.kind);
      if (!runner) return fail(`no runner for agent kind "${agent.kind}"`);
      const ready = await runner.preflight(agent, git.root);
      if (!ready.ok) return fail(ready.error);
    }

    if (flags.fresh) {
      const fresh = await freshStart(git, store, spec);
      if (!fresh.ok) return fail(fresh.error);
      for (const line of fresh.value) process.stderr.write(`swarm: ${line}\n`);
    }

    const remoteName = flags.push === undefined || flags.push === false ? spec.push : flags.push === true ? (spec.push ?? 'origin') : flags.push;
    if (sharding !== undefined && remoteName === undefined) {
      return fail('--shard: the shards of a run meet at a git remote; add --push REMOTE (or push: in the file)');
    }
    let publisher: Publisher | undefined;
    if (remoteName !== undefined) {
      const remote = await Remote.open(git.root, remoteName);
      if (!remote.ok) return fail(remote.error);
      publisher = new Publisher({
        remote: remote.value,
        run: spec.name,
        into: spec.into,
        branchOf: (task) => git.taskBranch(spec.name, task),
        clock: { now: () => Date.now() },
        // Hidden, for tests: how late a merge or a running task's commits may go out (30 s).
        ...(Number(process.env.SWARM_TEST_PUSH_INTERVAL_MS) > 0 ? { intervalMs: Number(process.env.SWARM_TEST_PUSH_INTERVAL_MS) } : {}),
        crashPoint: crashPointFromEnv(),
      });
    }

    let lostShard: (message: string) => void = () => undefined;
    let shardSession: ShardSession | undefined;
    if (sharding?.ok && publisher && remoteName !== undefined) {
      const { index, count, shardOf } = sharding.value;
      const started = await startShard({ root: git.root, remote: remoteName, spec, index, count, shardOf, publisher, onLost: (m) => lostShard(m) });
      if (!started.ok) return fail(started.error);
      shardSession = started.value;
      endShard = (state) => started.value.end(state);
    }
    const enforcement = spec.lease.enforce === 'off' ? undefined : await makeEnforcement(stateDir, git, spec.lease.enforce, sandbox);
    // Steering reaches the engine only through these two calls, once the engine exists.
    const control = {
      stopTask: (id: string) => engine.stopTask(id),
      retryTask: (id: string) => engine.retryTask(id),
    };
    const listeners: ((e: SwarmEvent) => void)[] = [];
    const steering = new Steering({
      spec,
      store,
      stateDir,
      swarmArgv: swarmArgv(),
      control,
      tell: (e) => {
        for (const l of listeners) l(e);
      },
    });
    const engine: Engine = new Engine({
      spec,
      graph,
      store,
      git,
      shell,
      agents: runners,
      clock: { now: () => Date.now() },
      concurrency: slots,
      logs: fileLogSink(join(stateDir, 'logs', spec.name)),
      enforcement,
      inbox: steering,
      selected,
      keepWorktrees: flags.keepWorktrees === true,
      // Hidden: first-come order instead of the critical path, to measure what the order is worth.
      priority: process.env.SWARM_PRIORITY === 'fifo' ? 'fifo' : 'critical-path',
      host: hostname(),
      // Only processes working inside this run's worktrees: a reused pid must not reach another run's agents.
      acceptMovedBranch: flags.acceptBranch === true,
      crashPoint: crashPointFromEnv(),
      publish: publisher,
      // --fresh starts over: what the integration branch records is not taken as done.
      ignoreRecord: flags.fresh === true,
      ...(shardSession ? { shard: shardSession.options } : {}),
      reapOrphans: (pid) => reapOrphans(pid, { within: realPath(dirname(git.worktreePath(spec.name, '_'))) }),
    });

    lostShard = (message) => engine.stopOnFatal(message);
    const controls: RunControls = {
      stop: (force) => engine.stop(force),
      // Inside tmux, the TUI's `o` follows a task's log beside it.
      ...(process.env.TMUX ? { openLog: (task: string) => openLogPane(spec.name, task, git.root) } : {}),
    };
    const reporter = await makeReporter(ui, file, controls, spec);
    engine.on((e) => reporter.handle(e));
    listeners.push((e) => reporter.handle(e));
    if (confinement.value !== undefined) {
      reporter.handle({ type: 'log', reason: 'warning', run: spec.name, at: Date.now(), message: confinement.value });
    }
    const shared = sharedLoginWarning(spec, selected, slots);
    if (shared !== undefined) reporter.handle({ type: 'log', reason: 'warning', run: spec.name, at: Date.now(), message: shared });
    if (await git.userCheckoutDirty()) {
      reporter.handle({
        type: 'log',
        reason: 'info',
        run: spec.name,
        at: Date.now(),
        message: 'your checkout has uncommitted changes; swarm works from commits, so they are not part of this run (and are left alone)',
      });
    }

    if (publisher) {
      const synced = await syncFromRemote(publisher, store, spec.name, git, flags.fresh !== true);
      if (!synced.ok) {
        await reporter.close();
        return fail(synced.error);
      }
      for (const message of synced.value) reporter.handle({ type: 'log', reason: 'info', run: spec.name, at: Date.now(), message });
    }

    let interrupts = 0;
    const onSignal = () => {
      interrupts++;
      if (interrupts === 1) engine.stop(false);
      else if (interrupts === 2) engine.stop(true);
      else process.exit(EXIT.interrupted);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    steering.start();
    try {
      const began = Date.now();
      const result = await engine.run().finally(() => steering.stop());
      await endShard(shardEndState(result));
      await git.drainPool(spec.name).catch(() => undefined);
      await reporter.close();
      if (inGithubActions()) {
        const problem = writeGithubRunEnd(store, spec.name, stateDir, began);
        if (problem !== undefined) process.stderr.write(`swarm: warning: ${problem}\n`);
      }
      if (!result.ok) return fail(result.error);
      switch (result.value.outcome) {
        case 'success':
          return EXIT.ok;
        case 'cancelled':
          return EXIT.interrupted;
        case 'failed':
        case 'budget':
          return EXIT.failed;
        case 'usage-limit':
          process.stderr.write(`swarm run: ${result.value.message ?? 'usage limit reached'}\n`);
          return EXIT.usageLimit;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } finally {
    // Any way out before the run's end (bad input, a refused sync): the shard is free again.
    await endShard('failed').catch(() => undefined);
    claim.value();
    store.close();
  }
}

/**
 * `--push`, before the run: the remote's branches come in. When the integration branch
 * moved forward to the remote's head and the run's record in state.db names a head that
 * head contains, swarm takes it as its own (another runner of this run pushed it), so it
 * is not reported as moved outside swarm.
 */
async function syncFromRemote(publisher: Publisher, store: RunStore, run: string, git: Git, tasks: boolean): Promise<Result<string[], string>> {
  const synced = await publisher.sync({ tasks });
  if (!synced.ok) return synced;
  const moved = synced.value.integration;
  const recorded = store.getRun(run)?.headSha;
  if (moved && recorded !== undefined && recorded !== moved.to && (await git.contains(recorded, moved.to))) store.setIntegrationHead(run, moved.to);
  return ok(synced.value.lines.map((l) => `--push: ${l}`));
}

async function makeEnforcement(stateDir: string, git: Git, mode: 'block' | 'warn', sandbox: BwrapSandbox): Promise<Enforcement> {
  const argv = swarmArgv();
  const guardHooksDir = ensureGuardHooksDir(stateDir, argv);
  const origHooksPath = await resolveOrigHooksPath(git.root);
  const settingsJson = claudeSettingsJson(argv, { guard: true, messages: true });
  return {
    forTask: ({ run, task, worktree, lease }) => ({
      env: enforcementEnv({
        stateDb: join(stateDir, 'state.db'),
        run,
        task: task.id,
        worktree,
        files: task.files,
        leaseId: lease.id,
        enforce: mode,
        guardHooksDir,
        origHooksPath,
        spool: spoolPath(stateDir, run, task.id),
      }),
      settingsJson,
    }),
    audit: auditPaths,
    escapingLinks,
    watch: watcher({
      stateDir,
      confined: (task) => sandbox.confines(task.agent),
      scope: (run) => ({
        root: git.root,
        commonDir: sandbox.layout.commonDir,
        stateDir,
        mergeWorktree: git.mergeWorktreePath(run),
        betweenMerges: (fn) => git.betweenMerges(fn),
      }),
    }),
  };
}

async function makeReporter(ui: string, file: string, controls: RunControls, spec: Spec): Promise<Reporter> {
  if (ui === 'json') return createJsonReporter(process.stdout);
  if (ui === 'plain') {
    const taskLoc = (id: string) => spec.tasks.find((t) => t.id === id)?.loc.id;
    return createPlainReporter({ out: process.stdout, file, ...(inGithubActions() ? { github: { taskLoc } } : {}) });
  }
  const { createTuiReporter } = await import('../../tui/reporter.js');
  return createTuiReporter({ stdout: process.stdout, stdin: process.stdin, controls, file, noColor: Boolean(process.env.NO_COLOR) });
}

function openLogPane(run: string, task: string, cwd: string): void {
  spawnSync('tmux', ['split-window', '-h', '-d', '-c', cwd, followCommand(run, task)], { stdio: 'ignore' });
}

/** /proc shows a process's folder with symlinks resolved; compare like with like. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
