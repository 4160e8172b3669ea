/** Cell parsers shared by the dataset readers. Each returns undefined when the text is not valid. */

// Plain decimal notation only: Number() would also accept '', ' ', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const UNIX_SECONDS = /^\d+(\.\d+)?$/;

/**
 * Unix timestamps in seconds from 10^11 on are in the year 5138 or later: such a value is
 * almost surely milliseconds (the unit of behaviour events), so it is refused, not misread.
 */
export const MAX_UNIX_SECONDS = 1e11;

export function parseFiniteNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** Non-negative Unix seconds, integer or decimal. */
export function parseUnixSeconds(text: string): number | undefined {
  const trimmed = text.trim();
  if (!UNIX_SECONDS.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value < MAX_UNIX_SECONDS ? value : undefined;
}

/** A multi-valued cell: values split on '|', trimmed, empties dropped. */
export function splitMultiValue(text: string): string[] {
  const values: string[] = [];
  for (const part of text.split('|')) {
    const value = part.trim();
    if (value !== '') values.push(value);
  }
  return values;
}

/** The release year of a MovieLens title such as "Heat (1995)" or "Heat (1995) ". */
export function yearFromTitle(title: string): number | undefined {
  const match = /\((\d{4})\)\s*$/.exec(title);
  return match ? Number(match[1]) : undefined;
}

/**
 * Interns repeated ID strings so a million interactions share one string per distinct user
 * and item instead of one per row.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  intern(value: string): string {
    const known = this.pool.get(value);
    if (known !== undefined) return known;
    this.pool.set(value, value);
    return value;
  }
}
