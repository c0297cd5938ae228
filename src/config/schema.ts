import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

/** Task ids and run names: lower-case, safe in branch names and paths. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const id = (what: string) =>
  z.string().regex(ID_PATTERN, {
    message: `expected a ${what}: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters`,
  });

/** `90s`, `10m`, `1h30m`, or a number of seconds. */
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, {
    message: 'expected a duration such as 90s, 10m, 1h30m, or a number of seconds',
  })
  .meta({ description: 'A duration: 90s, 10m, 1h30m, or a number of seconds.' });

export const AgentSchema = z
  .strictObject({
    kind: z.enum(['claude', 'codex', 'command']).optional().meta({ description: 'Which agent runs the task. @default claude' }),
    bin: z.string().min(1).optional().meta({ description: 'The claude executable. @default claude (from PATH)' }),
    model: z.string().min(1).optional(),
    permission_mode: z.enum(['default', 'acceptEdits', 'bypassPermissions', 'plan', 'dontAsk']).optional(),
    max_turns: z.number().int().positive().optional(),
    max_budget_usd: z.number().positive().optional(),
    allowed_tools: z.array(z.string().min(1)).optional(),
    disallowed_tools: z.array(z.string().min(1)).optional(),
    args: z.array(z.string()).optional().meta({ description: 'Extra arguments, appended as given.' }),
    command: z
      .array(z.string())
      .min(1)
      .optional()
      .meta({ description: 'kind: command only. argv with {prompt}, {prompt_file}, {task}, {worktree} filled in.' }),
    isolate_config: z
      .boolean()
      .optional()
      .meta({ description: 'Give each task its own CLAUDE_CONFIG_DIR (safe with OAuth logins). @default false' }),
    sandbox: z.enum(['auto', 'required', 'off']).optional().meta({
      description:
        'Confine the agent with bubblewrap: it may write only its worktree and what a commit on its own branch needs. auto: when bwrap works, else detect tampering; required: refuse to start without it; off: detection only. @default auto',
    }),
  })
  .meta({ description: 'Agent settings; a task may override any key.' });

export const TaskSchema = z.strictObject({
  id: id('task id'),
  title: z.string().min(1).optional(),
  prompt: z.string().min(1).optional(),
  prompt_file: z.string().min(1).optional(),
  files: z.array(z.string().min(1)).min(1, { message: 'expected at least one glob: the files this task owns' }),
  depends_on: z.array(z.string()).optional(),
  setup: z.string().optional(),
  check: z.string().optional(),
  retries: z.number().int().min(0).optional(),
  timeout: duration.optional(),
  estimate: duration
    .optional()
    .meta({ description: 'Expected duration; weights the critical path until swarm has learnt one.' }),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  agent: AgentSchema.optional(),
});

export const SpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1, { message: 'expected version: 1' }),
    name: id('run name').optional(),
    base: z.string().min(1).optional(),
    into: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    worktrees: z.string().min(1).optional(),
    setup: z.string().optional(),
    check: z.string().optional(),
    retries: z.number().int().min(0).max(20).optional(),
    timeout: duration.optional(),
    budget_usd: z.number().positive().optional().meta({ description: 'Stop starting tasks once the run has spent this much.' }),
    agent: AgentSchema.optional(),
    lease: z
      .strictObject({
        ttl: duration.optional(),
        enforce: z.enum(['block', 'warn', 'off']).optional(),
      })
      .optional(),
    merge: z
      .strictObject({
        strategy: z.enum(['merge', 'squash', 'rebase']).optional(),
        check: z.string().optional(),
        on_conflict: z.enum(['agent', 'fail']).optional(),
      })
      .optional(),
    tasks: z.array(TaskSchema).min(1, { message: 'expected at least one task' }),
  })
  .meta({ title: 'swarm.yaml', description: 'A graph of coding-agent tasks for swarm.' });

export type RawSpec = z.infer<typeof SpecSchema>;
export type RawTask = z.infer<typeof TaskSchema>;
export type RawAgent = z.infer<typeof AgentSchema>;
