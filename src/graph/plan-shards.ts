/** `swarm plan --shards N`: the shard plan for a terminal, and the CI matrix for `--format json`. */
import { formatWeight } from './plan-text.js';
import { conflictGroups, type ShardPlan } from './shards.js';
import type { TaskGraph } from './task-graph.js';

/** One job of a GitHub Actions matrix (`strategy.matrix: ${{ fromJSON(...) }}`). */
export interface ShardMatrixEntry {
  /** `K/N`, what `swarm run --shard` takes. */
  readonly shard: string;
  readonly tasks: number;
  /** In the plan's unit: tasks, or milliseconds when estimates are given. */
  readonly load: number;
}

/**
 * Every shard, empty ones included, so that entry K is always shard K/N whatever the file
 * holds (an empty shard's job has nothing to run and finishes at once).
 */
export function shardMatrix(plan: ShardPlan): { readonly include: readonly ShardMatrixEntry[] } {
  return { include: plan.shards.map((s) => ({ shard: `${s.index}/${plan.count}`, tasks: s.tasks.length, load: s.load })) };
}

const WIDTH = 100;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `ids` joined by commas, wrapped at WIDTH, each line indented. */
function wrapped(ids: readonly string[], indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [k, id] of ids.entries()) {
    const word = k < ids.length - 1 ? `${id},` : id;
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

export function shardsText(name: string, graph: TaskGraph, plan: ShardPlan): string {
  const n = plan.count;
  const out: string[] = [];
  out.push(`${name}: ${plural(graph.ids.length, 'task')} over ${plural(n, 'shard')}, for swarm run --shard K/${n}`);
  out.push(
    plan.unit === 'tasks'
      ? 'Load: 1 per task (no task has an estimate).'
      : "Load: the tasks' estimates (a task without one weighs their median); never learnt durations, so every machine agrees.",
  );

  for (const s of plan.shards) {
    out.push('');
    if (s.tasks.length === 0) {
      out.push(`Shard ${s.index}/${n}: no tasks (its job finishes at once)`);
      continue;
    }
    out.push(`Shard ${s.index}/${n}: ${plural(s.tasks.length, 'task')}, load ${formatWeight(s.load, plan.unit)}`);
    out.push(...wrapped(s.tasks, '  '));
  }

  const together = conflictGroups(graph).filter((g) => g.length > 1);
  out.push('');
  if (together.length === 0) out.push('Kept together because their globs overlap: none');
  else {
    out.push(`Kept together because their globs overlap (${plural(together.length, 'group')}, each on one shard):`);
    for (const g of together) out.push(`  shard ${plan.shardOf(g[0]!)}: ${g.join(' + ')}`);
  }

  let crossing = 0;
  for (const id of graph.ids) for (const dep of graph.dependencies(id)) if (plan.shardOf(dep) !== plan.shardOf(id)) crossing++;
  out.push(
    crossing === 0
      ? 'Cross-shard dependencies: none'
      : `Cross-shard dependencies: ${crossing} (a task waits until its dependency's merge is on the remote's integration branch)`,
  );
  return `${out.join('\n')}\n`;
}
