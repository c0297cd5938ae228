import type { Command } from 'commander';
import { register as clean } from './clean.js';
import { register as demo } from './demo.js';
import { register as hook } from './hook.js';
import { register as init } from './init.js';
import { register as lease } from './lease.js';
import { register as logs } from './logs.js';
import { register as plan } from './plan.js';
import { register as report } from './report.js';
import { register as run } from './run.js';
import { register as schema } from './schema.js';
import { register as status } from './status.js';
import { register as validate } from './validate.js';

/** Each command lives in its own file and adds itself here. */
export function registerCommands(program: Command): void {
  for (const add of [run, plan, validate, status, logs, lease, clean, init, demo, report, hook, schema]) add(program);
}
