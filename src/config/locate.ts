import type { Document, LineCounter, Node } from 'yaml';
import { yamlLib } from './yaml-lib.js';
import type { SourceLoc } from './spec.js';

export type PathKey = string | number;

/** A swarm file read by the `yaml` package's document API, with its line index. */
export interface ParsedYaml {
  readonly doc: Document;
  readonly lines: LineCounter;
}

/** The document API, with the options every reading of a swarm file uses. */
export function parseYaml(text: string): ParsedYaml {
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    // Problems become diagnostics; yaml must not print warnings of its own to stderr.
    logLevel: 'error',
  });
  return { doc, lines };
}

/**
 * Maps offsets and paths in a parsed YAML document back to file:line:col. Built on a
 * parse function, it reads the document only when a location is first asked for: a
 * valid file read by the fast reader never needs one.
 */
export class Locator {
  readonly #file: string;
  readonly #text: string;
  #parse: (() => ParsedYaml) | undefined;
  #parsed: ParsedYaml | undefined;

  constructor(file: string, text: string, parsed: ParsedYaml | (() => ParsedYaml)) {
    this.#file = file;
    this.#text = text;
    if (typeof parsed === 'function') this.#parse = parsed;
    else this.#parsed = parsed;
  }

  /** The document, parsed now if nothing has needed it before. */
  get parsed(): ParsedYaml {
    if (this.#parsed === undefined) {
      this.#parsed = this.#parse!();
      this.#parse = undefined;
    }
    return this.#parsed;
  }

  get #doc(): Document {
    return this.parsed.doc;
  }

  get #lines(): LineCounter {
    return this.parsed.lines;
  }

  /** `loc` cut to its first line, for a node that spans many (a whole mapping). */
  firstLine(loc: SourceLoc): SourceLoc {
    if (loc.endLine === loc.line) return loc;
    const lineStart = this.#lines.lineStarts[loc.line - 1] ?? 0;
    let end = this.#text.indexOf('\n', lineStart);
    if (end < 0) end = this.#text.length;
    if (this.#text[end - 1] === '\r') end--;
    return { ...loc, endLine: loc.line, endCol: end - lineStart + 1 };
  }

  /** A location from two offsets into the text. */
  span(start: number, end: number): SourceLoc {
    const a = this.#lines.linePos(start);
    const b = this.#lines.linePos(Math.max(start, end));
    return { file: this.#file, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }

  /** The start of the file, for problems that belong to no node. */
  start(): SourceLoc {
    return { file: this.#file, line: 1, col: 1, endLine: 1, endCol: 1 };
  }

  ofNode(node: unknown): SourceLoc | undefined {
    if (!isNodeWithRange(node)) return undefined;
    const [start, valueEnd] = node.range;
    return this.span(start, valueEnd);
  }

  /**
   * The node at `path`, or the deepest node on the way to it when the path leaves the
   * document (a missing key, a key that came in through `<<:`, an alias).
   */
  nodeAt(path: readonly PathKey[]): { node: Node | undefined; found: boolean } {
    let node: unknown = this.#doc.contents;
    for (const key of path) {
      const next = child(node, key, false);
      if (next === undefined) return { node: asNode(node), found: false };
      node = next;
    }
    return { node: asNode(node), found: true };
  }

  /** The key node of the pair at `path` (its last element names the key). */
  keyAt(path: readonly PathKey[]): Node | undefined {
    const last = path[path.length - 1];
    if (last === undefined) return undefined;
    const { node: parent, found } = this.nodeAt(path.slice(0, -1));
    if (!found) return undefined;
    return asNode(child(parent, last, true));
  }

  /** Where a diagnostic about `path` should point: the node, else the nearest ancestor. */
  at(path: readonly PathKey[]): SourceLoc {
    return this.ofNode(this.nodeAt(path).node) ?? this.start();
  }

  /** Where a diagnostic about the key of `path` should point. */
  atKey(path: readonly PathKey[]): SourceLoc {
    return this.ofNode(this.keyAt(path)) ?? this.at(path);
  }
}

function child(node: unknown, key: PathKey, wantKey: boolean): unknown {
  const { isAlias, isMap, isPair, isScalar, isSeq } = yamlLib();
  if (isAlias(node)) return undefined;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(k) === String(key)) return wantKey ? pair.key : pair.value;
    }
    return undefined;
  }
  if (isSeq(node) && typeof key === 'number') return node.items[key];
  return undefined;
}

function asNode(value: unknown): Node | undefined {
  return isNodeWithRange(value) ? (value as Node) : undefined;
}

function isNodeWithRange(value: unknown): value is { range: [number, number, number] } {
  return typeof value === 'object' && value !== null && 'range' in value && Array.isArray((value as { range?: unknown }).range);
}
