/**
 * Templates (`for_each`) into tasks: one per match, or per batch of matches, in a stable
 * order, so every machine and every re-run at the same commit expands a file the same way.
 * Each generated task is an ordinary TaskSpec (its definition hash is its expanded form),
 * marked with the template and the match it came from. `depends_on` naming a template
 * becomes every task the template made.
 */
import { createHash } from 'node:crypto';
import picomatch from 'picomatch';
import type { Diagnostic } from './diagnostic.js';
import { globProblem } from './glob-check.js';
import type { Locator } from './locate.js';
import { compareBytes, type MatchSource } from './matches.js';
import { fill, globEscape, hasPlaceholder, shellQuote, usesPerMatch, valuesOf, type Values } from './placeholders.js';
import { ID_PATTERN, ID_RULE } from './ref-name.js';
import type { RawForEach, RawSpec } from './schema.js';
import type { SourceLoc, TaskSpec, TemplateSummary } from './spec.js';
import { templateName } from './template-checks.js';
import { err, ok, type Result } from '../util/result.js';

export interface Expanded {
  readonly tasks: TaskSpec[];
  readonly templates: TemplateSummary[];
  readonly commit?: string;
}

type Kind = 'dirs' | 'files' | 'values';
type Loc = TaskSpec['loc'];

/**
 * `built` holds one TaskSpec per entry of `raw.tasks` (a template's is its unexpanded
 * prototype). Returns the tasks in file order, each template's in place of its entry.
 */
export function expandTemplates(raw: RawSpec, built: readonly TaskSpec[], at: Locator, source: () => MatchSource): Result<Expanded, Diagnostic[]> {
  if (!raw.tasks.some((t) => t.for_each !== undefined)) return ok({ tasks: [...built], templates: [] });
  const diagnostics: Diagnostic[] = [];
  const error = (message: string, loc: SourceLoc, related?: Diagnostic['related']): void => {
    diagnostics.push(related === undefined ? { severity: 'error', message, loc } : { severity: 'error', message, loc, related });
  };
  const matches = source();
  // Which entry (and match) made each id, to name both sides of a collision.
  const owners = new Map<string, { index: number; match?: string }>();
  raw.tasks.forEach((t, i) => {
    if (t.for_each === undefined) owners.set(t.id, { index: i });
  });
  const groups = new Map<string, string[]>();
  const templates: TemplateSummary[] = [];
  const out: TaskSpec[] = [];
  let commit: string | undefined;

  raw.tasks.forEach((entry, i) => {
    const proto = built[i]!;
    const each = entry.for_each;
    if (each === undefined) {
      out.push(proto);
      return;
    }
    const name = templateName(entry.id);
    const kind: Kind = each.dirs !== undefined ? 'dirs' : each.files !== undefined ? 'files' : 'values';
    const found = findMatches(kind, each, matches);
    if (!found.ok) {
      const key = found.error.key;
      error(`template ${JSON.stringify(name)} for_each.${key}: ${found.error.message}`, at.at(['tasks', i, 'for_each', key]));
      groups.set(name, []);
      return;
    }
    if (kind !== 'values') {
      const sha = matches.commit();
      if (sha.ok) commit ??= sha.value;
    }
    const list = found.value;
    if (list.length === 0 && each.allow_empty !== true) {
      const where = commit === undefined ? '' : ` at base ${commit.slice(0, 12)}`;
      error(
        `template ${JSON.stringify(name)} matches nothing${where} (for_each.${kind} ${describeSource(each, kind)}${each.containing === undefined ? '' : `, containing ${JSON.stringify(each.containing)}`}${each.exclude === undefined ? '' : ', less exclude'}); set for_each.allow_empty: true if that is expected`,
        at.atKey(['tasks', i, 'for_each']),
      );
    }
    const batch = each.batch ?? 1;
    const bases = kind === 'values' ? [] : globsOf(kind === 'dirs' ? each.dirs! : each.files!).map((g) => picomatch.scan(g).base);
    const ids: string[] = [];
    const globErrors = new Map<number, { first: string; count: number }>();
    for (let start = 0, index = 1; start < list.length; start += batch, index++) {
      const chunk = list.slice(start, start + batch);
      const values = valuesOf(kind, chunk, index);
      const id = hasPlaceholder(entry.id) ? sanitize(fill(entry.id, values)) : generatedId(name, keyOf(chunk[0]!, bases));
      if (!ID_PATTERN.test(id)) {
        error(
          `template ${JSON.stringify(name)} makes the id ${JSON.stringify(id)} for ${JSON.stringify(chunk[0])}, which is not a valid task id: expected ${ID_RULE}`,
          at.at(['tasks', i, 'id']),
        );
        continue;
      }
      const owner = owners.get(id);
      if (owner !== undefined) {
        const other = owner.match === undefined ? `the task ${JSON.stringify(id)}` : `${JSON.stringify(owner.match)}`;
        const otherLoc = at.at(['tasks', owner.index, 'id']);
        error(
          `template ${JSON.stringify(name)}: ${JSON.stringify(chunk[0])} and ${other} would both be the task ${JSON.stringify(id)}; exclude one, or put a placeholder in the id that tells them apart`,
          at.at(['tasks', i, 'id']),
          owner.index === i ? undefined : [{ message: `${JSON.stringify(id)} is also made here`, loc: otherLoc }],
        );
        continue;
      }
      owners.set(id, { index: i, match: chunk[0]! });
      const task = generate(proto, entry.title, id, name, kind, chunk, values, index);
      task.files.forEach((glob, k) => {
        const problem = globProblem(glob);
        if (problem === undefined) return;
        const j = task.fileSource[k]!;
        const seen = globErrors.get(j);
        if (seen === undefined)
          globErrors.set(j, { first: `task ${JSON.stringify(id)} (match ${JSON.stringify(chunk[0])}) files: ${JSON.stringify(glob)} ${problem}`, count: 1 });
        else seen.count++;
      });
      ids.push(id);
      out.push(task.spec);
    }
    for (const [j, { first, count }] of globErrors) {
      error(
        `template ${JSON.stringify(name)} makes a bad glob: ${first}${count > 1 ? ` (and ${count - 1} more like it)` : ''}`,
        at.at(['tasks', i, 'files', j]),
      );
    }
    groups.set(name, ids);
    // No location here: reading one parses the file again with the document API.
    templates.push({ id: name, source: kind, tasks: ids });
  });
  if (diagnostics.length > 0) return err(diagnostics);
  return ok({ tasks: out.map((t) => withGroupDependencies(t, groups)), templates, ...(commit === undefined ? {} : { commit }) });
}

