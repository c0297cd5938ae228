/**
 * The plan as a diagram: Mermaid (renders in GitHub markdown) and Graphviz dot.
 * Edges run from a dependency to the task that waits for it; the critical path is drawn
 * thick and red; file conflicts are dashed, undirected, and do not affect layout.
 */
import type { PlanJson } from './plan-json.js';

function criticalEdges(plan: PlanJson): Set<string> {
  const path = plan.criticalPath.tasks;
  const edges = new Set<string>();
  for (let i = 0; i + 1 < path.length; i++) edges.add(`${path[i]!}\0${path[i + 1]!}`);
  return edges;
}

function edgesOf(plan: PlanJson): { from: string; to: string }[] {
  return plan.tasks.flatMap((t) => t.dependsOn.map((d) => ({ from: d, to: t.id })));
}

export function planMermaid(plan: PlanJson): string {
  // Mermaid ids are restricted (and `end` is a keyword), so nodes get positional ids.
  const node = new Map(plan.tasks.map((t, i) => [t.id, `t${i}`]));
  const label = (id: string, title: string) => (title === id ? id : `${id}: ${title}`).replace(/"/g, '#quot;');
  const critical = criticalEdges(plan);
  const out = ['flowchart LR'];
  for (const t of plan.tasks) out.push(`  ${node.get(t.id)!}["${label(t.id, t.title)}"]`);
  const thick: number[] = [];
  let link = 0;
  for (const e of edgesOf(plan)) {
    out.push(`  ${node.get(e.from)!} --> ${node.get(e.to)!}`);
    if (critical.has(`${e.from}\0${e.to}`)) thick.push(link);
    link++;
  }
  const dashed: number[] = [];
  for (const c of plan.conflicts) {
    out.push(`  ${node.get(c.a)!} -. files .- ${node.get(c.b)!}`);
    dashed.push(link++);
  }
  const onPath = plan.criticalPath.tasks.map((id) => node.get(id)!);
  if (onPath.length > 0) {
    out.push('  classDef critical stroke:#d33,stroke-width:3px');
    out.push(`  class ${onPath.join(',')} critical`);
  }
  if (thick.length > 0) out.push(`  linkStyle ${thick.join(',')} stroke:#d33,stroke-width:3px`);
  if (dashed.length > 0) out.push(`  linkStyle ${dashed.join(',')} stroke:#999`);
  return `${out.join('\n')}\n`;
}

export function planDot(plan: PlanJson): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const critical = criticalEdges(plan);
  const onPath = new Set(plan.criticalPath.tasks);
  const out = [`digraph ${q(plan.name)} {`, '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  for (const t of plan.tasks) {
    const text = t.title === t.id ? t.id : `${t.id}\n${t.title}`;
    out.push(`  ${q(t.id)} [label=${q(text)}${onPath.has(t.id) ? ', color=red, penwidth=2' : ''}];`);
  }
  for (const e of edgesOf(plan)) {
    out.push(`  ${q(e.from)} -> ${q(e.to)}${critical.has(`${e.from}\0${e.to}`) ? ' [color=red, penwidth=2]' : ''};`);
  }
  for (const c of plan.conflicts) {
    out.push(`  ${q(c.a)} -> ${q(c.b)} [dir=none, style=dashed, color=gray, constraint=false, label="files"];`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
