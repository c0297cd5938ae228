import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { planDot, planMermaid } from '../../graph/plan-diagram.js';
import { planJson, type PlanJson } from '../../graph/plan-json.js';
import { shardMatrix, shardsText } from '../../graph/plan-shards.js';
import { planText } from '../../graph/plan-text.js';
import { MAX_SHARDS, planShards } from '../../graph/shards.js';
import { unreachable } from '../../util/result.js';
import { EXIT } from '../exit.js';
import { MAX_CONCURRENCY, positiveInt } from '../project.js';
import { loadGraph, reportDiagnostics, repositoryRoot } from './validate.js';

const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
type Format = (typeof FORMATS)[number];

export function register(program: Command): void {
  program
    .command('plan')
    .description('show the order, waves, critical path, file conflicts and effective concurrency of a swarm file')
    .argument('[file]', 'the swarm file', 'swarm.yaml')
    .option('--format <format>', 'text | json | mermaid | dot', 'text')
    .option('-c, --concurrency <n>', 'plan for this many agents at once (overrides the file)')
    .option('--shards <n>', `split the tasks over N shards (1..${MAX_SHARDS}) for swarm run --shard K/N; with --format json, print the CI matrix`)
    .addHelpText(
      'after',
      `
The critical path is weighted by what swarm has learnt from earlier runs in this
repository, else by each task's "estimate", else 1 per task. The JSON shape is
documented in docs/plan-json.md.

With --shards N, plan shows which tasks each shard of swarm run --shard K/N gets,
from the file alone (estimates, else 1 per task; never learnt durations), so every
machine agrees; tasks whose globs overlap share a shard. --format json then prints only
a GitHub Actions matrix, {"include":[{"shard":"1/N","tasks":...,"load":...}, ...]}, on
one line.

Examples:
  $ swarm plan                                  # ./swarm.yaml, for a terminal
  $ swarm plan refactor.yaml --format json | jq '.criticalPath'
  $ swarm plan --format mermaid > plan.mmd
  $ swarm plan --format dot | dot -Tsvg > plan.svg
  $ swarm plan --shards 4                       # which tasks each of 4 CI jobs runs
  $ echo "matrix=$(swarm plan --shards 4 --format json)" >> "$GITHUB_OUTPUT"`,
    )
    .action(async (file: string, flags: PlanFlags) => {
      process.exitCode = await planCommand(file, flags);
    });
}

interface PlanFlags {
  readonly format: string;
  readonly concurrency?: string;
  readonly shards?: string;
}

export async function planCommand(file: string, flags: PlanFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`swarm plan: ${message}\n`);
    return EXIT.badInput;
  };
  if (!(FORMATS as readonly string[]).includes(flags.format)) return fail(`--format: expected ${FORMATS.join(', ')}, got "${flags.format}"`);
  const format = flags.format as Format;
  const concurrency = positiveInt('--concurrency', flags.concurrency, MAX_CONCURRENCY);
  if (typeof concurrency === 'string') return fail(concurrency);
  const shards = shardCount(flags.shards);
  if (typeof shards === 'string') return fail(shards);
  if (shards !== undefined && format !== 'text' && format !== 'json') return fail(`--shards: expected --format text or json, got --format ${format}`);

  // Shards come from the file alone, as every shard's runner computes them: learnt
  // durations live in one machine's state.db and would split the tasks differently.
  const durations = shards === undefined ? await learntDurations(file) : undefined;
  const loaded = await loadGraph(file, durations === undefined ? {} : { durations });
  if (!loaded.ok) {
    reportDiagnostics(file, loaded.error);
    return EXIT.badInput;
  }
  const { spec, graph } = loaded.value;
  if (shards !== undefined) {
    const plan = planShards(graph, shards);
    // One line: GitHub reads `name=value` outputs a line at a time.
    process.stdout.write(format === 'json' ? `${JSON.stringify(shardMatrix(plan))}\n` : shardsText(spec.name, graph, plan));
    return EXIT.ok;
  }
  process.stdout.write(render(planJson(spec, graph, concurrency ?? spec.concurrency), format));
  return EXIT.ok;
}

function shardCount(value: string | undefined): number | string | undefined {
  const n = positiveInt('--shards', value);
  if (typeof n === 'number' && n > MAX_SHARDS)
    return `--shards: expected at most ${MAX_SHARDS} (a GitHub Actions matrix holds at most ${MAX_SHARDS} jobs), got ${n}`;
  return n;
}

function render(plan: PlanJson, format: Format): string {
  switch (format) {
    case 'text':
      return planText(plan);
    case 'json':
      return `${JSON.stringify(plan, null, 2)}\n`;
    case 'mermaid':
      return planMermaid(plan);
    case 'dot':
      return planDot(plan);
    default:
      return unreachable(format);
  }
}

/**
 * Durations learnt by earlier runs in this repository, so the plan's critical path is
 * the one the scheduler will use. Only read when a state database already exists: plan
 * never creates `.swarm/`. Any trouble reading it just means "nothing learnt".
 */
async function learntDurations(file: string): Promise<ReadonlyMap<string, number> | undefined> {
  if (repositoryRoot(dirname(resolve(file))) === undefined) return undefined;
  try {
    // Loaded lazily: the native SQLite module is only worth its start-up cost when there is history.
    const { findMainRoot, openStore } = await import('../../store/index.js');
    const db = join(await findMainRoot(dirname(resolve(file))), '.swarm', 'state.db');
    if (!existsSync(db)) return undefined;
    const store = openStore(db);
    try {
      return store.learntDurations();
    } finally {
      store.close();
    }
  } catch {
    return undefined;
  }
}
