import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { SourceLoc } from './spec.js';

export type PathKey = string | number;

/** Maps offsets and paths in a parsed YAML document back to file:line:col. */
export class Locator {
  readonly #file: string;
  readonly #lines: LineCounter;
  readonly #doc: Document;
  readonly #text: string;

  constructor(file: string, text: string, lines: LineCounter, doc: Document) {
    this.#file = file;
    this.#text = text;
    this.#lines = lines;
    this.#doc = doc;
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
  return (
    typeof value === 'object' &&
    value !== null &&
    'range' in value &&
    Array.isArray((value as { range?: unknown }).range)
  );
}
