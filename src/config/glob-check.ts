import picomatch from 'picomatch';

/**
 * Why a `files:` glob is unusable, or undefined when it is fine. Globs are relative to
 * the repository root and are leased, so they must stay inside it and be parseable.
 */
const MAX_GLOB_LENGTH = 4096;

const OPENERS: Record<string, string> = { ']': '[', '}': '{', ')': '(' };

export function globProblem(glob: string): string | undefined {
  if (glob.trim() !== glob) return 'has leading or trailing spaces';
  if (glob.startsWith('/') || /^[A-Za-z]:[\\/]/.test(glob)) return 'is an absolute path; globs are relative to the repository root';
  if (glob.startsWith('!')) return 'is negated; list the files the task owns instead';
  if (glob.split('/').includes('..')) return 'has a ".." segment; globs must stay inside the repository';
  // A backslash escapes a glob character; before anything else it is a Windows separator.
  if (/\\(?![\\*?[\]{}()!+@|,.])/.test(glob)) return 'contains "\\"; use "/" between folders';
  if (glob.length > MAX_GLOB_LENGTH) return `is longer than ${MAX_GLOB_LENGTH} characters`;
  // Only brackets can fail to parse; compiling every glob of a 2,000-task file is not free.
  if (!/[[{(]/.test(glob)) return undefined;
  try {
    // strictBrackets turns an unclosed [ { ( into an error instead of a literal character,
    // which is almost always a typo in an ownership glob.
    picomatch.makeRe(glob, { dot: true, strictBrackets: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unclosed = /^Missing closing: "(.)"/.exec(message)?.[1];
    const opener = unclosed === undefined ? undefined : OPENERS[unclosed];
    if (opener !== undefined) return `has an unclosed "${opener}" (write "\\${opener}" for the character itself)`;
    return `cannot be parsed: ${message}`;
  }
  return undefined;
}
