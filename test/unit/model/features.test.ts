import { describe, expect, it } from 'vitest';
import {
  allocUserInputs,
  DEFAULT_FEATURES,
  type FeatureConfig,
  fillUserRow,
  type HistoryEntry,
  type SideLayout,
} from '../../../model/features.js';

// Sequence pooling under ties in time: events sharing a timestamp share their weight, so the
// arbitrary order among them (a content key) cannot pick the "last" items.

const cfg: FeatureConfig = { ...DEFAULT_FEATURES, seqLen: 8, seqShortLen: 3, timeBuckets: 0 };
const layout: SideLayout = { slots: ['ctx:hour', 'ctx:weekday', 'ctx:gap'], offsets: [1, 25, 32], rows: 42 };
const DAY = 86_400;

/** Each item's weight in both poolings, by item. */
function weights(history: HistoryEntry[], ts: number, c: FeatureConfig = cfg) {
  const out = allocUserInputs(1, c);
  fillUserRow(out, 0, c, layout, 1, [], ts, history, history.length);
  const L = c.seqLen;
  const long = new Map<number, number>();
  const short = new Map<number, number>();
  for (let p = 0; p < L; p++) {
    const item = out.seqIdx[p] as number;
    if ((out.seqW[p] as number) > 0) long.set(item, out.seqW[p] as number);
    if ((out.seqW[L + p] as number) > 0) short.set(item, out.seqW[L + p] as number);
  }
  return { long, short, seqW: [...out.seqW], seqIdx: [...out.seqIdx] };
}

const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

// items 1-2 on day 0, 3-7 on day 5 (a tie of five straddling the short pooling's three slots)
const history: HistoryEntry[] = [
  { itemIdx: 1, ts: 0 },
  { itemIdx: 2, ts: DAY },
  ...[3, 4, 5, 6, 7].map((i) => ({ itemIdx: i, ts: 5 * DAY })),
];

describe('sequence pooling with ties (seqTieShare)', () => {
  it('gives the same weights whatever the order among tied events', () => {
    const a = weights(history, 6 * DAY);
    const permuted = [history[0], history[1], ...[7, 5, 3, 6, 4].map((i) => ({ itemIdx: i, ts: 5 * DAY }))];
    const b = weights(permuted as HistoryEntry[], 6 * DAY);
    for (const i of [1, 2, 3, 4, 5, 6, 7]) {
      expect(b.long.get(i)).toBeCloseTo(a.long.get(i) as number, 6);
      expect(b.short.get(i) ?? 0).toBeCloseTo(a.short.get(i) ?? 0, 6);
    }
    // tied events share one weight; the short pooling spreads its 3 slots over the tie of 5
    for (const i of [4, 5, 6, 7]) expect(a.long.get(i)).toBeCloseTo(a.long.get(3) as number, 6);
    for (const i of [3, 4, 5, 6, 7]) expect(a.short.get(i)).toBeCloseTo(1 / 5, 6);
    expect(a.short.has(1) || a.short.has(2)).toBe(false);
    expect(sum(a.long)).toBeCloseTo(1, 6);
    expect(sum(a.short)).toBeCloseTo(1, 6);
  });

  it('shares the short pooling pro rata when a tie straddles its boundary', () => {
    // newest first: item 9 alone, then a tie of 4 (items 3-6) of which 2 fall inside 3 slots
    const h: HistoryEntry[] = [
      ...[3, 4, 5, 6].map((i) => ({ itemIdx: i, ts: DAY })),
      { itemIdx: 9, ts: 2 * DAY },
    ];
    const { short, long } = weights(h, 2 * DAY);
    expect(short.get(9)).toBeCloseTo(1 / 3, 6);
    for (const i of [3, 4, 5, 6]) expect(short.get(i)).toBeCloseTo(2 / 4 / 3, 6);
    expect(sum(short)).toBeCloseTo(1, 6);
    // the long pooling: a tied event's weight is its tie's mean position decay (positions 1-4)
    const d = cfg.seqPositionDecay;
    const decay = 0.5 ** (DAY / (cfg.seqHalfLifeDays * DAY));
    const tie = (decay * (d + d ** 2 + d ** 3 + d ** 4)) / 4 + 1e-6;
    const own = 1 + 1e-6;
    expect((long.get(3) as number) / (long.get(9) as number)).toBeCloseTo(tie / own, 5);
  });

  it('without ties equals per-position weights, and off it keeps them', () => {
    const distinct: HistoryEntry[] = [1, 2, 3, 4, 5].map((i) => ({ itemIdx: i, ts: i * DAY }));
    const shared = weights(distinct, 6 * DAY);
    const legacy = weights(distinct, 6 * DAY, { ...cfg, seqTieShare: false });
    expect(shared.seqIdx).toEqual(legacy.seqIdx);
    for (const [k, w] of shared.seqW.entries()) expect(w).toBeCloseTo(legacy.seqW[k] as number, 6);
    // a version saved before the option existed has no field: per-position weights
    const { seqTieShare: _, ...old } = cfg;
    const tied = weights(history, 6 * DAY, old as FeatureConfig);
    expect(tied.short.get(7)).toBeCloseTo(1 / 3, 6);
    expect(tied.short.has(4)).toBe(false);
  });

  it('keeps the window of seqLen events when a tie is longer than the window', () => {
    const long: HistoryEntry[] = Array.from({ length: 12 }, (_, i) => ({ itemIdx: i + 1, ts: DAY }));
    const w = weights(long, DAY);
    expect(w.seqIdx).toEqual([12, 11, 10, 9, 8, 7, 6, 5]);
    expect(new Set(w.seqW.slice(0, 8).map((x) => x.toFixed(7))).size).toBe(1);
    expect(sum(w.short)).toBeCloseTo(1, 6);
  });
});
