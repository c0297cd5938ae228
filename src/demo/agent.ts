#!/usr/bin/env node
/**
 * The demo's agent: a `command` agent that really edits files, slowly enough to watch.
 * It reads what to write from DEMO_WRITE (comma-separated paths) and the prompt file,
 * prints what it does, and leaves its changes uncommitted for swarm to commit.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const task = process.env.SWARM_TASK ?? 'task';
const worktree = process.env.SWARM_WORKTREE ?? process.cwd();
const delay = Number(process.env.DEMO_DELAY_MS ?? 400);
const writes = (process.env.DEMO_WRITE ?? '').split(',').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prompt = process.env.SWARM_PROMPT_FILE ? readFileSync(process.env.SWARM_PROMPT_FILE, 'utf8') : '';
const goal = /## Your task\s+([^\n]+)/.exec(prompt)?.[1] ?? task;
console.log(`Thinking about: ${goal}`);
await sleep(delay);
for (const path of writes) {
  const full = join(worktree, path);
  const existed = existsSync(full);
  console.log(`${existed ? 'Edit' : 'Write'} ${path}`);
  mkdirSync(dirname(full), { recursive: true });
  if (existed) appendFileSync(full, `\n// ${task}: ${goal}\n`);
  else writeFileSync(full, `// ${path}: written by the demo agent for task "${task}"\n// ${goal}\nexport const ${task.replace(/\W/g, '_')} = true;\n`);
  await sleep(delay);
}
console.log(`Done: ${writes.length} file(s)`);
