import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Diagnostic } from '../../config/diagnostic.js';
import { loadSpecFile } from '../../config/load.js';
import { checkAgainstRepository } from '../../config/repo-checks.js';
import { summarizeDiagnostics } from '../../config/print.js';
import type { Spec } from '../../config/spec.js';
import { buildGraph } from '../../graph/build.js';
import { formatWeight } from '../../graph/plan-text.js';
import type { TaskGraph } from '../../graph/task-graph.js';
import { err, ok, type Result } from '../../util/result.js';
import { EXIT } from '../exit.js';
import { printDiagnostics, trackedFilesFrom } from '../project.js';

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a swarm file and its task graph without running anything; exit 0 when valid, 2 otherwise')
    .argument('[file]', 'the swarm file', 'swarm.yaml')
    .addHelpText(
      'after',
      `
Checks the YAML, every key and value, prompt files, dependencies (cycles are named in
order, a -> b -> a), and file globs (a task owning every file must run alone). Tracked
files of the enclosing git repository count when two tasks' globs could share a file.

Examples:
  $ swarm validate                  # ./swarm.yaml
  $ swarm validate refactor.yaml && swarm run refactor.yaml

Exit codes: 0 valid, 2 problems (each printed as file:line:col with the offending line).`,
    )
    .action(async (file: string) => {
      process.exitCode = await validateCommand(file);
    });
}

export async function validateCommand(file: string): Promise<number> {
  const loaded = await loadGraph(file);
  if (!loaded.ok) {
    reportDiagnostics(file, loaded.error);
    return EXIT.badInput;
  }
  const { spec, graph } = loaded.value;
  const n = graph.ids.length;
  const parts = [
    `${n} task${n === 1 ? '' : 's'}`,
    `${graph.waves.length} wave${graph.waves.length === 1 ? '' : 's'}`,
    `critical path ${formatWeight(graph.criticalPath.length, graph.weightUnit)}`,
    `${graph.conflicts.length} file conflict${graph.conflicts.length === 1 ? '' : 's'}${graph.conflicts.length > 0 ? ' (run apart; see swarm plan)' : ''}`,
    `effective concurrency ${graph.effectiveConcurrency(spec.concurrency)} of ${spec.concurrency}`,
  ];
  process.stdout.write(`${file}: ok: ${parts.join(', ')}\n`);
  return EXIT.ok;
}

/** Prints diagnostics to stderr the way every command does, with a count at the end. */
export function reportDiagnostics(file: string, diagnostics: readonly Diagnostic[]): void {
  printDiagnostics(diagnostics);
  process.stderr.write(`${file}: ${summarizeDiagnostics(diagnostics)}\n`);
}

export interface LoadGraphOptions {
  /** Learnt durations by task id, in ms. */
  readonly durations?: ReadonlyMap<string, number>;
}

/**
 * File -> Spec -> TaskGraph. Config problems stop before the graph (there is no
 * trustworthy graph to build from a file that failed to load); all graph problems are
 * reported together.
 */
export async function loadGraph(file: string, opts: LoadGraphOptions = {}): Promise<Result<{ spec: Spec; graph: TaskGraph }, Diagnostic[]>> {
  const dir = dirname(resolve(file));
  const tracked = existsSync(dir) ? trackedFilesFrom(dir) : Promise.resolve([]);
  const loaded = loadSpecFile(file);
  if (!loaded.ok) return err(loaded.error);
  const spec = loaded.value;
  const trackedFiles = await tracked;
  const repo = checkAgainstRepository(spec, trackedFiles, file);
  if (repo.length > 0) return err(repo);
  const graph = buildGraph(spec, {
    ...(opts.durations === undefined ? {} : { durations: opts.durations }),
    trackedFiles,
  });
  if (!graph.ok) return err(graph.error);
  return ok({ spec, graph: graph.value });
}

/** The top of the work tree holding `dir`, or undefined outside git (then tracked files are skipped). */
export function repositoryRoot(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  try {
    const out = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}
