import { describe, expect, it } from 'vitest';
import type { BatchReport } from '../../../../batch/job.js';
import type { DemoExperiment } from '../../../../cli/demo/experiment.js';
import type { QualityReport } from '../../../../cli/demo/quality.js';
import {
  dailyJobLine,
  dashboardsLine,
  demoJson,
  experimentLine,
  freshnessLine,
  historyLine,
  hr,
  onlineLine,
  qualityLine,
  qualityTable,
  replayLine,
} from '../../../../cli/demo/summary.js';
import type { VerifyReport } from '../../../../infra/grafana/src/verify.js';
import type { Dataset } from '../../../../model/data/types.js';
import type { ReplayResult } from '../../../../replay/run.js';
import type { ExperimentReport } from '../../../../versions/experiments/report.js';

const metrics = (hr50: number) => ({
  'HR@10': 0.1,
  'HR@20': 0.2,
  'HR@50': hr50,
  'HR@100': 0.5,
  'NDCG@10': 0.05,
  'NDCG@20': 0.06,
  'NDCG@50': 0.07,
  'NDCG@100': 0.08,
});

const replayed: ReplayResult = {
  items: 9742,
  users: 610,
  events: 100_226,
  idOnly: { events: 0, items: 0 },
  seconds: 10,
  eventsPerSecond: 12_345.6,
};

const quality: QualityReport = {
  users: 610,
  served: metrics(0.3),
  offline: metrics(0.30049),
  popularity: metrics(0.1),
  agreement: { identicalTop50: 0.9512, meanOverlap50: 0.99 },
  byHistory: {
    heavy: { users: 10, served: 0.5, offline: 0.6 },
    others: { users: 600, served: 0.25, offline: 0.2549 },
  },
  sources: { personal: 600, popular: 10 },
  versions: ['v7'],
  latencyMs: { p50: 3.4, p99: 12.6 },
};

const job = {
  version: 'v7',
  collection: 'tf_items_v7',
  vectors: { rows: 9742, perSecond: 1, indexSeconds: 1 },
  metrics: { candidate: metrics(0.31), popularity: metrics(0.1) },
} as unknown as BatchReport;

const report: ExperimentReport = {
  name: 'demo-v8',
  mode: 'ab',
  state: 'running',
  share: 0.5,
  arms: [
    {
      name: 'control',
      model_version: 'v7',
      users: 300,
      events: 900,
      hits: 180,
      hit_rate: 0.2,
      positions: { '1': 20 },
    },
    {
      name: 'candidate',
      model_version: 'v8',
      users: 310,
      events: 930,
      hits: 195,
      hit_rate: 195 / 930,
      positions: {},
    },
  ],
  lift: 0.0484,
  ci_low: -0.12,
  ci_high: 0.245,
  ci_method: 'delta method on users (ratio metric), log scale',
  srm_chi2: 0.16,
  srm_p: 0.6862,
  srm_mismatch: false,
  recommendation: 'keep running',
  reason: 'the 95 % CI [-12.0 %, 24.5 %] contains zero',
};
const experiment: DemoExperiment = {
  name: 'demo-v8',
  control: 'v7',
  candidate: 'v8',
  users: 610,
  posted: 1830,
  report,
};

const verify: VerifyReport = {
  dashboards: 4,
  panels: 30,
  queries: 40,
  empty: [
    { dashboard: 'Streams', panel: 'DLQ', expr: 'a' },
    { dashboard: 'Streams', panel: 'DLQ', expr: 'b' },
  ],
  emptyWhenHealthy: [{ dashboard: 'Batch', panel: 'Failures', expr: 'c' }],
  errors: [],
  missingMetrics: ['towerflow_x'],
  ok: false,
};

