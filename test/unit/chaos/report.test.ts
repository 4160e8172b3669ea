import { describe, expect, it } from 'vitest';
import type { PhaseBooks } from '../../../chaos/audit.js';
import { emptyBooks } from '../../../chaos/load.js';
import { caughtUpAt, phaseResult, reportRecords } from '../../../chaos/report.js';

const clean: PhaseBooks = {
  hbase: { lost: 0, doubled: 0, rows: 10, unacknowledged: 0, foreign: 0 },
  sequence: { lost: 0, doubled: 0, usersMismatched: 0 },
  popularity: { lost: 0, doubled: 0 },
  embeddings: { lost: 0, doubled: 0, usersMismatched: 0 },
  profiles: { lost: 0, doubled: 0 },
  lost: 0,
  doubled: 0,
};

describe('drill report', () => {
  const kill = { killedAt: 10_000, backAt: 14_000 };
  const lag = [
    { at: 9_000, lag: 0 },
    { at: 12_000, lag: undefined },
    { at: 14_500, lag: 5_000 },
    { at: 15_000, lag: 800 },
    { at: 16_000, lag: 0 },
  ];

  it('is caught up at the first sample after the restart within one second of traffic', () => {
    expect(caughtUpAt({ rate: 1000, kill, lag, drained: 20_000 })).toBe(15_000);
    expect(caughtUpAt({ rate: 100, kill, lag, drained: 20_000 })).toBe(16_000);
    // never within it while sampled: the drain
    expect(caughtUpAt({ rate: 100, kill, lag: lag.slice(0, 3), drained: 20_000 })).toBe(20_000);
  });

  it('counts recall answers of the fault window only, and mixed versions over the whole phase', () => {
    const at = (t: number, status: number, extra: object = {}) => ({
      at: t,
      status,
      degraded: false,
      ms: 1,
      ...extra,
    });
    const r = phaseResult({
      name: 'redis',
      rate: 1000,
      t0: 0,
      kill,
      drained: 20_000,
      books: { ...emptyBooks(), retriedEvents: 200 },
      accepted: 10,
      lag,
      recall: [
        at(9_000, 500), // before the kill: not the fault's
        at(10_500, 500),
        at(11_000, 503),
        at(11_500, 0),
        at(12_000, 200, { degraded: true, source: 'popular' }),
        at(14_200, 200, { source: 'personal', degraded: true, modelVersion: 'v1' }),
        at(14_800, 200, { source: 'personal', modelVersion: 'v1' }),
        at(17_000, 200, { source: 'personal', modelVersion: 'v0' }),
      ],
      audit: clean,
      versions: ['v1'],
    });
    expect(r).toMatchObject({
      recall_5xx: 1,
      recall_503: 1,
      recall_unanswered: 1,
      recall_degraded: 2,
      recall_answers: 8,
      personal_back_s: 0.8,
      mixed_versions: 1,
      recovery_s: 5,
      restart_s: 4,
      retried: 200,
      lost: 0,
      doubled: 0,
    });
    expect(reportRecords([r])[0]).toMatchObject({ fault: 'redis', 'recall 5xx': 1, 'personal back s': 0.8 });
  });
});
