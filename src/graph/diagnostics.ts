/** The graph's own errors, pointing into swarm.yaml through `TaskSpec.loc`. */
import type { Diagnostic } from '../config/diagnostic.js';
import type { SourceLoc, TaskSpec } from '../config/spec.js';
import { MAX_CYCLES_PER_COMPONENT } from './cycles.js';

type Related = { readonly message: string; readonly loc: SourceLoc };

function dependsOnLoc(task: TaskSpec, dep: string): SourceLoc | undefined {
  const k = task.dependsOn.indexOf(dep);
  return (k >= 0 ? task.loc.dependsOn?.[k] : undefined) ?? task.loc.id;
}

/** `cycle` is [a, b, c]: a depends on b, b on c, c on a. */
export function cycleDiagnostic(cycle: readonly string[], task: (id: string) => TaskSpec): Diagnostic {
  const related: Related[] = [];
  let first: SourceLoc | undefined;
  cycle.forEach((id, k) => {
    const dep = cycle[(k + 1) % cycle.length]!;
    const loc = dependsOnLoc(task(id), dep);
    first ??= loc;
    if (loc !== undefined) related.push({ message: `${id} depends on ${dep}`, loc });
  });
  return {
    severity: 'error',
    message: `dependency cycle: ${[...cycle, cycle[0]!].join(' -> ')} (remove one of these depends_on entries)`,
    ...(first === undefined ? {} : { loc: first }),
    related,
  };
}

export function tangleDiagnostic(members: readonly string[], task: (id: string) => TaskSpec): Diagnostic {
  const loc = task(members[0]!).loc.id;
  return {
    severity: 'error',
    message:
      `tasks ${listed(members, 12)} depend on each other in more than ${MAX_CYCLES_PER_COMPONENT} cycles; ` +
      `only the first ${MAX_CYCLES_PER_COMPONENT} are listed`,
    ...(loc === undefined ? {} : { loc }),
  };
}

export function unknownDependencyDiagnostic(task: TaskSpec, dep: string): Diagnostic {
  const loc = dependsOnLoc(task, dep);
  return {
    severity: 'error',
    message: `task "${task.id}" depends on "${dep}", which is not a task in this file`,
    ...(loc === undefined ? {} : { loc }),
  };
}

export function duplicateIdDiagnostic(task: TaskSpec): Diagnostic {
  return { severity: 'error', message: `task id "${task.id}" is used twice`, ...(task.loc.id === undefined ? {} : { loc: task.loc.id }) };
}

export function ownsEverythingDiagnostic(task: TaskSpec, globIndex: number, beside: readonly string[]): Diagnostic {
  const glob = task.files[globIndex]!;
  const loc = task.loc.files?.[globIndex] ?? task.loc.id;
  return {
    severity: 'error',
    message:
      `task "${task.id}" owns every file ("${glob}") but could run beside ${beside.length === 1 ? 'task' : `${beside.length} tasks:`} ` +
      `${listed(beside, 5)}; order it against every other task with depends_on, or narrow its files`,
    ...(loc === undefined ? {} : { loc }),
  };
}

function listed(ids: readonly string[], max: number): string {
  const shown = ids.slice(0, max).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}
