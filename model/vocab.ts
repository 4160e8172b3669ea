import { fnv1a } from '../runtime/hash.js';

/** A string vocabulary built from data. Index 0 is the shared out-of-vocabulary row. */
export class Vocab {
  private readonly index = new Map<string, number>();

  constructor(readonly values: readonly string[]) {
    values.forEach((v, i) => {
      this.index.set(v, i + 1);
    });
  }

  /** Values seen at least `minCount` times, most frequent first (ties by value, so builds are reproducible). */
  static fromCounts(counts: Map<string, number>, minCount = 1, maxSize = Number.POSITIVE_INFINITY): Vocab {
    const kept = [...counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxSize)
      .map(([v]) => v);
    return new Vocab(kept);
  }

  /** Rows including the OOV row. */
  get size(): number {
    return this.values.length + 1;
  }

  /** Index of `value`, or 0 (OOV) when unseen. */
  lookup(value: string): number {
    return this.index.get(value) ?? 0;
  }

  has(value: string): boolean {
    return this.index.has(value);
  }

  toJSON(): string[] {
    return [...this.values];
  }
}

export function countValues(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** Bucket boundaries at the quantiles of `values` (deduplicated), for bucketised numeric fields. */
export function quantileBoundaries(values: number[], buckets: number): number[] {
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const out: number[] = [];
  for (let q = 1; q < buckets; q++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((q / buckets) * sorted.length))] as number;
    if (out.length === 0 || v > (out[out.length - 1] as number)) out.push(v);
  }
  return out;
}

/** 1-based bucket of `x` given sorted boundaries; 0 is "missing". */
export function bucketOf(x: number | undefined, boundaries: readonly number[]): number {
  if (x === undefined || !Number.isFinite(x)) return 0;
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= (boundaries[mid] as number)) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** FNV-1a 32-bit, for hashing text tokens into a fixed number of buckets. */
export function hashToken(token: string, buckets: number): number {
  return (fnv1a(token) % buckets) + 1;
}

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 1);
}
