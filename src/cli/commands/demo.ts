import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { demoYaml } from '../../demo/scenario.js';
import { EXIT } from '../exit.js';
import { packagePath } from '../../util/package-path.js';
import { positiveInt } from '../project.js';
import { runCommand } from './run.js';

interface DemoFlags {
  dir?: string;
  ui?: string;
  delay?: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('create a scratch repository with a seven-task graph and run it with the bundled demo agent (no API key)')
    .option('--dir <dir>', 'where to create the scratch repository (must not exist or be empty)')
    .option('--ui <kind>', 'tui | plain | json (default: tui on a terminal)')
    .option('--delay <ms>', "the demo agent's pause between steps, in ms", '400')
    .addHelpText(
      'after',
      `
Examples:
  npx swarm demo
  swarm demo --dir /tmp/try-swarm --ui plain --delay 0`,
    )
    .action(async (flags: DemoFlags) => {
      process.exitCode = await demo(flags);
    });
}

async function demo(flags: DemoFlags): Promise<number> {
  const delay = flags.delay === '0' ? 0 : positiveInt('--delay', flags.delay);
  if (typeof delay === 'string') {
    process.stderr.write(`swarm demo: ${delay}\n`);
    return EXIT.badInput;
  }
  const dir = flags.dir ? resolve(flags.dir) : mkdtempSync(join(tmpdir(), 'swarm-demo-'));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    process.stderr.write(`swarm demo: --dir ${dir}: expected a new or empty folder\n`);
    return EXIT.badInput;
  }
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# todo-app\n\nA scratch repository made by `swarm demo`.\n');
  writeFileSync(join(dir, 'CHANGELOG.md'), '# Changelog\n');
  const agent = packagePath('dist', 'demo', 'agent.js');
  writeFileSync(join(dir, 'swarm.yaml'), demoYaml([process.execPath, agent], delay ?? 400));
  git('add', '-A');
  git('-c', 'user.name=swarm demo', '-c', 'user.email=demo@swarm.invalid', 'commit', '-q', '-m', 'A new todo app');

  process.stderr.write(`swarm demo: a scratch repository in ${dir}\n`);
  const code = await runCommand(join(dir, 'swarm.yaml'), { ui: flags.ui, repo: dir });
  process.stderr.write(`\nswarm demo: look at the result with\n  git -C ${dir} log --oneline --graph swarm/demo\n  cd ${dir} && npx swarm status\n`);
  return code;
}