function globsOf(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}

function describeSource(each: RawForEach, kind: Kind): string {
  if (kind === 'values') return `of ${each.values!.length}`;
  return globsOf(kind === 'dirs' ? each.dirs! : each.files!)
    .map((g) => JSON.stringify(g))
    .join(', ');
}

type Found = Result<readonly string[], { key: string; message: string }>;

/** The matches of one template, sorted bytewise (values in the order written). */
function findMatches(kind: Kind, each: RawForEach, source: MatchSource): Found {
  if (kind === 'values') return ok(each.values!.map(String));
  const tracked = source.files();
  if (!tracked.ok) return err({ key: kind, message: tracked.error });
  const wanted = picomatch(globsOf(kind === 'dirs' ? each.dirs! : each.files!) as string[], { dot: true });
  const excluded = each.exclude === undefined || each.exclude.length === 0 ? undefined : picomatch(each.exclude, { dot: true });
  let holding: ReadonlySet<string> | undefined;
  if (each.containing !== undefined) {
    const grep = source.grep(each.containing);
    if (!grep.ok) return err({ key: 'containing', message: grep.error });
    holding = grep.value;
  }
  const out: string[] = [];
  if (kind === 'files') {
    for (const path of tracked.value) {
      if (!wanted(path) || excluded?.(path) === true) continue;
      if (holding !== undefined && !holding.has(path)) continue;
      out.push(path);
    }
    return ok(out);
  }
  // Directories: every folder that holds a tracked file, at any depth.
  const dirs = new Set<string>();
  const withMatch = new Set<string>();
  for (const path of tracked.value) {
    const matched = holding?.has(path) === true;
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
      const dir = path.slice(0, slash);
      dirs.add(dir);
      if (matched) withMatch.add(dir);
    }
  }
  for (const dir of dirs) {
    if (!wanted(dir) || excluded?.(dir) === true) continue;
    if (holding !== undefined && !withMatch.has(dir)) continue;
    out.push(dir);
  }
  return ok(out.sort(compareBytes));
}

