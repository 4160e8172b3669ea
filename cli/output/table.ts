import Table from 'cli-table3';

/** A cell: numbers are right-aligned; null and undefined print as `-`. */
export type Cell = string | number | null | undefined;

// No borders: columns two spaces apart under a header line, like `ps` or `kubectl get`, so the
// output reads in a terminal and greps line by line.
const PLAIN = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/**
 * Rows as a plain-text table, columns in the order of the first row's keys: no index column, no
 * quotes, numeric columns (every value a number or empty) right-aligned, and so are the columns
 * named in `right` (quantities with a unit, like "51 MiB"). Ends with a newline; an empty list
 * prints nothing.
 */
export function formatTable(
  rows: readonly Record<string, Cell>[],
  opts: { right?: readonly string[] } = {},
): string {
  const first = rows[0];
  if (!first) return '';
  const columns = Object.keys(first);
  const numeric = columns.map(
    (c) =>
      opts.right?.includes(c) ||
      rows.every((r) => typeof r[c] === 'number' || r[c] === null || r[c] === undefined),
  );
  const table = new Table({
    head: columns,
    colAligns: numeric.map((n) => (n ? 'right' : 'left')),
    chars: PLAIN,
    // no colours: the output is often piped or captured
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) table.push(columns.map((c) => String(r[c] ?? '-')));
  return `${table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}
