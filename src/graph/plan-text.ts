import { formatDuration } from '../util/duration.js';
import type { PlanJson, PlanTask } from './plan-json.js';
import type { WeightUnit } from './task-graph.js';

/** A weight for humans: `3 tasks` or `1h20m`. */
export function formatWeight(value: number, unit: WeightUnit): string {
  return unit === 'tasks' ? `${value} task${value === 1 ? '' : 's'}` : formatDuration(value);
}

/** How many of a template's matches the text plan names. */
const SHOWN_MATCHES = 3;

type ById = ReadonlyMap<string, PlanTask>;

/** Ids with each template's tasks folded into one `name (N tasks)` entry, at the place of its first. */
function grouped(ids: readonly string[], byId: ById): string[] {
  const counts = new Map<string, number>();
  for (const id of ids) {
    const template = byId.get(id)?.template;
    if (template !== undefined) counts.set(template, (counts.get(template) ?? 0) + 1);
  }
  const out: string[] = [];
  const done = new Set<string>();
  for (const id of ids) {
    const template = byId.get(id)?.template;
    if (template === undefined) out.push(id);
    else if (!done.has(template)) {
      done.add(template);
      const n = counts.get(template)!;
      out.push(`${template} (${n} task${n === 1 ? '' : 's'})`);
    }
  }
  return out;
}

/** The order, a template's tasks as one row where its first task comes (its dependencies: all its tasks'). */
function orderRows(plan: PlanJson, byId: ById): { id: string; title: string; dependsOn: string[] }[] {
  const rows: { id: string; title: string; dependsOn: string[] }[] = [];
  const rowOf = new Map<string, { id: string; title: string; dependsOn: string[] }>();
  const seen = new Map<string, Set<string>>();
  for (const id of plan.order) {
    const t = byId.get(id)!;
    if (t.template === undefined) {
      rows.push({ id, title: t.title, dependsOn: [...t.dependsOn] });
      continue;
    }
    let row = rowOf.get(t.template);
    if (row === undefined) {
      const count = plan.templates?.find((x) => x.id === t.template)?.count ?? 0;
      row = { id: t.template, title: `${count} task${count === 1 ? '' : 's'}`, dependsOn: [] };
      rowOf.set(t.template, row);
      seen.set(t.template, new Set());
      rows.push(row);
    }
    const deps = seen.get(t.template)!;
    for (const dep of t.dependsOn) {
      if (deps.has(dep)) continue;
      deps.add(dep);
      row.dependsOn.push(dep);
    }
  }
  return rows;
}

/** `swarm plan` for a terminal. Waves are numbered from 1 here (the JSON counts from 0). */
export function planText(plan: PlanJson): string {
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const out: string[] = [];
  const n = plan.tasks.length;
  out.push(`${plan.name}: ${n} task${n === 1 ? '' : 's'} in ${plan.waves.length} wave${plan.waves.length === 1 ? '' : 's'}, merged into ${plan.into}`);

  const templates = plan.templates ?? [];
  if (templates.length > 0) {
    out.push('', 'Templates (one task per match)');
    const nameWidth = Math.max(...templates.map((t) => t.id.length));
    for (const t of templates) {
      const shown = t.tasks.slice(0, SHOWN_MATCHES).map((id) => byId.get(id)?.match ?? id);
      const more = t.count > shown.length ? `, ... (${t.count - shown.length} more)` : '';
      out.push(`  ${t.id.padEnd(nameWidth)}  ${t.count} task${t.count === 1 ? '' : 's'} over ${t.source}: ${shown.join(', ')}${more}`);
    }
  }

  out.push('', 'Waves (each wave waits for the waves before it)');
  const width = String(plan.waves.length).length;
  plan.waves.forEach((wave, k) => {
    out.push(`  ${String(k + 1).padStart(width)}  ${grouped(wave, byId).join(', ')}`);
  });

  out.push('', 'Order');
  const rows = orderRows(plan, byId);
  const idWidth = Math.max(...rows.map((r) => r.id.length), 2);
  rows.forEach((row, k) => {
    const after = row.dependsOn.length > 0 ? `  after ${grouped(row.dependsOn, byId).join(', ')}` : '';
    const title = row.title !== row.id ? `  ${row.title}` : '';
    out.push(`  ${String(k + 1).padStart(String(rows.length).length)}. ${row.id.padEnd(idWidth)}${title}${after}`);
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