/** The part of a match that names its task: the match past its glob's fixed folder (`packages/billing` -> `billing`). */
function keyOf(match: string, bases: readonly string[]): string {
  let best = '';
  for (const base of bases) if (base.length > best.length && match.startsWith(`${base}/`)) best = base;
  return best === '' ? match : match.slice(best.length + 1);
}

/** `<template>.<key>`, cut to the id rules; a key too long keeps its start and a short hash of the whole. */
function generatedId(name: string, key: string): string {
  const clean = sanitize(key);
  const id = `${name}.${clean}`;
  if (id.length <= 64) return id;
  const hash = createHash('sha1').update(key).digest('hex').slice(0, 6);
  const room = 64 - name.length - 1 - hash.length - 1;
  return room < 1 ? id : sanitize(`${name}.${clean.slice(0, room)}-${hash}`);
}

/** Text made into a task id: lower case, `/` to `.`, anything else outside the id alphabet to `-`. */
function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replaceAll('/', '.')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+/, '')
    .replace(/\.lock$/, '-lock')
    .replace(/[._-]+$/, '');
}

interface Generated {
  readonly spec: TaskSpec;
  readonly files: readonly string[];
  /** For each glob, the index of the template's files entry it came from. */
  readonly fileSource: readonly number[];
}

function generate(
  proto: TaskSpec,
  title: string | undefined,
  id: string,
  name: string,
  kind: Kind,
  chunk: readonly string[],
  values: Values,
  index: number,
): Generated {
  const files: string[] = [];
  const fileSource: number[] = [];
  const add = (glob: string, j: number): void => {
    if (files.includes(glob)) return;
    files.push(glob);
    fileSource.push(j);
  };
  proto.files.forEach((glob, j) => {
    // In a batch, a glob about one match is written once per match: the task owns them all.
    if (chunk.length > 1 && (usesPerMatch(glob) || glob.includes('{{paths}}'))) {
      for (const m of chunk) add(fill(glob.replaceAll('{{paths}}', '{{path}}'), valuesOf(kind, [m], index), globEscape), j);
    } else {
      add(fill(glob, values, globEscape), j);
    }
  });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(proto.env)) env[key] = fill(value, values);
  const spec = copyTask(
    proto,
    {
      id,
      title: title === undefined ? id : fill(title, values),
      prompt: fill(proto.prompt, values),
      files,
      env,
      template: { id: name, matches: chunk },
      ...(proto.setup === undefined ? {} : { setup: fill(proto.setup, values, shellQuote) }),
      ...(proto.check === undefined ? {} : { check: fill(proto.check, values, shellQuote) }),
    },
    (loc) => ({
      ...(loc.id === undefined ? {} : { id: loc.id }),
      ...(loc.files === undefined ? {} : { files: fileSource.map((j) => loc.files![j]) }),
      ...(loc.dependsOn === undefined ? {} : { dependsOn: loc.dependsOn }),
    }),
  );
  return { spec, files, fileSource };
}

/** depends_on naming a template becomes every task it made; locations follow the entry each came from. */
function withGroupDependencies(task: TaskSpec, groups: ReadonlyMap<string, readonly string[]>): TaskSpec {
  if (!task.dependsOn.some((d) => groups.has(d))) return task;
  const deps: string[] = [];
  const seen = new Set<string>();
  const from: number[] = [];
  task.dependsOn.forEach((dep, k) => {
    for (const id of groups.get(dep) ?? [dep]) {
      if (seen.has(id)) continue;
      seen.add(id);
      deps.push(id);
      from.push(k);
    }
  });
  return copyTask(task, { dependsOn: deps }, (loc) => (loc.dependsOn === undefined ? loc : { ...loc, dependsOn: from.map((k) => loc.dependsOn![k]) }));
}

/**
 * `task` with some fields replaced. Its `loc` stays lazy: reading it means parsing the file
 * with the document API, which a valid file must never pay for.
 */
function copyTask(task: TaskSpec, changes: Partial<TaskSpec>, loc: (from: Loc) => Loc): TaskSpec {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(task)) if (key !== 'loc') out[key] = task[key as keyof TaskSpec];
  Object.assign(out, changes);
  let cached: Loc | undefined;
  Object.defineProperty(out, 'loc', { enumerable: true, configurable: true, get: (): Loc => (cached ??= loc(task.loc)) });
  return out as unknown as TaskSpec;
}
