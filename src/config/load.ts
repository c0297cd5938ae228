import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Document } from 'yaml';
import { buildSpec, defaultName } from './build.js';
import { checkSpec, type CheckOptions } from './checks.js';
import type { Diagnostic } from './diagnostic.js';
import { expandTemplates } from './expand.js';
import { Locator, parseYaml, type ParsedYaml } from './locate.js';
import { gitMatchSource, type MatchSource } from './matches.js';
import { readPlainYaml } from './plain-yaml.js';
import { yamlLib } from './yaml-lib.js';
import { sortDiagnostics } from './sort-diagnostics.js';
import { ID_PATTERN, ID_RULE } from './ref-name.js';
import { SpecSchema } from './schema.js';
import type { SourceLoc, Spec } from './spec.js';
import { issueMessages, issuesToDiagnostics } from './zod-issues.js';
import { err, ok, type Result } from '../util/result.js';

/** Bigger files are refused: a task graph this size is a mistake, or an attack. */
export const MAX_SPEC_BYTES = 5 * 1024 * 1024;

/**
 * Aliases expanded while turning the document into data. A handful of anchors is normal
 * (sharing an agent block); thousands are a "billion laughs" bomb.
 */
export const MAX_ALIAS_COUNT = 1000;

export interface LoadOptions extends CheckOptions {
  /**
   * The repository templates (`for_each`) read their matches from. @default the repository
   * holding the swarm file
   */
  readonly repoDir?: string;
  /** Where templates find their matches, for a given `base` (tests hand in their own). @default git, see ./matches.ts */
  readonly matchSource?: (base: string) => MatchSource;
}

/** Reads and validates a swarm file. `path` is used as given in every diagnostic. */
export function loadSpecFile(path: string, options: LoadOptions = {}): Result<Spec, Diagnostic[]> {
  const problem = (message: string): Result<Spec, Diagnostic[]> => err([{ severity: 'error', message }]);
  let text: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return problem(`${path} is a folder, not a swarm file`);
    // A named pipe or a device (/dev/zero) would be read forever: refused before it is opened.
    if (!stat.isFile()) {
      const kind = stat.isFIFO()
        ? 'a named pipe (FIFO)'
        : stat.isSocket()
          ? 'a socket'
          : stat.isCharacterDevice() || stat.isBlockDevice()
            ? 'a device'
            : 'not a file';
      return problem(`${path} is ${kind}, not a regular file`);
    }
    if (stat.size > MAX_SPEC_BYTES) return problem(tooLarge(path, stat.size));
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return problem(`${path} does not exist (run "swarm init" to write a starter file)`);
    if (code === 'EACCES' || code === 'EPERM') return problem(`cannot read ${path}: permission denied`);
    return problem(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseSpec(text, path, options);
}

/** Parses and validates swarm.yaml text; collects every problem rather than the first. */
export function parseSpec(text: string, file: string, options: LoadOptions = {}): Result<Spec, Diagnostic[]> {
  const size = Buffer.byteLength(text);
  if (size > MAX_SPEC_BYTES) return err([{ severity: 'error', message: tooLarge(file, size) }]);

  // The happy path: the fast reader, and the document API only if a location is needed.
  // Any problem at all and the file is read again from the start by the document API, so
  // what is reported never depends on which reader saw the file first.
  let once: ParsedYaml | undefined;
  const parse = (): ParsedYaml => (once ??= parseYaml(text));
  // One source of matches for both readers, so a file read twice runs git once.
  const sources = new Map<string, MatchSource>();
  const dirs = [...(options.repoDir === undefined ? [] : [options.repoDir]), dirname(resolve(file))];
  const make = options.matchSource ?? ((base: string) => gitMatchSource(dirs, base));
  const opts: LoadOptions = {
    ...options,
    matchSource: (base) => {
      let source = sources.get(base);
      if (source === undefined) sources.set(base, (source = make(base)));
      return source;
    },
  };
  const plain = readPlainYaml(text);
  if (plain !== undefined && plain.value !== null && plain.value !== undefined) {
    const result = validate(plain.value, file, new Locator(file, text, parse), opts);
    if (result.ok) return result;
  }
  return parseSpecDocument(text, file, opts, parse());
}

/**
 * The careful path: the `yaml` package's document API, which places every problem.
 * Exported so tests can compare it with the fast path on the same text.
 */
export function parseSpecDocument(text: string, file: string, options: LoadOptions = {}, parsed = parseYaml(text)): Result<Spec, Diagnostic[]> {
  const { doc } = parsed;
  const at = new Locator(file, text, parsed);

  const syntax = [...doc.errors.map((e) => yamlDiagnostic(e.message, e.code, e.pos, at)), ...badAliasesAndKeys(doc, at)];
  if (syntax.length > 0) return err(sortDiagnostics(syntax));

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount.
    const message = error instanceof Error ? error.message : String(error);
    return err([
      {
        severity: 'error',
        message: /alias/i.test(message)
          ? `too many alias expansions (more than ${MAX_ALIAS_COUNT}); the file looks like a YAML alias bomb`
          : `cannot read the YAML: ${message}`,
        loc: firstAlias(doc, at) ?? at.start(),
      },
    ]);
  }
  if (raw === null || raw === undefined) {
    return err([{ severity: 'error', message: 'the file is empty: expected at least "version: 1" and "tasks:"', loc: at.start() }]);
  }
  return validate(raw, file, at, options);
}

