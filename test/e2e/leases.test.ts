import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SwarmEvent } from '../../src/engine/events.js';
import { AgentRig } from '../helpers/agent-rig.js';
import { swarm } from '../helpers/cli.js';
import { tempRepo } from '../helpers/git-repo.js';

let rig: AgentRig;
beforeEach(async () => {
  rig = await AgentRig.start();
});
afterEach(() => rig.close());

function writeYaml(dir: string, tasks: { id: string; files: string[] }[]): void {
  writeFileSync(
    join(dir, 'swarm.yaml'),
    [
      'version: 1',
      'name: leases',
      'concurrency: 4',
      'agent:',
      '  kind: command',
      `  command: ${JSON.stringify(rig.command)}`,
      'tasks:',
      ...tasks.flatMap((t) => [`  - id: ${t.id}`, `    prompt: Do ${t.id}.`, `    files: ${JSON.stringify(t.files)}`]),
    ].join('\n'),
  );
}

const parse = (out: unknown) =>
  String(out)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SwarmEvent);

describe('leases, end to end', () => {
  it('never runs two independent tasks with overlapping globs at the same time', async () => {
    const repo = tempRepo({ 'src/api/users.ts': 'x\n' });
    // wide and narrow overlap (src/** vs src/api/*.ts); other is free.
    writeYaml(repo.dir, [
      { id: 'narrow', files: ['src/api/*.ts'] },
      { id: 'other', files: ['docs/**'] },
      { id: 'wide', files: ['src/**'] },
    ]);
    const run = swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath } });
    const first = await rig.next();
    const second = await rig.next();
    const running = [first.hello.task, second.hello.task].sort();
    // Of narrow and wide, only one may be running; `other` runs beside it.
    expect(running).toContain('other');
    expect(running.filter((t) => t === 'narrow' || t === 'wide')).toHaveLength(1);
    for (const a of [first, second]) {
      await a.write(a.hello.task === 'other' ? 'docs/x.md' : 'src/api/users.ts', `${a.hello.task}\n`);
      a.exit(0);
    }
    const third = await rig.next();
    expect(['narrow', 'wide']).toContain(third.hello.task);
    await third.write('src/api/users.ts', 'third\n');
    third.exit(0);
    const result = await run;
    expect(result.exitCode).toBe(0);
    const evs = parse(result.stdout);
    const waited = evs.find((e) => e.type === 'lease' && e.reason === 'waiting');
    expect(waited).toMatchObject({ task: third.hello.task });
    // Reconstruct who held a lease when: the two overlapping tasks' intervals never intersect.
    const span = (task: string) => {
      const acquired = evs.findIndex((e) => e.type === 'lease' && e.reason === 'acquired' && e.task === task);
      const released = evs.findIndex((e) => e.type === 'lease' && e.reason === 'released' && e.task === task);
      return [acquired, released] as const;
    };
    const [a1, r1] = span('narrow');
    const [a2, r2] = span('wide');
    expect(r1 < a2 || r2 < a1).toBe(true);
    repo.cleanup();
  });

  it("a person's lease holds a task back until released", async () => {
    const repo = tempRepo();
    writeYaml(repo.dir, [{ id: 'api', files: ['src/api/**'] }]);
    const held = await swarm(['lease', 'acquire', '--holder', 'alice', '--files', 'src/**', '--reason', 'hand edit'], { cwd: repo.dir });
    expect(held.exitCode).toBe(0);
    const child = swarm(['run', 'swarm.yaml', '--ui', 'json'], { cwd: repo.dir, env: { RIG_SOCKET: rig.socketPath }, buffer: true });
    // Wait until swarm reports the task waiting on alice's lease (read the stream as it comes).
    await new Promise<void>((resolve) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('"reason":"waiting"') && seen.includes('alice')) resolve();
      });
    });
    expect(rig.started).toEqual([]);
    const released = await swarm(['lease', 'release', '--holder', 'alice'], { cwd: repo.dir });
    expect(released.exitCode).toBe(0);
    const agent = await rig.next();
    expect(agent.hello.task).toBe('api');
    await agent.write('src/api/x.ts', 'x\n');
    agent.exit(0);
    const result = await child;
    expect(result.exitCode).toBe(0);
    const evs = parse(result.stdout);
    expect(evs.find((e) => e.type === 'task' && e.to === 'waiting')).toMatchObject({ detail: 'waiting for lease held by alice' });
    repo.cleanup();
  });
});
