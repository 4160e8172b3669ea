import * as crypto from 'node:crypto';

// Content keys of CSV interaction rows: the tie-break of the time order (model/data/order.ts), so
// rows that share a timestamp are ordered by what they say, never by where they sit in the file.

/** The fields a key is made of, as loaded (IDs verbatim, numbers parsed). */
export interface KeyedFields {
  user: string;
  item: string;
  ts: number;
  type?: string;
  value?: number;
}

/**
 * The canonical text of a row: `user \t item \t ts \t type \t value`, an absent type or value an
 * empty field. Numbers are the parsed values printed by ECMAScript's Number-to-String (the
 * shortest text that reads back as the same double), so `964982703`, `964982703.0` and
 * ` 964982703 ` give one key, and `4.50` and `4.5` another one; IDs are taken verbatim.
 */
export function canonicalRow(x: KeyedFields): string {
  const type = x.type ?? '';
  const value = x.value === undefined ? '' : String(x.value);
  return `${x.user}\t${x.item}\t${String(x.ts)}\t${type}\t${value}`;
}

// crypto.hash (Node ≥ 20.12) is one call and twice as fast as createHash; engines allow 20.10
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha1Hex = oneShot
  ? (text: string) => oneShot('sha1', text, 'hex')
  : (text: string) => crypto.createHash('sha1').update(text).digest('hex');

/** The first 16 hex chars (64 bits) of sha1 of the canonical row. */
export function contentHash(x: KeyedFields): string {
  return sha1Hex(canonicalRow(x)).slice(0, 16);
}

/**
 * Hands out the keys of one dataset's rows: the content hash, and for the N-th repeat of an
 * earlier identical row the hash plus `.N` (identical rows are interchangeable, so which copy
 * gets which suffix does not matter). Keys are unique within the dataset: two different rows
 * whose hashes collide (about one in 2^64 per pair) are suffixed like repeats.
 */
export class ContentKeys {
  private readonly seen = new Map<string, number>();

  next(x: KeyedFields): string {
    const hash = contentHash(x);
    const repeats = this.seen.get(hash);
    this.seen.set(hash, (repeats ?? 0) + 1);
    return repeats === undefined ? hash : `${hash}.${repeats}`;
  }
}
