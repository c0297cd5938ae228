import { basename, extname, resolve } from 'node:path';
import type { PromptFile } from './checks.js';
import type { Locator } from './locate.js';
import { yamlLib } from './yaml-lib.js';
import type { RawAgent, RawSpec, RawTask } from './schema.js';
import { DEFAULTS, type AgentSpec, type SourceLoc, type Spec, type TaskSpec } from './spec.js';
import { parseDuration } from '../util/duration.js';

/** The run name when the file sets none: its stem (`api-refactor.yaml` -> `api-refactor`). */
export function defaultName(file: string): string {
  const base = basename(file);
  return base.slice(0, base.length - extname(base).length);
}

const ms = (value: string | number | undefined): number | undefined => (value === undefined ? undefined : parseDuration(value));

/** A task's agent overrides the top-level agent key by key. */
export function mergeAgent(top: RawAgent | undefined, own: RawAgent | undefined): AgentSpec {
  const a = { ...top, ...own };
  const spec: { -readonly [K in keyof AgentSpec]: AgentSpec[K] } = {
    kind: a.kind ?? DEFAULTS.agentKind,
    args: a.args ?? [],
    isolateConfig: a.isolate_config ?? false,
    sandbox: a.sandbox ?? DEFAULTS.sandbox,
  };
  if (a.bin !== undefined) spec.bin = a.bin;
  if (a.model !== undefined) spec.model = a.model;
  if (a.permission_mode !== undefined) spec.permissionMode = a.permission_mode;
  if (a.max_turns !== undefined) spec.maxTurns = a.max_turns;
  if (a.max_budget_usd !== undefined) spec.maxBudgetUsd = a.max_budget_usd;
  if (a.allowed_tools !== undefined) spec.allowedTools = a.allowed_tools;
  if (a.disallowed_tools !== undefined) spec.disallowedTools = a.disallowed_tools;
  if (a.command !== undefined) spec.command = a.command;
  return spec;
}

/** The validated file with every default filled in. Call only when checking found no errors. */
export function buildSpec(raw: RawSpec, file: string, name: string, prompts: ReadonlyMap<number, PromptFile>, at: Locator): Spec {
  let locs: TaskSpec['loc'][] | undefined;
  const locOf = (i: number): TaskSpec['loc'] => (locs ??= taskLocs(at))[i] ?? {};
  const tasks = raw.tasks.map((task, i) => buildTask(raw, task, i, prompts.get(i), locOf));
  const spec: { -readonly [K in keyof Spec]: Spec[K] } = {
    file: resolve(file),
    name,
    base: raw.base ?? DEFAULTS.base,
    into: raw.into ?? `swarm/${name}`,
    concurrency: raw.concurrency ?? DEFAULTS.concurrency,
    worktrees: raw.worktrees ?? DEFAULTS.worktrees,
    limits: { maxWaitMs: ms(raw.limits?.max_wait) ?? DEFAULTS.maxWaitMs, shardWaitMs: ms(raw.limits?.shard_wait) ?? DEFAULTS.shardWaitMs },
    lease: {
      ttlMs: ms(raw.lease?.ttl) ?? DEFAULTS.leaseTtlMs,
      enforce: raw.lease?.enforce ?? DEFAULTS.enforce,
    },
    merge: {
      strategy: raw.merge?.strategy ?? DEFAULTS.strategy,
      onConflict: raw.merge?.on_conflict ?? DEFAULTS.onConflict,
      ...(raw.merge?.check === undefined ? {} : { check: raw.merge.check }),
    },
    tasks,
  };
  if (raw.setup !== undefined) spec.setup = raw.setup;
  if (raw.check !== undefined) spec.check = raw.check;
  if (raw.budget_usd !== undefined) spec.budgetUsd = raw.budget_usd;
  if (raw.push !== undefined && raw.push !== false) spec.push = raw.push === true ? 'origin' : raw.push;
  return spec;
}

function buildTask(raw: RawSpec, task: RawTask, i: number, prompt: PromptFile | undefined, locOf: (i: number) => TaskSpec['loc']): TaskSpec {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(task.env ?? {})) env[key] = String(value);
  const setup = task.setup ?? raw.setup;
  const check = task.check ?? raw.check;
  const estimateMs = ms(task.estimate);
  const out: { -readonly [K in keyof TaskSpec]: TaskSpec[K] } = {
    id: task.id,
    title: task.title ?? task.id,
    prompt: prompt?.text ?? task.prompt ?? '',
    files: task.files,
    dependsOn: task.depends_on ?? [],
    retries: task.retries ?? raw.retries ?? DEFAULTS.retries,
    allowEmpty: task.allow_empty ?? raw.allow_empty ?? true,
    timeoutMs: ms(task.timeout) ?? ms(raw.timeout) ?? DEFAULTS.timeoutMs,
    env,
    agent: mergeAgent(raw.agent, task.agent),
    loc: {},
  };
  // Locations are needed only to report a graph error, and finding them means reading
  // the file with the document API: it happens on first use, once for all tasks.
  Object.defineProperty(out, 'loc', { enumerable: true, configurable: true, get: () => locOf(i) });
  if (prompt !== undefined) out.promptFile = prompt.path;
  if (setup !== undefined) out.setup = setup;
  if (check !== undefined) out.check = check;
  if (estimateMs !== undefined) out.estimateMs = estimateMs;
  return out;
}

/** Where each task's id and each of its files / depends_on entries were written. */
function taskLocs(at: Locator): TaskSpec['loc'][] {
  const { isMap, isPair, isScalar, isSeq } = yamlLib();
  const tasks = at.parsed.doc.get('tasks', true);
  if (!isSeq(tasks)) return [];
  return tasks.items.map((node) => {
    if (!isMap(node)) return {};
    let id: SourceLoc | undefined;
    let files: (SourceLoc | undefined)[] | undefined;
    let dependsOn: (SourceLoc | undefined)[] | undefined;
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      switch (pair.key.value) {
        case 'id':
          id = at.ofNode(pair.value);
          break;
        case 'files':
          if (isSeq(pair.value)) files = pair.value.items.map((item) => at.ofNode(item));
          break;
        case 'depends_on':
          if (isSeq(pair.value)) dependsOn = pair.value.items.map((item) => at.ofNode(item));
          break;
      }
    }
    return {
      ...(id === undefined ? {} : { id }),
      ...(files === undefined ? {} : { files }),
      ...(dependsOn === undefined ? {} : { dependsOn }),
    };
  });
}
