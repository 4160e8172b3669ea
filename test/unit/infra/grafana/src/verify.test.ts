import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  metricNames,
  ruleExpressions,
  seriesNamesOf,
  substitute,
} from '../../../../../infra/grafana/src/verify.js';

describe('dashboard checks', () => {
  it('finds the metric names of an expression, not functions, labels or recording rules', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(towerflow_recall_seconds_bucket{job="towerflow",le="0.05"}[5m]))) / clamp_min(sum(rate(up{job="x"}[1m])), 1) or vector(0) + towerflow:slo:ratio_rate5m{a="b"}',
      ).sort(),
    ).toEqual(['towerflow_recall_seconds_bucket', 'up']);
    expect(
      metricNames('time() - max(towerflow_model_live_published_timestamp_seconds{stack=~"$stack"})'),
    ).toEqual(['towerflow_model_live_published_timestamp_seconds']);
  });

  it('knows a described metric family by its series names, a histogram’s buckets, count and sum too', () => {
    expect(
      seriesNamesOf({
        towerflow_experiment_events_total: [{ type: 'counter' }],
        towerflow_experiment_hit_position: [{ type: 'histogram' }],
      }),
    ).toEqual([
      'towerflow_experiment_events_total',
      'towerflow_experiment_hit_position',
      'towerflow_experiment_hit_position_bucket',
      'towerflow_experiment_hit_position_count',
      'towerflow_experiment_hit_position_sum',
    ]);
  });

  it('substitutes the dashboard variables', () => {
    expect(substitute('x{stack=~"$stack",role=~"$role"}[$__rate_interval]', 'ab')).toBe(
      'x{stack=~"ab",role=~".*"}[1m]',
    );
  });

  it('reads rule expressions, folded or on one line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'rules-')), 'r.yml');
    writeFileSync(
      f,
      [
        'groups:',
        '  - name: g',
        '    rules:',
        '      - record: a:b',
        '        expr: sum(rate(x_total[5m]))',
        '      - alert: A',
        '        expr: |',
        '          up{job="kafka"} == 0',
        '          and on() vector(1)',
        '        for: 1m',
      ].join('\n'),
    );
    expect(ruleExpressions([f])).toEqual([
      'sum(rate(x_total[5m]))',
      'up{job="kafka"} == 0 and on() vector(1)',
    ]);
  });
});
