import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { jsonSchemaText } from '../../src/config/json-schema.js';
import { loadSpecFile } from '../../src/config/load.js';
import { SpecSchema } from '../../src/config/schema.js';
import { brief, EXAMPLE_OPTIONS } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('schemas/swarm.schema.json is up to date with the zod schema (npm run schema rewrites it)', () => {
  const committed = readFileSync(`${root}schemas/swarm.schema.json`, 'utf8');
  expect(committed).toBe(jsonSchemaText());
});

test('the JSON Schema forbids unknown keys and requires version and tasks', () => {
  const schema = JSON.parse(jsonSchemaText()) as { additionalProperties?: boolean; required?: string[]; properties: Record<string, unknown> };
  expect(schema.additionalProperties).toBe(false);
  expect(schema.required).toEqual(expect.arrayContaining(['version', 'tasks']));
  expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(SpecSchema.shape).sort());
});

describe('shipped files load cleanly', () => {
  const examples = readdirSync(`${root}examples`)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `examples/${f}`);

  test('there are at least three examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  test.each(['swarm.yaml.example', ...examples])('%s', (file) => {
    const result = loadSpecFile(`${root}${file}`, EXAMPLE_OPTIONS);
    expect(result.ok ? [] : result.error.map(brief)).toEqual([]);
    if (!result.ok) return;
    expect(result.value.tasks.length).toBeGreaterThanOrEqual(2);
    // Every example shows a real graph: at least one dependency.
    expect(result.value.tasks.some((t) => t.dependsOn.length > 0)).toBe(true);
  });

  test('swarm.yaml.example sets every key the schema knows', () => {
    const text = readFileSync(`${root}swarm.yaml.example`, 'utf8');
    const keyed = (key: string): boolean => new RegExp(`^\\s*(- )?${key.replace('$', '\\$')}:`, 'm').test(text);
    const missing: string[] = [];
    const walk = (shape: Record<string, unknown>, where: string): void => {
      for (const [key, value] of Object.entries(shape)) {
        if (key === '$schema') continue; // set by the yaml-language-server comment instead
        if (!keyed(key)) missing.push(`${where}${key}`);
        const inner = unwrapShape(value);
        if (inner !== undefined) walk(inner, `${where}${key}.`);
      }
    };
    walk(SpecSchema.shape as Record<string, unknown>, '');
    expect(missing).toEqual([]);
  });
});

function unwrapShape(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as { unwrap?: () => unknown; element?: unknown; shape?: Record<string, unknown> };
  for (let i = 0; i < 4; i++) {
    if (s.shape !== undefined) return s.shape;
    if (typeof s.unwrap === 'function') s = s.unwrap() as typeof s;
    else if (s.element !== undefined) s = s.element as typeof s;
    else return undefined;
  }
  return undefined;
}
