// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions are written ${{ ... }}, in plain strings
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CLI, swarm } from '../helpers/cli.js';
import { GIT_ENV, tempRepo, type TempRepo } from '../helpers/git-repo.js';

const example = (name: string) => readFileSync(fileURLToPath(new URL(`../../examples/ci/${name}`, import.meta.url)), 'utf8');
const WORKFLOW = example('github-actions-sharded.yml');
const MANIFEST = example('kubernetes-indexed-job.yaml');
/** @action-validator/cli, pinned in devDependencies: GitHub's workflow schema, offline. */
const VALIDATOR = fileURLToPath(new URL('../../node_modules/@action-validator/cli/cli.mjs', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'swarm-sharded-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A small file for the examples' commands to plan: eight tasks, two of them overlapping.
const FILE = `version: 1
name: shards
tasks:
  - id: root
    prompt: Start.
    files: ["core/**"]
${['a', 'b', 'c', 'd', 'e'].map((p) => `  - { id: pkg-${p}, prompt: Go., files: ["packages/${p}/**"], depends_on: [root] }`).join('\n')}
  - { id: docs, prompt: Docs., files: ["docs/**"] }
  - { id: guide, prompt: Guide., files: ["docs/guide.md"] }
`;

interface Matrix {
  readonly include: readonly { readonly shard: string; readonly tasks: number; readonly load: number }[];
}

/**
 * Runs a shell script from an example with `npx` standing in for the project's install:
 * `npx swarm ...` runs the built CLI, and with `fake` it prints its arguments, one a line,
 * instead (for commands that would start agents).
 */
function shell(script: string, opts: { cwd: string; env?: Record<string, string>; fake?: boolean }) {
  const npx = opts.fake === true ? `npx() { printf '%s\\n' "$@"; }` : `npx() { [ "$1" = swarm ] || return 99; shift; node "$SWARM_CLI" "$@"; }`;
  // The runner images have jq; a machine without it gets the one use the example makes of it.
  const jq = `command -v jq >/dev/null || jq() { node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>console.log(JSON.parse(s)[process.argv[1].slice(1)]))' "$2"; }`;
  return execa('bash', ['-eo', 'pipefail', '-c', `${npx}\n${jq}\n${script}`], {
    cwd: opts.cwd,
    reject: false,
    env: { ...GIT_ENV, SWARM_CLI: CLI, CI: '1', GITHUB_ACTIONS: '', ...(opts.env ?? {}) },
  });
}

let repo: TempRepo;
beforeAll(() => {
  repo = tempRepo({ 'swarm.yaml': FILE, 'docs/guide.md': '# guide\n' });
});
afterAll(() => repo.cleanup());

async function matrixFor(n: number): Promise<Matrix> {
  const r = await swarm(['plan', 'swarm.yaml', '--shards', String(n), '--format', 'json'], { cwd: repo.dir });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout)) as Matrix;
}

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

interface WorkflowJob {
  readonly needs?: string | readonly string[];
  readonly if?: string;
  readonly permissions?: Record<string, string>;
  readonly strategy?: { readonly 'fail-fast'?: boolean; readonly matrix?: unknown };
  readonly concurrency?: { readonly group: string; readonly 'cancel-in-progress': boolean };
  readonly outputs?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly steps: readonly Step[];
}

