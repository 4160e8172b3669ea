import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../../config/index.js';
import { generatedDashboards } from '../../../../../infra/grafana/src/generate.js';
import { panelsOf } from '../../../../../infra/grafana/src/panels.js';
import { formatValue } from '../../../../../infra/grafana/src/render.js';
import { metricNames, ruleExpressions, substitute } from '../../../../../infra/grafana/src/verify.js';

const dir = path.join(projectRoot(), 'infra', 'grafana', 'dashboards');

describe('Grafana dashboards as code', () => {
  it('the checked-in JSON is exactly what infra/grafana/src generates (`towerflow dashboards generate`)', () => {
    const generated = generatedDashboards();
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(generated.map((d) => d.file).sort());
    for (const d of generated) expect(readFileSync(path.join(dir, d.file), 'utf8')).toBe(d.text);
  });

  it('six dashboards, each with a datasource variable, links to the others, and a unit and description on every panel', () => {
    const all = generatedDashboards();
    expect(all.map((d) => d.dashboard.uid)).toEqual([
      'towerflow-overview',
      'towerflow-ingest-streams',
      'towerflow-recall',
      'towerflow-model',
      'towerflow-embeddings',
      'towerflow-infrastructure',
    ]);
    for (const { dashboard } of all) {
      const vars = (dashboard.templating?.list ?? []).map((v) => `${v.type}:${v.name}`);
      expect(vars).toContain('datasource:datasource');
      expect(vars).toContain('query:stack');
      expect(vars).toContain('query:role');
      expect(dashboard.links?.[0]).toMatchObject({ type: 'dashboards', tags: ['towerflow'] });
      for (const p of panelsOf(dashboard)) {
        expect({ title: p.title, described: p.description.length > 10 }).toEqual({
          title: p.title,
          described: true,
        });
        expect({ title: p.title, unit: p.unit.length > 0 }).toEqual({ title: p.title, unit: true });
        expect(p.exprs.length).toBeGreaterThan(0);
        for (const e of p.exprs) if (/towerflow_/.test(e)) expect(e).toContain('stack=~"$stack"');
      }
    }
  });

  it('panels with an objective draw it as a threshold', () => {
    const overview = generatedDashboards()[0]?.dashboard;
    const latency = (overview?.panels ?? []).find((p) => p.title === 'Recall latency') as
      | { fieldConfig: { defaults: { thresholds: { steps: { value: number | null }[] } } } }
      | undefined;
    expect(latency?.fieldConfig.defaults.thresholds.steps.map((s) => s.value)).toEqual([null, 0.05]);
  });
});

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

  it('formats values with their unit as the pictures show them', () => {
    expect(formatValue(0.0123, 's')).toBe('12.3 ms');
    expect(formatValue(7200, 's')).toBe('2.0 h');
    expect(formatValue(0.987, 'percentunit')).toBe('98.7%');
    expect(formatValue(1500, 'reqps')).toBe('1.5k/s');
    expect(formatValue(3 * 2 ** 20, 'bytes')).toBe('3 MiB');
    expect(formatValue(Number.NaN, 'none')).toBe('–');
  });
});
