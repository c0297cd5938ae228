/** The demo's graph: a small web app built by seven agents, with dependencies and file globs. */
export interface DemoTask {
  readonly id: string;
  readonly title: string;
  readonly files: readonly string[];
  readonly dependsOn: readonly string[];
  readonly writes: readonly string[];
}

export const DEMO_TASKS: readonly DemoTask[] = [
  { id: 'model', title: 'Define the data model', files: ['src/model/**'], dependsOn: [], writes: ['src/model/user.ts', 'src/model/todo.ts'] },
  { id: 'api', title: 'REST endpoints for todos', files: ['src/api/**'], dependsOn: ['model'], writes: ['src/api/todos.ts', 'src/api/router.ts'] },
  { id: 'auth', title: 'Sign-in and sessions', files: ['src/auth/**'], dependsOn: ['model'], writes: ['src/auth/session.ts', 'src/auth/login.ts'] },
  { id: 'ui', title: 'Todo list screen', files: ['src/ui/**'], dependsOn: ['api'], writes: ['src/ui/list.tsx', 'src/ui/item.tsx'] },
  { id: 'tests', title: 'Tests for api and auth', files: ['test/**'], dependsOn: ['api', 'auth'], writes: ['test/api.test.ts', 'test/auth.test.ts'] },
  { id: 'docs', title: 'API reference', files: ['docs/**'], dependsOn: ['api', 'auth'], writes: ['docs/api.md'] },
  { id: 'changelog', title: 'Changelog entry', files: ['CHANGELOG.md'], dependsOn: [], writes: ['CHANGELOG.md'] },
];

/** The swarm.yaml the demo writes, pointing at the bundled agent by absolute path. */
export function demoYaml(agentArgv: readonly string[], delayMs: number): string {
  const lines = [
    '# The swarm demo: seven tasks, built by the bundled demo agent (no API key needed).',
    'version: 1',
    'name: demo',
    'concurrency: 3',
    'retries: 0',
    'agent:',
    '  kind: command',
    `  command: [${[...agentArgv, '{task}'].map((a) => JSON.stringify(a)).join(', ')}]`,
    'merge:',
    '  strategy: merge',
    'tasks:',
  ];
  for (const t of DEMO_TASKS) {
    lines.push(
      `  - id: ${t.id}`,
      `    title: ${t.title}`,
      `    prompt: ${t.title}.`,
      `    files: [${t.files.map((f) => JSON.stringify(f)).join(', ')}]`,
      `    depends_on: [${t.dependsOn.join(', ')}]`,
      `    env: { DEMO_WRITE: "${t.writes.join(',')}", DEMO_DELAY_MS: "${delayMs}" }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
