import { formatDuration } from '../util/duration.js';
import type { PlanJson } from './plan-json.js';
import type { WeightUnit } from './task-graph.js';

/** A weight for humans: `3 tasks` or `1h20m`. */
export function formatWeight(value: number, unit: WeightUnit): string {
  return unit === 'tasks' ? `${value} task${value === 1 ? '' : 's'}` : formatDuration(value);
}

/** `swarm plan` for a terminal. Waves are numbered from 1 here (the JSON counts from 0). */
export function planText(plan: PlanJson): string {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const out: string[] = [];
  const n = plan.tasks.length;
  out.push(`${plan.name}: ${n} task${n === 1 ? '' : 's'} in ${plan.waves.length} wave${plan.waves.length === 1 ? '' : 's'}, merged into ${plan.into}`);

  out.push('', 'Waves (each wave waits for the waves before it)');
  const width = String(plan.waves.length).length;
  plan.waves.forEach((wave, k) => {
    out.push(`  ${String(k + 1).padStart(width)}  ${wave.join(', ')}`);
  });

  out.push('', 'Order');
  const idWidth = Math.max(...plan.tasks.map((t) => t.id.length), 2);
  plan.order.forEach((id, k) => {
    const t = byId.get(id)!;
    const after = t.dependsOn.length > 0 ? `  after ${t.dependsOn.join(', ')}` : '';
    const title = t.title !== id ? `  ${t.title}` : '';
    out.push(`  ${String(k + 1).padStart(String(n).length)}. ${id.padEnd(idWidth)}${title}${after}`);
  });

  const unitNote = plan.weightUnit === 'tasks' ? 'no durations known yet: each task counts 1' : 'from learnt durations and estimates';
  out.push('', `Critical path: ${formatWeight(plan.criticalPath.length, plan.weightUnit)} (${unitNote})`);
  out.push(`  ${plan.criticalPath.tasks.join(' -> ')}`);

  if (plan.conflicts.length === 0) {
    out.push('', 'File conflicts: none');
  } else {
    out.push('', `File conflicts: ${plan.conflicts.length} pair${plan.conflicts.length === 1 ? '' : 's'} that could run together but never will`);
    for (const c of plan.conflicts) {
      const where = c.path === undefined ? '' : ` (both match ${c.path})`;
      out.push(`  ${c.a} x ${c.b}: ${c.globA} overlaps ${c.globB}${where}`);
    }
  }

  out.push('', `Concurrency: ${plan.effectiveConcurrency} effective of ${plan.concurrency} configured`);
  return `${out.join('\n')}\n`;
}
