import { describe, expect, it } from 'vitest';
import { pct, reportText } from '../../../../cli/output/experiment-report.js';
import type { ExperimentReport } from '../../../../versions/experiments/report.js';

const report: ExperimentReport = {
  name: 'promo',
  mode: 'ab',
  state: 'running',
  share: 0.5,
  arms: [
    {
      name: 'control',
      model_version: 'v20240101-000000',
      users: 119,
      events: 357,
      hits: 45,
      hit_rate: 45 / 357,
      positions: {},
      latency_ms: { p50: 4.1, p99: 20 },
    },
    {
      name: 'candidate',
      model_version: 'v20240102-000000',
      users: 121,
      events: 363,
      hits: 14,
      hit_rate: 14 / 363,
      positions: {},
    },
  ],
  lift: -0.694,
  ci_low: -0.829,
  ci_high: -0.453,
  ci_method: 'delta method on users (ratio metric), log scale',
  srm_chi2: 0.0167,
  srm_p: 0.8973,
  srm_mismatch: false,
  recommendation: 'abort',
  reason: 'the candidate’s hit rate is lower',
};

describe('experiment report text', () => {
  it('prints the arms as a table, the lift with its interval, the sample-ratio test and the recommendation', () => {
    expect(reportText(report).split('\n')).toEqual([
      'promo (ab, running, candidate share 50.00 %)',
      'arm        model_version     users  events  hits  hit_rate  p50_ms  p99_ms',
      'control    v20240101-000000    119     357    45  12.61 %      4.1      20',
      'candidate  v20240102-000000    121     363    14  3.86 %         -       -',
      'lift -69.40 %, 95 % CI [-82.90 %, -45.30 %] (delta method on users (ratio metric), log scale)',
      'sample ratio: chi² 0.02, p 0.897',
      'recommendation: abort (the candidate’s hit rate is lower)',
    ]);
  });

  it('flags a mismatch, and says when no arm has latency', () => {
    const text = reportText({
      ...report,
      arms: report.arms.map(({ latency_ms: _, ...a }) => a),
      srm_chi2: 16,
      srm_p: 6.334e-5,
      srm_mismatch: true,
    });
    expect(text).toContain('sample ratio: chi² 16.00, p 0.0000633 — MISMATCH');
    expect(text.split('\n').at(-1)).toBe('latency: not in Prometheus (no recall API reported it)');
    expect([pct(0.5), pct(Number.NaN)]).toEqual(['50.00 %', '-']);
  });
});
