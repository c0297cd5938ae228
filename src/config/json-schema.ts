import { z } from 'zod';
import { SpecSchema } from './schema.js';

/**
 * The JSON Schema of swarm.yaml, for editors (yaml-language-server). Generated from the
 * zod schema so the two cannot drift; `schemas/swarm.schema.json` is this, committed.
 */
export function jsonSchema(): Record<string, unknown> {
  // io: 'input' describes what a user writes (optional keys stay optional).
  return z.toJSONSchema(SpecSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

/** The file's text: stable key order, two-space indent, final newline. */
export function jsonSchemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}
