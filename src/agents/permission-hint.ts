/**
 * The `agent.allowed_tools` entry that would have let a refused tool call run, in Claude
 * Code's own permission-rule syntax: `Tool` for every use, `Bash(prefix:*)` for commands
 * that start with `prefix`, `WebFetch(domain:host)` for one host.
 *
 * Claude Code checks each part of a compound command (`a && b`, `a | b`, `a; b`) against
 * the rules on its own, ignoring output redirections, so the hint names the parts that need
 * a rule: the part its refusal named ("The following part requires approval: npm test
 * 2>&1") when we have it, else every part of the command. The prefix is the program and
 * the subcommand words after it (`npm test`, `git commit`, `npm run build`): the usual
 * shape of a rule, narrow enough not to allow every use of `npm`, wide enough for its flags.
 */

/** Words after the program that are still part of the command's name (`npm run build`). */
const MAX_PREFIX_WORDS = 3;
const SUBCOMMAND = /^[a-z][a-z0-9:_-]*$/;
/**
 * Programs whose next word names what they do (`git commit`, `npm test`). For any other
 * program the next word is an argument (`cat a.txt`, `pytest tests`), so the rule is the
 * program alone.
 */
const HAS_SUBCOMMANDS = new Set([
  'bun',
  'cargo',
  'deno',
  'docker',
  'dotnet',
  'gh',
  'git',
  'go',
  'gradle',
  'kubectl',
  'make',
  'mvn',
  'npm',
  'npx',
  'pip',
  'pnpm',
  'poetry',
  'rake',
  'uv',
  'yarn',
]);
/** `run`, `exec`: the next word is the script's name, part of the command too. */
const RUNS = new Set(['run', 'run-script', 'exec', 'x']);

/**
 * Commands Claude Code runs without asking (read-only), left out of a compound command's
 * hint when the refusal's own text is not at hand: `npm test | tail -5` needs `npm test` only.
 */
const READ_ONLY = new Set(['cat', 'cut', 'echo', 'grep', 'head', 'ls', 'pwd', 'sort', 'tail', 'tr', 'uniq', 'wc']);

/** The rule for one refused call; `refusal` is the refusal's text from the tool result. */
export function suggestRule(tool: string, input: Record<string, unknown>, refusal?: string): string {
  if (tool === 'Bash') {
    const command = typeof input.command === 'string' ? input.command : '';
    const named = refusal === undefined ? undefined : /requires? approval:\s*([\s\S]+)$/.exec(refusal)?.[1];
    const parts = commandParts(named ?? command);
    const needed = named === undefined ? parts.filter((p) => !READ_ONLY.has(p.split(' ')[0]!)) : parts;
    const rules = [...new Set((needed.length > 0 ? needed : parts).map((p) => `Bash(${p}:*)`))];
    return rules.length === 0 ? 'Bash' : rules.join(', ');
  }
  if (tool === 'WebFetch' && typeof input.url === 'string') {
    try {
      return `WebFetch(domain:${new URL(input.url).hostname})`;
    } catch {
      return 'WebFetch';
    }
  }
  return tool;
}

/** The command prefix of each part of a (possibly compound) shell command. */
export function commandParts(command: string): string[] {
  const out: string[] = [];
  for (const part of command.split(/&&|\|\||[;|\n]/)) {
    const words = part
      .replace(/\d*>>?&?\s*\S+|<\s*\S+/g, ' ') // redirections: 2>&1, > out.txt, < in
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift(); // FOO=1 cmd
    const program = words[0];
    if (program === undefined) continue;
    const prefix = [program];
    for (const word of HAS_SUBCOMMANDS.has(program) ? words.slice(1) : []) {
      if (prefix.length >= MAX_PREFIX_WORDS || !SUBCOMMAND.test(word)) break;
      const previous = prefix[prefix.length - 1]!;
      prefix.push(word);
      if (prefix.length === 2 && !RUNS.has(previous) && !RUNS.has(word)) break;
    }
    out.push(prefix.join(' '));
  }
  return out;
}
