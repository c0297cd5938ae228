/**
 * Every pair of tasks that could run at once but whose globs overlap.
 *
 * n tasks make n^2/2 pairs; 2,000 tasks make two million. Two shortcuts keep it fast:
 * glob alternatives are indexed by their leading literal segments (`src/api/*.ts` sits
 * under `src/api`), and an alternative is only compared with those whose literal prefix
 * is a prefix of its own (or equal) — any other pair differs in a literal segment and
 * cannot meet. Pairs that are ordered by the graph are skipped with one bitset lookup.
 */
import picomatch from 'picomatch';
import { alternativesIntersect } from './glob-intersect.js';
import { compileGlob, normalizeGlob, type Alternative } from './glob-pattern.js';
import { overlappingGlobs } from './overlap.js';
import { PrefixTrie } from './prefix-trie.js';
import type { Reach } from './reach.js';
import type { Conflict } from './task-graph.js';

interface Entry {
  readonly task: number;
  readonly alt: Alternative;
}

export function findConflicts(ids: readonly string[], files: readonly (readonly string[])[], reach: Reach, trackedFiles: readonly string[] = []): Conflict[] {
  const n = ids.length;
  const found = new Map<number, { a: number; b: number; path?: string }>();
  const key = (i: number, j: number) => (i < j ? i * n + j : j * n + i);

  const trie = new PrefixTrie<Entry>();
  const entries: Entry[] = [];
  files.forEach((globs, task) => {
    for (const glob of globs) {
      for (const alt of compileGlob(glob).alternatives) {
        const entry = { task, alt };
        entries.push(entry);
        trie.add(alt.prefix, entry);
      }
    }
  });

  for (const e of entries) {
    trie.along(e.alt.prefix, (candidates) => {
      for (const c of candidates) {
        if (c.task === e.task) continue;
        const pk = key(e.task, c.task);
        if (found.has(pk) || reach.ordered(e.task, c.task)) continue;
        if (alternativesIntersect(e.alt, c.alt)) found.set(pk, { a: Math.min(e.task, c.task), b: Math.max(e.task, c.task) });
      }
    });
  }

  if (trackedFiles.length > 0) addTrackedFileConflicts(files, reach, trackedFiles, found, key);

  const out: Conflict[] = [];
  for (const { a, b, path } of found.values()) {
    const globs = overlappingGlobs(files[a]!, files[b]!) ?? globsMatching(files[a]!, files[b]!, path);
    out.push({ a: ids[a]!, b: ids[b]!, ...globs, ...(path === undefined ? {} : { path }) });
  }
  return out.sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1));
}

/**
 * A tracked file both tasks match is a conflict, whatever the glob analysis said (it
 * should have said so already; this is the safety net), and it makes a good example in
 * the report. Each pair keeps its smallest shared file.
 *
 * Sorted, the files under one folder sit side by side, so each glob is tried only on the
 * slice of files under its literal prefix (found by binary search), never on the rest.
 */
function addTrackedFileConflicts(
  files: readonly (readonly string[])[],
  reach: Reach,
  trackedFiles: readonly string[],
  found: Map<number, { a: number; b: number; path?: string }>,
  key: (i: number, j: number) => number,
): void {
  const sortedFiles = [...trackedFiles].sort();
  // The tasks matching each file: the first in `owner`, any others in `others`.
  const owner = new Int32Array(sortedFiles.length).fill(-1);
  const others = new Map<number, number[]>();
  const claim = (f: number, task: number): void => {
    const first = owner[f]!;
    if (first === -1) owner[f] = task;
    else if (first !== task) {
      const more = others.get(f);
      if (more === undefined) others.set(f, [task]);
      else if (!more.includes(task)) more.push(task);
    }
  };

  files.forEach((globs, task) => {
    for (const glob of globs) {
      const alternatives = compileGlob(glob).alternatives;
      const match = pathMatcher(glob, alternatives);
      const prefixes = new Set<string>();
      for (const alt of alternatives) {
        const prefix = alt.prefix.join('/');
        if (prefixes.has(prefix)) continue;
        prefixes.add(prefix);
        forFilesUnder(sortedFiles, prefix, (f) => {
          if (match(sortedFiles[f]!)) claim(f, task);
        });
      }
    }
  });

  const seenSets = new Set<string>();
  for (const f of [...others.keys()].sort((x, y) => x - y)) {
    const path = sortedFiles[f]!;
    const sorted = [owner[f]!, ...others.get(f)!].sort((x, y) => x - y);
    // Files owned by the same tasks give the same pairs; the first (smallest) one speaks for all.
    const signature = sorted.join(',');
    if (seenSets.has(signature)) continue;
    seenSets.add(signature);
    for (let x = 0; x < sorted.length; x++) {
      for (let y = x + 1; y < sorted.length; y++) {
        const a = sorted[x]!;
        const b = sorted[y]!;
        if (reach.ordered(a, b)) continue;
        const pk = key(a, b);
        const hit = found.get(pk);
        if (hit === undefined) found.set(pk, { a, b, path });
        else hit.path ??= path;
      }
    }
  }
}

/** Calls `visit` with the index of every file that is `prefix` or lies under it. */
function forFilesUnder(sorted: readonly string[], prefix: string, visit: (f: number) => void): void {
  if (prefix === '') {
    for (let f = 0; f < sorted.length; f++) visit(f);
    return;
  }
  const exact = lowerBound(sorted, prefix);
  if (sorted[exact] === prefix) visit(exact);
  // Everything under `prefix/` sorts between `prefix/` and `prefix0` ('0' follows '/').
  const end = lowerBound(sorted, `${prefix}0`);
  for (let f = lowerBound(sorted, `${prefix}/`); f < end; f++) visit(f);
}

/** The first index whose string is not below `s`. */
function lowerBound(sorted: readonly string[], s: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Most task globs name plain files (`src/api/routes.ts`) or folders (`src/api/**`): those
 * are compared as strings. The others compile to picomatch's regex only when a file first reaches them.
 */
function pathMatcher(glob: string, alternatives: readonly Alternative[]): (path: string) => boolean {
  if (alternatives.every((a) => a.prefix.length === a.segments.length)) {
    const exact = new Set(alternatives.map((a) => a.prefix.join('/')));
    return (path) => exact.has(path);
  }
  // `dir/**` (the commonest shape) is `dir` itself or anything below it, dotfiles included.
  const only = alternatives.length === 1 ? alternatives[0]! : undefined;
  if (only !== undefined && only.segments.length === only.prefix.length + 1 && only.segments.at(-1)!.kind === 'globstar' && only.prefix.length > 0) {
    const dir = only.prefix.join('/');
    return (path) => path === dir || path.startsWith(`${dir}/`);
  }
  let re: RegExp | undefined;
  return (path) => (re ??= picomatch.makeRe(normalizeGlob(glob), { dot: true })).test(path);
}

function globsMatching(a: readonly string[], b: readonly string[], path: string | undefined): { globA: string; globB: string } {
  const pick = (globs: readonly string[]) =>
    globs.find((g) => path !== undefined && picomatch.makeRe(normalizeGlob(g), { dot: true }).test(path)) ?? globs[0] ?? '';
  return { globA: pick(a), globB: pick(b) };
}
