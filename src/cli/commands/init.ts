import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { runNameFrom, starterSpec } from '../../config/starter.js';
import { EXIT } from '../exit.js';
import { packagePath } from '../../util/package-path.js';

const SCHEMA = packagePath('schemas', 'swarm.schema.json');

export function register(program: Command): void {
  program
    .command('init')
    .description('Write a starter swarm.yaml (commented, valid). Never overwrites a file.')
    .option('-f, --file <path>', 'where to write it', 'swarm.yaml')
    .addHelpText(
      'after',
      `
Example:
  $ swarm init                      # writes ./swarm.yaml
  $ swarm init --file refactor.yaml
  $ swarm validate refactor.yaml && swarm plan refactor.yaml`,
    )
    .action((opts: { file: string }) => {
      const target = resolve(opts.file);
      const folder = dirname(target);
      if (!existsSync(folder)) {
        process.stderr.write(`swarm init: the folder ${folder} does not exist\n`);
        process.exitCode = EXIT.badInput;
        return;
      }
      let schemaPath: string | undefined;
      if (existsSync(SCHEMA)) {
        // Inside the project (node_modules/swarm/...) a relative path survives moving the
        // checkout; anywhere else (a global install) only an absolute one is meaningful.
        const rel = relative(folder, SCHEMA).split('\\').join('/');
        schemaPath = rel.startsWith('..') || isAbsolute(rel) ? SCHEMA : `./${rel}`;
      }
      try {
        // 'wx' fails if the file exists, with no window between a check and the write.
        writeFileSync(target, starterSpec(runNameFrom(basename(folder)), schemaPath), { flag: 'wx' });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        process.stderr.write(
          code === 'EEXIST'
            ? `swarm init: ${opts.file} already exists; not overwriting it (edit it, remove it, or pass --file for another path)\n`
            : `swarm init: cannot write ${opts.file}: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exitCode = EXIT.badInput;
        return;
      }
      process.stdout.write(`wrote ${opts.file}\nnext: edit its tasks, then run "swarm validate ${opts.file}" and "swarm plan ${opts.file}"\n`);
      process.exitCode = EXIT.ok;
    });
}
