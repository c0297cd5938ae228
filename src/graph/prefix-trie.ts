/**
 * Items filed under a path of literal segments (a glob's leading literal part), and a
 * walk that visits, for a given path, every item filed under one of its prefixes —
 * the only ones that can meet it.
 */
interface TrieNode<T> {
  readonly items: T[];
  /** Made on the first child: most nodes are leaves, and a Map each would be most of the trie. */
  children: Map<string, TrieNode<T>> | undefined;
}

export class PrefixTrie<T> {
  readonly #root: TrieNode<T> = { items: [], children: undefined };

  add(prefix: readonly string[], item: T): void {
    let node = this.#root;
    for (const segment of prefix) {
      let next = node.children?.get(segment);
      if (next === undefined) (node.children ??= new Map()).set(segment, (next = { items: [], children: undefined }));
      node = next;
    }
    node.items.push(item);
  }

  /** Calls `visit` with the items at the root, then at each prefix of `path` that has a node. */
  along(path: readonly string[], visit: (items: readonly T[]) => void): void {
    let node: TrieNode<T> | undefined = this.#root;
    if (node.items.length > 0) visit(node.items);
    for (const segment of path) {
      node = node.children?.get(segment);
      if (node === undefined) return;
      if (node.items.length > 0) visit(node.items);
    }
  }
}
