import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../../config/index.js';
import { generatedDashboards } from '../../../../../infra/grafana/src/generate.js';
import { panelsOf } from '../../../../../infra/grafana/src/panels.js';

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
