import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSpecFile } from '../../src/config/load.js';
import { swarm } from '../helpers/cli.js';
import { brief } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-init-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('swarm init (built CLI)', () => {
  test('writes a starter swarm.yaml that loads cleanly', async () => {
    const cwd = join(dir, 'My Project');
    mkdirSync(cwd);
    const result = await swarm(['init'], { cwd });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('wrote swarm.yaml');
    const loaded = loadSpecFile(join(cwd, 'swarm.yaml'));
    expect(loaded.ok ? [] : loaded.error.map(brief)).toEqual([]);
    if (!loaded.ok) return;
    // The run is named after the folder, made into a valid name.
    expect(loaded.value.name).toBe('my-project');
    expect(loaded.value.tasks.length).toBeGreaterThanOrEqual(2);
    const text = readFileSync(join(cwd, 'swarm.yaml'), 'utf8');
    const schemaLine = /^# yaml-language-server: \$schema=(.+)$/m.exec(text);
    expect(schemaLine?.[1] !== undefined && existsSync(resolve(cwd, schemaLine[1]))).toBe(true);
  });

  test('--file writes elsewhere', async () => {
    const result = await swarm(['init', '--file', 'plans/refactor.yaml'], { cwd: dir, env: {} });
    // plans/ does not exist: a clear refusal, nothing written.
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('does not exist');
    mkdirSync(join(dir, 'plans'));
    const again = await swarm(['init', '--file', 'plans/refactor.yaml'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(loadSpecFile(join(dir, 'plans/refactor.yaml')).ok).toBe(true);
  });

  test('refuses to overwrite an existing file, and leaves it alone', async () => {
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, 'my precious plan\n');
    const result = await swarm(['init', '--file', 'mine.yaml'], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('swarm init: mine.yaml already exists; not overwriting it (edit it, remove it, or pass --file for another path)');
    expect(readFileSync(file, 'utf8')).toBe('my precious plan\n');
  });

  test('--help shows an example', async () => {
    const result = await swarm(['init', '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('$ swarm init --file refactor.yaml');
  });
});

describe('swarm schema (built CLI)', () => {
  test('prints the committed JSON Schema', async () => {
    const result = await swarm(['schema']);
    expect(result.exitCode).toBe(0);
    const committed = readFileSync(new URL('../../schemas/swarm.schema.json', import.meta.url), 'utf8');
    expect(`${result.stdout}\n`).toBe(committed);
  });
});

describe('swarm --version and --help (built CLI)', () => {
  test('--version prints the version in package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await swarm([flag]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(pkg.version);
    }
  });

  test('--help lists every command', async () => {
    const result = await swarm(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of ['run', 'plan', 'validate', 'status', 'logs', 'lease', 'clean', 'init', 'demo', 'report', 'schema']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });
});
