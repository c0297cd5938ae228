/**
 * The task tables of `swarm status`, from state.db and from the record in git: a template's
 * tasks fold into one row at the place of its first (`--expand` lists them under it), and
 * the columns are padded to line up.
 */

/** Rows for `tasks` in order; a template's tasks become `group(first, all)`, followed by theirs when `expand`. */
export function foldTemplates<T extends { readonly template?: string }>(
  tasks: readonly T[],
  row: (task: T, indent?: string) => string[],
  group: (first: T, members: readonly T[]) => string[],
  expand: boolean,
): string[][] {
  const members = new Map<string, T[]>();
  for (const t of tasks) if (t.template !== undefined) members.set(t.template, [...(members.get(t.template) ?? []), t]);
  const rows: string[][] = [];
  for (const t of tasks) {
    if (t.template === undefined) {
      rows.push(row(t));
      continue;
    }
    const all = members.get(t.template);
    if (all === undefined) continue;
    members.delete(t.template);
    rows.push(group(t, all));
    if (expand) for (const m of all) rows.push(row(m, '  '));
  }
  return rows;
}

/** The rows as lines, each column padded to its widest cell (the last one is not padded). */
export function alignRows(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
