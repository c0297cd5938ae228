import { z } from 'zod';
import { ID_PATTERN, ID_RULE } from './ref-name.js';
import { TEMPLATE_ID_PATTERN } from './placeholders.js';
import { parseDuration } from '../util/duration.js';

export { ID_PATTERN } from './ref-name.js';

/** The most agents at once, in the file (`concurrency`) and on the command line (`--concurrency`). */
export const MAX_CONCURRENCY = 256;

const id = (what: string) => z.string().regex(ID_PATTERN, { message: `expected a ${what}: ${ID_RULE}` });

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
    isolate_config: z.boolean().optional().meta({ description: 'Give each task its own CLAUDE_CONFIG_DIR (safe with OAuth logins). @default false' }),
    sandbox: z.enum(['auto', 'required', 'off']).optional().meta({
      description:
        'Confine the agent with bubblewrap: it may write only its worktree and what a commit on its own branch needs. auto: when bwrap works, else detect tampering; required: refuse to start without it; off: detection only. @default auto',
    }),
  })
  .meta({ description: 'Agent settings; a task may override any key.' });

/** Globs as one string or a list of them. */
const globs = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const ForEachSchema = z
  .strictObject({
    dirs: globs.optional().meta({ description: 'Directories holding files tracked at base, matched by glob (e.g. "packages/*"): one task each.' }),
    files: globs.optional().meta({ description: 'Files tracked at base, matched by glob (e.g. "src/**/*.js"): one task each.' }),
    values: z
      .array(z.union([z.string().min(1), z.number()]))
      .min(1)
      .optional()
      .meta({ description: 'A literal list: one task per value.' }),
    containing: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Only files whose content at base matches this POSIX extended regex (git grep -E); for dirs, directories holding such a file.' }),
    exclude: z.array(z.string().min(1)).optional().meta({ description: 'Globs of matches to leave out.' }),
    batch: z.number().int().min(1).max(10000).optional().meta({ description: 'Put this many matches in one task, in sorted order. @default 1' }),
    allow_empty: z.boolean().optional().meta({ description: 'Whether a template that matches nothing is fine (true) or an error (false). @default false' }),
  })
  .meta({
    description:
      'Makes this entry a template: one task per match, each id <id>.<match>. Placeholders {{path}} {{dir}} {{name}} {{stem}} {{index}} {{paths}} fill id, title, prompt, prompt_file contents, files, check, setup and env.',
  });

export const TaskSchema = z.strictObject({
  id: z.string().regex(TEMPLATE_ID_PATTERN, { message: `expected a task id: ${ID_RULE}` }),
  for_each: ForEachSchema.optional(),
  title: z.string().min(1).optional(),
  prompt: z.string().min(1).optional(),
  prompt_file: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The prompt, from a file relative to the swarm file: a regular file of at most 1 MiB (not a pipe or a device).' }),
  files: z.array(z.string().min(1)).min(1, { message: 'expected at least one glob: the files this task owns' }),
  depends_on: z.array(z.string()).optional(),
  setup: z.string().optional(),
  check: z.string().optional(),
  retries: z.number().int().min(0).optional(),
  allow_empty: z
    .boolean()
    .optional()
    .meta({ description: 'Whether a task whose agent changed no file succeeds as "no changes" (true) or fails and is retried (false). @default true' }),
  timeout: duration.optional(),
  estimate: duration.optional().meta({ description: 'Expected duration; weights the critical path until swarm has learnt one.' }),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  agent: AgentSchema.optional(),
});

export const SpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1, { message: 'expected version: 1' }),
    name: id('run name').optional(),
    base: z.string().min(1).optional(),
    into: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The integration branch: a valid branch name, not HEAD-like (FETCH_HEAD...), not under swarm-task/. @default swarm/<name>' }),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional(),
    worktrees: z.string().min(1).optional().meta({
      description: 'Where task worktrees live, relative to the repository root: inside it, not under .git/, holding no tracked file. @default .swarm/worktrees',
    }),
    setup: z.string().optional(),
    check: z.string().optional(),
    retries: z.number().int().min(0).max(20).optional(),
    allow_empty: z.boolean().optional().meta({
      description:
        'Whether a task whose agent changed no file succeeds as "no changes" (true) or fails and is retried (false); a task may override it. @default true',
    }),
    timeout: duration.optional(),
    budget_usd: z.number().positive().optional().meta({ description: 'Stop starting tasks once the run has spent this much.' }),
    push: z
      .union([z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected the name of a git remote, e.g. origin' }), z.boolean()])
      .optional()
      .meta({
        description:
          'A git remote (true: origin) the run meets other machines at: its branches are fetched first, progress is pushed as compare-and-swaps. The --push flag overrides it.',
      }),
    agent: AgentSchema.optional(),
    lease: z
      .strictObject({
        ttl: duration.optional().meta({ description: 'A lease not renewed within this is expired; at least 5s. @default 10m' }),
        enforce: z.enum(['block', 'warn', 'off']).optional(),
      })
      .optional(),
    limits: z
      .strictObject({
        max_wait: duration.optional().meta({
          description:
            "How long the run may wait for the account's usage limit to reset (claude's rate_limit_event rejected, codex's usage_limit_reached); a later reset stops the run, resumable, with exit code 75. @default 0s",
        }),
        shard_wait: duration.optional().meta({
          description:
            'With --shard: how long a shard with nothing else to do waits for a dependency another shard has not merged yet (no progress on the remote meanwhile) before it stops waiting, blocks the tasks that need it and says why. @default 1h',
        }),
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
export type RawForEach = z.infer<typeof ForEachSchema>;
export type RawAgent = z.infer<typeof AgentSchema>;