describe('examples/ci/github-actions-sharded.yml', () => {
  const wf = parse(WORKFLOW) as {
    on: { workflow_dispatch: { inputs: Record<string, { type?: string; default?: unknown; required?: boolean }> } };
    permissions: Record<string, string>;
    jobs: Record<string, WorkflowJob>;
  };
  const jobs = wf.jobs;
  const planStep = () => jobs.plan!.steps.find((s) => s.id === 'plan')!;
  const runStep = () => jobs.shard!.steps.find((s) => s.run?.includes('swarm run'))!;

  async function validate(body: string, name: string) {
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, body);
    return execa(process.execPath, [VALIDATOR, file], { reject: false });
  }

  it('is a valid GitHub Actions workflow', async () => {
    const r = await validate(WORKFLOW, 'sharded');
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('the validator refuses broken copies of it', async () => {
    const broken: [string, string][] = [
      ['    strategy:\n', '    stratgy:\n'],
      ['fail-fast: false', 'fail-fast: [false]'],
      ['    needs: plan\n', '    need: plan\n'],
      ['cancel-in-progress: false', 'cancel-in-progress: never'],
      ['        type: number', '        type: integer'],
    ];
    for (const [from, to] of broken) {
      expect(WORKFLOW).toContain(from);
      const r = await validate(WORKFLOW.replace(from, to), 'broken');
      expect(r.exitCode, `${to} passed the validator`).toBe(1);
    }
  });

  it('plan job: full history, then the matrix from swarm plan --shards into its outputs', () => {
    expect(Object.keys(wf.on)).toEqual(['workflow_dispatch']);
    expect(wf.on.workflow_dispatch.inputs.file).toMatchObject({ required: true, default: 'swarm.yaml' });
    expect(wf.on.workflow_dispatch.inputs.shards).toMatchObject({ required: true, type: 'number' });
    const plan = jobs.plan!;
    expect(plan.steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with?.['fetch-depth']).toBe(0);
    expect(plan.env).toEqual({ SWARM_FILE: '${{ inputs.file }}', SHARDS: '${{ inputs.shards }}' });
    expect(plan.outputs?.matrix).toBe('${{ steps.plan.outputs.matrix }}');
    expect(planStep().run).toContain('npx swarm plan "$SWARM_FILE" --shards "$SHARDS" --format json');
    expect(planStep().run).toContain('>> "$GITHUB_OUTPUT"');
  });

  it('shard job: one per matrix entry from fromJSON of the plan, --shard from the matrix, --push, the key from a secret, contents: write', () => {
    const shard = jobs.shard!;
    expect(shard.needs).toBe('plan');
    expect(shard.strategy).toEqual({ 'fail-fast': false, matrix: '${{ fromJSON(needs.plan.outputs.matrix) }}' });
    expect(shard.concurrency?.group).toContain('${{ inputs.file }}');
    expect(shard.concurrency?.group).toContain('${{ matrix.shard }}');
    expect(shard.concurrency?.['cancel-in-progress']).toBe(false);
    expect(shard.permissions?.contents).toBe('write');
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(shard.steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with?.['fetch-depth']).toBe(0);
    expect(runStep().run).toBe('npx swarm run "$SWARM_FILE" --shard ${{ matrix.shard }} --push origin --ui plain');
    expect(runStep().env?.ANTHROPIC_API_KEY).toBe('${{ secrets.ANTHROPIC_API_KEY }}');
    // Inputs reach shells through the environment; the one expression in a script is the
    // matrix's K/N, written by swarm plan itself.
    const inScripts = Object.values(jobs).flatMap((j) => j.steps.flatMap((s) => s.run?.match(/\$\{\{[^}]*\}\}/g) ?? []));
    expect(inScripts).toEqual(['${{ matrix.shard }}']);
  });

  it('finish job: after every shard, even failed ones: the report into the summary, and the pull request with --body-file', () => {
    const finish = jobs.finish!;
    expect(finish.needs).toContain('shard');
    expect(finish.if).toBe('always()');
    expect(finish.permissions?.['pull-requests']).toBe('write');
    expect(finish.env?.INTO).toBe('${{ needs.plan.outputs.into }}');
    const scripts = finish.steps.map((s) => s.run ?? '').join('\n');
    expect(scripts).toContain('git fetch --no-tags origin "+refs/heads/$INTO:refs/remotes/origin/$INTO"');
    expect(scripts).toMatch(/npx swarm report "\$SWARM_FILE" --format markdown .*> "\$RUNNER_TEMP\/swarm\.md"/);
    expect(scripts).toContain('cat "$RUNNER_TEMP/swarm.md" >> "$GITHUB_STEP_SUMMARY"');
    const pr = finish.steps.find((s) => s.run?.includes('gh pr create'))!;
    expect(pr.if).toBe("${{ needs.shard.result == 'success' }}");
    expect(pr.run).toContain('--head "$INTO"');
    expect(pr.run).toContain('--body-file "$RUNNER_TEMP/swarm.md"');
    expect(pr.run).toContain('gh pr edit "$INTO" --body-file "$RUNNER_TEMP/swarm.md"');
  });

  it("the plan step's script, run for real, writes a matrix of N entries K/N, and each entry's shard job runs --shard K/N", async () => {
    const n = Number(wf.on.workflow_dispatch.inputs.shards!.default);
    expect(n).toBe(4);
    const output = join(dir, 'github-output');
    writeFileSync(output, '');
    const r = await shell(planStep().run!, { cwd: repo.dir, env: { SWARM_FILE: 'swarm.yaml', SHARDS: String(n), GITHUB_OUTPUT: output } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain('shards: 8 tasks over 4 shards, for swarm run --shard K/4');
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('into=swarm/shards');
    expect(lines[0]!.startsWith('matrix=')).toBe(true);
    const matrix = JSON.parse(lines[0]!.slice('matrix='.length)) as Matrix;
    expect(matrix).toEqual(await matrixFor(n));
    expect(matrix.include.map((e) => e.shard)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(matrix.include.reduce((sum, e) => sum + e.tasks, 0)).toBe(8);

    for (const entry of matrix.include) {
      // What GitHub does with the expression before the shell sees the script.
      const script = runStep().run!.replace('${{ matrix.shard }}', entry.shard);
      const run = await shell(script, { cwd: repo.dir, fake: true, env: { SWARM_FILE: 'swarm.yaml' } });
      expect(String(run.stdout).split('\n')).toEqual(['swarm', 'run', 'swarm.yaml', '--shard', entry.shard, '--push', 'origin', '--ui', 'plain']);
    }
  });
});

describe('examples/ci/kubernetes-indexed-job.yaml', () => {
  interface EnvVar {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } };
  }
  interface K8sJob {
    apiVersion: string;
    kind: string;
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      backoffLimit?: number;
      backoffLimitPerIndex?: number;
      podFailurePolicy?: { rules: { action: string; onExitCodes?: { containerName?: string; values: number[] } }[] };
      template: {
        spec: {
          restartPolicy: string;
          containers: { name: string; command: string[]; env: EnvVar[]; volumeMounts: { name: string; mountPath: string }[] }[];
          volumes: { name: string; secret?: { secretName: string } }[];
        };
      };
    };
  }
  const docs = parseAllDocuments(MANIFEST);
  const job = () => (docs as { toJS(): unknown }[])[0]!.toJS() as K8sJob;
  const script = () => job().spec.template.spec.containers[0]!.command.at(-1)!;
  const runLine = () =>
    script()
      .split('\n')
      .find((l) => l.includes('swarm run'))!;

  /** The Job's schema from kubernetes-models (types, enums, required fields). */
  const validate = (manifest: unknown) => () => new Job(manifest as ConstructorParameters<typeof Job>[0]).validate();

  it('is one YAML document, a Job that matches the Kubernetes schema', () => {
    expect(Array.isArray(docs)).toBe(true);
    expect((docs as unknown[]).length).toBe(1);
    expect((docs as { errors: unknown[] }[])[0]!.errors).toEqual([]);
    expect(validate(job())).not.toThrow();
  });

  it('the schema refuses broken copies of it', () => {
    const broken: [string, string][] = [
      ['completionMode: Indexed', 'completionMode: Indexd'],
      ['completions: 4 #', 'completions: four #'],
      ['restartPolicy: Never', 'restartPolicy: Sometimes'],
      ['        - name: swarm\n', '        - nam: swarm\n'],
    ];
    for (const [from, to] of broken) {
      expect(MANIFEST).toContain(from);
      expect(validate(parse(MANIFEST.replace(from, to))), to).toThrow();
    }
  });

  it('an Indexed batch/v1 Job: completions == parallelism, a retry budget, a restart policy a Job allows', () => {
    const j = job();
    expect(j.apiVersion).toBe('batch/v1');
    expect(j.kind).toBe('Job');
    expect(j.spec.completionMode).toBe('Indexed');
    expect(j.spec.completions).toBe(4);
    expect(j.spec.parallelism).toBe(j.spec.completions);
    expect(j.spec.backoffLimitPerIndex ?? j.spec.backoffLimit).toBeGreaterThanOrEqual(0);
    // backoffLimitPerIndex and FailIndex need Never.
    expect(j.spec.template.spec.restartPolicy).toBe('Never');
    const container = j.spec.template.spec.containers[0]!;
    expect(j.spec.podFailurePolicy?.rules).toContainEqual({ action: 'FailIndex', onExitCodes: { containerName: container.name, operator: 'In', values: [2] } });
  });

  it('clones the repository with a key from a Secret, and runs shard JOB_COMPLETION_INDEX + 1 of completions with --push, the API key from a secretKeyRef', () => {
    const j = job();
    const container = j.spec.template.spec.containers[0]!;
    expect(container.command.slice(0, 2)).toEqual(['bash', '-ec']);
    expect(script()).toContain('git clone --no-tags "$REPO" /work/repo');
    expect(script()).toContain('install -m 600 /etc/swarm/deploy-key "$HOME/.ssh/deploy-key"');
    const secrets = j.spec.template.spec.volumes.find((v) => v.secret !== undefined)!;
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: secrets.name, mountPath: '/etc/swarm' }));
    expect(container.env.find((e) => e.name === 'ANTHROPIC_API_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: secrets.secret!.secretName,
      key: 'anthropic-api-key',
    });
    expect(runLine().trim()).toBe(`npx swarm run swarm.yaml --shard "$((JOB_COMPLETION_INDEX + 1))/${j.spec.completions}" --push origin --ui plain`);
  });

  it('each index runs the shard swarm plan --shards <completions> lists at that place', async () => {
    const n = job().spec.completions;
    const matrix = await matrixFor(n);
    expect(matrix.include).toHaveLength(n);
    for (let index = 0; index < n; index++) {
      const run = await shell(runLine(), { cwd: repo.dir, fake: true, env: { JOB_COMPLETION_INDEX: String(index) } });
      expect(run.exitCode).toBe(0);
      const args = String(run.stdout).split('\n');
      expect(args.slice(0, 3)).toEqual(['swarm', 'run', 'swarm.yaml']);
      expect(args[args.indexOf('--shard') + 1]).toBe(matrix.include[index]!.shard);
      expect(args).toContain('--push');
    }
  });
});
