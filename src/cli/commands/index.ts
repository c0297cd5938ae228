import type { Command } from 'commander';

type Loader = () => Promise<{ register(program: Command): void }>;

/**
 * Each command lives in its own file and adds itself here. They load lazily: `swarm
 * validate` should not pay for SQLite, Ink or the agent runners it never uses.
 */
const COMMANDS: ReadonlyMap<string, Loader> = new Map<string, Loader>([
  ['run', () => import('./run.js')],
  ['plan', () => import('./plan.js')],
  ['validate', () => import('./validate.js')],
  ['status', () => import('./status.js')],
  ['logs', () => import('./logs.js')],
  ['lease', () => import('./lease.js')],
  ['leases', () => import('./lease.js')],
  ['clean', () => import('./clean.js')],
  ['init', () => import('./init.js')],
  ['demo', () => import('./demo.js')],
  ['report', () => import('./report.js')],
  ['hook', () => import('./hook.js')],
  ['msg', () => import('./steer.js')],
  ['note', () => import('./steer.js')],
  ['stop', () => import('./steer.js')],
  ['retry', () => import('./steer.js')],
  ['watch', () => import('./watch.js')],
  ['schema', () => import('./schema.js')],
]);

/** Registers the command named on the command line, or all of them (for help and errors). */
export async function registerCommands(program: Command, name: string | undefined): Promise<void> {
  const one = name === undefined ? undefined : COMMANDS.get(name);
  const loaders = one ? [one] : [...COMMANDS.values()];
  // Some commands share a module (`lease` and `leases`; msg, note, stop, retry): register each module once.
  for (const mod of new Set(await Promise.all(loaders.map((load) => load())))) mod.register(program);
}
