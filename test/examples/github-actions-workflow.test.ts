// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions are written ${{ ... }}, in plain strings
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const WORKFLOW = fileURLToPath(new URL('../../examples/ci/github-actions.yml', import.meta.url));
/** @action-validator/cli, pinned in devDependencies: GitHub's workflow schema, offline. */
const VALIDATOR = fileURLToPath(new URL('../../node_modules/@action-validator/cli/cli.mjs', import.meta.url));
const text = readFileSync(WORKFLOW, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'swarm-workflow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The validator decides workflow or action by the file name: these are workflows. */
async function validate(body: string, name: string) {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, body);
  return execa(process.execPath, [VALIDATOR, file], { reject: false });
}

interface Step {
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

describe('examples/ci/github-actions.yml', () => {
  it('is a valid GitHub Actions workflow', async () => {
    const r = await validate(text, 'swarm');
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('the validator refuses broken copies of it', async () => {
    const broken: [string, string][] = [
      ['runs-on:', 'runs_on:'],
      ['cancel-in-progress: false', 'cancel-in-progress: sometimes'],
      ['      - uses: actions/checkout@v4', '      - use: actions/checkout@v4'],
      ['timeout-minutes: 360', 'timeout-minutes: six hours'],
    ];
    for (const [from, to] of broken) {
      expect(text).toContain(from);
      const r = await validate(text.replace(from, to), 'broken');
      expect(r.exitCode, `${to} passed the validator`).toBe(1);
      expect(String(r.stderr)).toContain('"errors"');
    }
  });

  it('does what the README says: dispatch, full history, the key from a secret, --push, one run at a time, the summary, a pull request', () => {
    const wf = parse(text) as {
      on: Record<string, { inputs: Record<string, unknown> }>;
      concurrency: { group: string; 'cancel-in-progress': boolean };
      jobs: Record<string, { steps: Step[]; env?: Record<string, string> }>;
    };
    expect(Object.keys(wf.on)).toEqual(['workflow_dispatch']);
    expect(wf.on.workflow_dispatch!.inputs).toHaveProperty('file');
    expect(wf.concurrency.group).toContain('${{ inputs.file }}');
    expect(wf.concurrency['cancel-in-progress']).toBe(false);
    const steps = wf.jobs.swarm!.steps;
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkout?.with?.['fetch-depth']).toBe(0);
    const run = steps.find((s) => s.id === 'swarm')!;
    expect(run.run).toMatch(/^npx swarm run "\$SWARM_FILE" --push origin$/);
    expect(run.env?.ANTHROPIC_API_KEY).toBe('${{ secrets.ANTHROPIC_API_KEY }}');
    // The input reaches shells through the environment, never pasted into a script.
    expect(steps.filter((s) => s.run?.includes('${{'))).toEqual([]);
    const pr = steps.find((s) => s.run?.includes('gh pr create'))!;
    expect(pr.if).toBe("${{ steps.swarm.outputs.outcome == 'success' }}");
    expect(pr.env?.INTO).toBe('${{ steps.swarm.outputs.into }}');
    expect(pr.run).toContain('swarm report --format markdown > "$RUNNER_TEMP/swarm.md"');
    expect(pr.run).toContain('--head "$INTO"');
    expect(pr.run).toContain('--body-file "$RUNNER_TEMP/swarm.md"');
  });
});