/** The schema and the checks zod cannot make, over data either reader produced. */
function validate(raw: unknown, file: string, at: Locator, options: LoadOptions): Result<Spec, Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const parsed = SpecSchema.safeParse(raw, { error: issueMessages });
  if (!parsed.success) diagnostics.push(...issuesToDiagnostics(parsed.error.issues, raw, at, SpecSchema));
  const checked = checkSpec(raw, file, at, options);
  diagnostics.push(...checked.diagnostics);

  // Checked even when other keys are wrong, so every problem shows up in one pass.
  const written = typeof raw === 'object' && raw !== null && 'name' in raw;
  const name = parsed.success ? (parsed.data.name ?? defaultName(file)) : written ? undefined : defaultName(file);
  if (!written && name !== undefined && !ID_PATTERN.test(name)) {
    diagnostics.push({
      severity: 'error',
      message: `the run name defaults to the file's stem, ${JSON.stringify(name)}, which is not a valid name: set "name:" (${ID_RULE})`,
      loc: at.start(),
    });
  }

  if (diagnostics.length > 0 || !parsed.success || name === undefined) return err(sortDiagnostics(dedupe(diagnostics)));
  const spec = buildSpec(parsed.data, file, name, checked.prompts, at);
  const base = spec.base;
  const make = options.matchSource ?? ((b: string) => gitMatchSource([dirname(resolve(file))], b));
  const expanded = expandTemplates(parsed.data, spec.tasks, at, () => make(base));
  if (!expanded.ok) return err(sortDiagnostics(dedupe(expanded.error)));
  if (expanded.value.templates.length === 0) return ok(spec);
  const { tasks, templates, commit } = expanded.value;
  return ok({ ...spec, tasks, templates, ...(commit === undefined ? {} : { expandedAt: commit }) });
}

function tooLarge(file: string, size: number): string {
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${file} is ${mib(size)}; swarm refuses files over ${mib(MAX_SPEC_BYTES)}`;
}

function yamlDiagnostic(message: string, code: string, pos: [number, number], at: Locator): Diagnostic {
  const text =
    code === 'MULTIPLE_DOCS'
      ? 'a swarm file holds one YAML document; remove the "---" and what follows, or merge it into the first'
      : code === 'DUPLICATE_KEY'
        ? 'this key appears twice in the same mapping'
        : /call stack/i.test(message)
          ? 'lists and mappings are nested too deeply'
          : message.charAt(0).toLowerCase() + message.slice(1);
  return { severity: 'error', message: `invalid YAML: ${text}`, loc: at.span(pos[0], pos[1]) };
}

/** Aliases to nothing, and keys that are lists or mappings (JS objects cannot hold them). */
function badAliasesAndKeys(doc: Document, at: Locator): Diagnostic[] {
  const { isCollection, visit } = yamlLib();
  const out: Diagnostic[] = [];
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        out.push({ severity: 'error', message: `invalid YAML: alias *${node.source} names no anchor defined before it`, loc: at.ofNode(node) ?? at.start() });
      }
    },
    Pair(_key, pair) {
      if (isCollection(pair.key)) {
        out.push({ severity: 'error', message: 'a key must be a plain word, not a list or a mapping', loc: at.firstLine(at.ofNode(pair.key) ?? at.start()) });
      }
    },
  });
  return out;
}

function firstAlias(doc: Document, at: Locator): SourceLoc | undefined {
  const { visit } = yamlLib();
  let loc: SourceLoc | undefined;
  visit(doc, {
    Alias(_key, node) {
      loc = at.ofNode(node);
      return visit.BREAK;
    },
  });
  return loc;
}

function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.loc?.line}:${d.loc?.col}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export { sortDiagnostics } from './sort-diagnostics.js';
