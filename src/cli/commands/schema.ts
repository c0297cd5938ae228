import type { Command } from 'commander';
import { jsonSchemaText } from '../../config/json-schema.js';
import { EXIT } from '../exit.js';

export function register(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of swarm.yaml (for editors; the same as schemas/swarm.schema.json).')
    .addHelpText(
      'after',
      `
Example:
  $ swarm schema > schemas/swarm.schema.json

Point your editor at it with a first line in swarm.yaml:
  # yaml-language-server: $schema=./schemas/swarm.schema.json`,
    )
    .action(() => {
      process.stdout.write(jsonSchemaText());
      process.exitCode = EXIT.ok;
    });
}