describe('demo summary lines', () => {
  it('formats HR@50 with three decimals, NaN when missing', () => {
    expect(hr(metrics(0.12345))).toBe('0.123');
    expect(hr(undefined)).toBe('NaN');
  });

  it('says what the replay posted, with ID-only events only when there are some', () => {
    expect(replayLine(replayed, 100_836)).toBe(
      "9742 items, 610 user profiles and 100,226 events (all but each user's last of 100,836) posted in time order (12,346 events/s accepted)",
    );
    expect(replayLine({ ...replayed, idOnly: { events: 1500, items: 20 } }, 100_836)).toContain(
      '100,226 events (1,500 of them on 20 items without a profile) (all but',
    );
  });

  it("says the daily job's version and gate numbers, the previous version's only when there was one", () => {
    expect(dailyJobLine(job)).toBe(
      "published v7 (9,742 item vectors in tf_items_v7); the job's own held-out HR@50 (each user's last event of its window): two-tower 0.310, popularity 0.100",
    );
    const withLive = { ...job, metrics: { ...job.metrics, live: metrics(0.29) } };
    expect(dailyJobLine(withLive)).toMatch(/popularity 0\.100, previous version 0\.290$/);
  });

  it('says recall quality as a table, by history and in one result line', () => {
    expect(qualityTable(quality).split('\n')).toEqual([
      '',
      "  each user's held-out last interaction, 610 users (DESIGN.md §6): GET /v1/recall?user_id=U&k=100&at=T as a client asks, next to the same version ranked exactly offline",
      '                              HR@10    HR@20    HR@50   HR@100  NDCG@10  NDCG@50',
      '  served (/v1/recall)        0.1000   0.2000   0.3000   0.5000   0.0500   0.0700',
      '  offline (same version)     0.1000   0.2000   0.3005   0.5000   0.0500   0.0700',
      '  popularity                 0.1000   0.2000   0.1000   0.5000   0.0500   0.0700',
      '',
    ]);
    expect(historyLine(quality)).toBe(
      '  HR@50 of the 10 users with more than 400 training items: served 0.500, offline 0.600; of the other 600: served 0.250, offline 0.255\n',
    );
    expect(qualityLine(quality)).toBe(
      'HR@50 served 0.300, offline 0.300 (same version, same split), popularity 0.100; 95.1 % of users get exactly the offline top 50, 99.0 % overlap on average (600 personal, 10 popular; v7; request p50 3 ms, p99 13 ms)',
    );
  });

  it('says the online hit rate and freshness', () => {
    expect(onlineLine({ posted: 610, events: 600, hits: 90, hitRate: 0.15, hr50: 0.1 })).toBe(
      'posted the 610 held-out interactions; the sequence processor attributed 600 to the answer each user got before: online hit rate 0.150 (HR@100, the answers had 100 items), HR@50 0.100 (towerflow_online_hits_total / towerflow_online_events_total)',
    );
    expect(freshnessLine('42', { user: '42', storedMs: 12.4, changedMs: 250.6, before: [] } as never)).toBe(
      'user 42 clicked their top item: in HBase and Redis 12 ms after the 202, recall answer changed after 251 ms',
    );
  });

  it("says the experiment: yesterday's and today's hit rates, the lift with its interval, the sample ratio and the recommendation", () => {
    expect(experimentLine(experiment)).toBe(
      "demo-v8: 610 simulated users asked recall and posted their next 1,830 interactions; yesterday's v7 300 users, hit rate 0.200 against today's v8 310 users, hit rate 0.210; lift +4.8 %, 95 % CI [-12.0 %, +24.5 %]; sample ratio p 0.686; keep running: the 95 % CI [-12.0 %, 24.5 %] contains zero",
    );
    expect(
      experimentLine({ ...experiment, report: { ...report, srm_p: 0.0001, srm_mismatch: true } }),
    ).toContain('sample ratio p 1.00e-4 (MISMATCH);');
  });

  it('says the dashboards with data, each empty panel once, unknown metrics and where the pictures are', () => {
    expect(dashboardsLine(verify, '.towerflow/dashboards', 4)).toBe(
      '4 dashboards, 30 panels, 40 queries: 37 with data; no data yet (this run produced no such event): Streams / DLQ; unknown metrics: towerflow_x; pictures in .towerflow/dashboards/ (4 PNG)',
    );
    expect(dashboardsLine({ ...verify, empty: [], missingMetrics: [] }, 'd', 0)).toBe(
      '4 dashboards, 30 panels, 40 queries: 39 with data; pictures in d/ (0 PNG)',
    );
  });
});

describe('demo summary JSON', () => {
  it('adds the posted events of replay and online step, and counts ID-only items', () => {
    const full = {
      interactions: new Array(100_836),
      skipped: [{ count: 2, reason: 'bad row' }],
      idOnly: { items: ['a', 'b'], interactions: 7, source: 'items.csv' },
    } as unknown as Dataset;
    const outcome = {
      dataset: 'datasets/x',
      seconds: 123.456,
      full,
      replayed: { ...replayed, idOnly: { events: 5, items: 2 } },
      job,
      quality,
      online: { posted: 610, events: 600, hits: 90, hitRate: 0.15, hr50: 0.1 },
      freshness: { user: '1', storedMs: 12.4, changedMs: 250.6, before: [] } as never,
      dashboards: { ...verify, pictures: ['p.png'] },
      steps: [],
      rssBytes: 5,
    };
    const json = demoJson(outcome);
    expect(json).toMatchObject({
      seconds: 123.5,
      events_in_dataset: 100_836,
      events_posted: 100_226 + 610,
      model_version: 'v7',
      online: { events: 600, hits: 90, hit_rate: 0.15, 'HR@50': 0.1 },
      freshness: { stored_ms: 12, recall_changed_ms: 251 },
      id_only: { items: 2, interactions: 7, posted: 5 },
      dashboards: { panels: 30, queries: 40, empty: 2, errors: 0, pictures: ['p.png'] },
      services_rss_bytes: 5,
    });
    expect(demoJson({ ...outcome, full: { ...full, idOnly: undefined } }).id_only).toEqual({
      items: 0,
      interactions: 0,
      posted: 0,
    });
    // without --experiment the JSON has no such key
    expect(Object.keys(json)).not.toContain('experiment');
  });

  it('carries the experiment’s report as `experiment`, and counts what its users posted', () => {
    const outcome = {
      dataset: 'datasets/x',
      seconds: 1,
      full: { interactions: new Array(102_666), skipped: [] } as unknown as Dataset,
      replayed,
      job,
      quality,
      online: { posted: 610, events: 600, hits: 90, hitRate: 0.15, hr50: 0.1 },
      freshness: { user: '1', storedMs: 12.4, changedMs: 250.6, before: [] } as never,
      dashboards: { ...verify, pictures: [] },
      steps: [],
      rssBytes: 5,
      experiment,
    };
    const json = demoJson(outcome);
    expect(json.events_posted).toBe(100_226 + 610 + 1830);
    expect(json.experiment).toEqual({ ...report, users_simulated: 610, posted: 1830 });
    const e = json.experiment as ExperimentReport;
    expect(e.arms.map((a) => [a.name, a.model_version, a.users, a.events, a.hit_rate])).toEqual([
      ['control', 'v7', 300, 900, 0.2],
      ['candidate', 'v8', 310, 930, 195 / 930],
    ]);
    expect([e.lift, e.ci_low, e.ci_high, e.srm_p]).toEqual([0.0484, -0.12, 0.245, 0.6862]);
  });
});
