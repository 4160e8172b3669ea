// A training batch's softmax columns: which corpus rows, which column holds each example's
// positive, and each column's log-q offset.

/**
 * One training batch's columns: the distinct positive items (in-batch negatives for every other
 * row) followed by R uniform draws that are not among them. Deduplicating the columns is the
 * accidental-hit masking: a row's positive never appears as one of its negatives.
 *
 * The count of distinct positives changes from batch to batch, and every new column count is a
 * new matmul shape for oneDNN, which builds (JIT-compiles) and caches a kernel per shape; so the
 * columns are padded up to a multiple of `COLUMN_BUCKET` with masked columns (docs/decisions.md:
 * a handful of shapes per run instead of hundreds). A masked column's offset is `MASKED_OFFSET`:
 * its logit is so low that its softmax weight, and so every gradient through it, is exactly 0.
 */
export interface BatchColumns {
  /** Corpus rows of the columns: distinct positives, then random negatives, then padding. */
  columns: Int32Array;
  /** For each example, the column of its positive. */
  label: Int32Array;
  /** Per column: log of its sampling probability (log-q correction), 0 when off; padding masked. */
  offsets: Float32Array;
}

export const COLUMN_BUCKET = 128;
/** Subtracted from a padding column's logit: exp underflows to exactly 0 in float32. */
export const MASKED_OFFSET = 1e9;

export function batchColumns(
  pos: Int32Array,
  randomNegatives: number,
  nItems: number,
  logQ: Float32Array,
  logQNeg: number,
  random: () => number,
  bucket = COLUMN_BUCKET,
): BatchColumns {
  const colOf = new Map<number, number>();
  const label = new Int32Array(pos.length);
  pos.forEach((p, i) => {
    let c = colOf.get(p);
    if (c === undefined) {
      c = colOf.size;
      colOf.set(p, c);
    }
    label[i] = c;
  });
  const unique = colOf.size;
  const R = Math.min(randomNegatives, Math.max(0, nItems - unique));
  const used = unique + R;
  const width = bucket > 1 ? Math.ceil(used / bucket) * bucket : used;
  const columns = new Int32Array(width);
  const offsets = new Float32Array(width);
  for (const [p, c] of colOf) {
    columns[c] = p;
    offsets[c] = logQ[p] as number;
  }
  for (let j = 0; j < R; j++) {
    let r = Math.floor(random() * nItems);
    while (colOf.has(r)) r = Math.floor(random() * nItems);
    columns[unique + j] = r;
    offsets[unique + j] = logQNeg;
  }
  // padding repeats a real row (any in-range row would do: its weight is 0)
  columns.fill(columns[0] as number, used);
  offsets.fill(MASKED_OFFSET, used);
  return { columns, label, offsets };
}

/**
 * A bound on |logit| over the unmasked columns when user vectors are unit vectors divided by
 * `temperature` and item vectors are unit: 1/τ + max |offset|. With it the softmax may skip its
 * max subtraction. bf16 matmul inputs keep 8 significant bits, so a cosine may be off by up to
 * ~2⁻⁷ (the loss keeps ~20 of headroom above its threshold of 60 anyway).
 */
export function logitBound(temperature: number, offsets: Float32Array): number {
  let maxOffset = 0;
  for (const o of offsets) if (o !== MASKED_OFFSET) maxOffset = Math.max(maxOffset, Math.abs(o));
  return (1 / temperature) * (1 + 2 ** -7) + maxOffset + 1e-3;
}
