import type { SourceLoc, Spec, TaskSpec } from '../../src/config/spec.js';

export interface TaskInput {
  readonly id: string;
  readonly deps?: readonly string[];
  readonly files?: readonly string[];
  readonly estimateMs?: number;
  readonly title?: string;
}

/** A fake location per task: task k sits at line 10k, its depends_on entry j at line 10k+1+j. */
export function locOf(taskIndex: number, line: number): SourceLoc {
  return { file: '/virtual/swarm.yaml', line: 10 * (taskIndex + 1) + line, col: 5, endLine: 10 * (taskIndex + 1) + line, endCol: 9 };
}

/** A Spec built by hand, as the loader would produce it, with locations to assert on. */
export function makeSpec(tasks: readonly TaskInput[], over: Partial<Spec> = {}): Spec {
  const built: TaskSpec[] = tasks.map((t, k) => ({
    id: t.id,
    title: t.title ?? t.id,
    prompt: `do ${t.id}`,
    files: t.files ?? [`src/${t.id}/**`],
    dependsOn: t.deps ?? [],
    retries: 1,
    allowEmpty: true,
    timeoutMs: 60_000,
    ...(t.estimateMs === undefined ? {} : { estimateMs: t.estimateMs }),
    env: {},
    agent: { kind: 'claude', args: [], isolateConfig: false, sandbox: 'auto' },
    loc: {
      id: locOf(k, 0),
      dependsOn: (t.deps ?? []).map((_, j) => locOf(k, 1 + j)),
      files: (t.files ?? ['x']).map((_, j) => locOf(k, 5 + j)),
    },
  }));
  return {
    file: '/virtual/swarm.yaml',
    name: 'test',
    base: 'HEAD',
    into: 'swarm/test',
    concurrency: 4,
    worktrees: '.swarm/worktrees',
    lease: { ttlMs: 600_000, enforce: 'block' },
    merge: { strategy: 'merge', onConflict: 'agent' },
    tasks: built,
    ...over,
  };
}
