import { ID_PATTERN } from './schema.js';

/** A folder name made into a run name: `My App` -> `my-app`. */
export function runNameFrom(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[._-]+$/, '');
  return ID_PATTERN.test(name) ? name : 'my-run';
}

/** The commented starter that `swarm init` writes. It must load cleanly (a test checks). */
export function starterSpec(name: string, schemaPath?: string): string {
  const schemaLine = schemaPath === undefined ? '' : `# yaml-language-server: $schema=${schemaPath}\n`;
  return `${schemaLine}# swarm runs this graph of coding-agent tasks, each in its own git worktree, and
# merges the results one at a time into the branch \`into\`. Your checkout and your
# current branch are never touched.
#
#   swarm validate      check this file
#   swarm plan          see the order, the waves and any file conflicts
#   swarm run           run it (again to resume)
#
# Every key is explained in swarm.yaml.example, which ships with swarm.
version: 1
name: ${name}
# base: HEAD                # the commit the run starts from
# into: swarm/${name}  # the branch that receives the merges
concurrency: 2              # at most this many agents at once
# setup: npm ci             # runs once in each new worktree, before its agent
# check: npm test           # runs after each agent; a failure retries the task
retries: 1
timeout: 30m                # per attempt

agent:                      # defaults for every task; a task's own agent: overrides key by key
  kind: claude               # claude, codex (OpenAI Codex CLI) or command (any program)
  model: sonnet
  permission_mode: acceptEdits
  max_turns: 50
  allowed_tools: [Read, Edit, Write, Glob, Grep]

tasks:
  # Each task owns the files its globs match. Tasks whose globs overlap never run at once.
  - id: api-types
    title: Add explicit types to the API module
    prompt: |
      Add explicit parameter and return types to every exported function in src/api.
      Do not change behaviour. Keep the public names as they are.
    files: ["src/api/**"]

  - id: api-tests
    title: Cover the API module with tests
    prompt: |
      Write unit tests for every exported function in src/api, next to the existing tests.
    files: ["test/api/**"]
    depends_on: [api-types]  # starts once api-types is merged, and sees its work

  - id: readme
    title: Document the API in the README
    prompt: |
      Describe the API module in README.md: what each function does, with one example each.
    files: ["README.md", "docs/**"]
`;
}
