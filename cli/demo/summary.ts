import type { BatchReport } from '../../batch/job.js';
import type { VerifyReport } from '../../infra/grafana/src/verify.js';
import type { Dataset } from '../../model/data/types.js';
import type { ReplayResult } from '../../replay/run.js';
import type { DemoExperiment } from './experiment.js';
import type { FreshnessReport } from './freshness.js';
import type { OnlineReport } from './online.js';
import { HEAVY_HISTORY, metricsTable, type QualityReport } from './quality.js';
import type { StepReport } from './steps.js';

/** The demo's result lines and its JSON summary, from the steps' reports (no I/O). */

export const hr = (m: Record<string, number> | undefined, k = 'HR@50') => (m?.[k] ?? Number.NaN).toFixed(3);

const count = (n: number) => n.toLocaleString('en-US');

export function replayLine(res: ReplayResult, datasetEvents: number): string {
  return `${res.items} items, ${res.users} user profiles and ${count(res.events)} events${res.idOnly.events > 0 ? ` (${count(res.idOnly.events)} of them on ${res.idOnly.items} items without a profile)` : ''} (all but each user's last of ${count(datasetEvents)}) posted in time order (${count(Math.round(res.eventsPerSecond))} events/s accepted)`;
}

export function dailyJobLine(res: BatchReport): string {
  return `published ${res.version} (${count(res.vectors.rows)} item vectors in ${res.collection}); the job's own held-out HR@50 (each user's last event of its window): two-tower ${hr(res.metrics.candidate)}, popularity ${hr(res.metrics.popularity)}${res.metrics.live ? `, previous version ${hr(res.metrics.live)}` : ''}`;
}

/** The served / offline / popularity table said during the quality step, indented. */
export function qualityTable(q: QualityReport): string {
  return `\n  each user's held-out last interaction, ${q.users} users (DESIGN.md §6): GET /v1/recall?user_id=U&k=100&at=T as a client asks, next to the same version ranked exactly offline\n${metricsTable(
    [
      ['served (/v1/recall)', q.served],
      ['offline (same version)', q.offline],
      ['popularity', q.popularity],
    ],
  )
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

export function historyLine(q: QualityReport): string {
  const g = q.byHistory;
  return `  HR@50 of the ${g.heavy.users} users with more than ${HEAVY_HISTORY} training items: served ${g.heavy.served.toFixed(3)}, offline ${g.heavy.offline.toFixed(3)}; of the other ${g.others.users}: served ${g.others.served.toFixed(3)}, offline ${g.others.offline.toFixed(3)}\n`;
}

export function qualityLine(q: QualityReport): string {
  const mix = Object.entries(q.sources)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return `HR@50 served ${hr(q.served)}, offline ${hr(q.offline)} (same version, same split), popularity ${hr(q.popularity)}; ${(q.agreement.identicalTop50 * 100).toFixed(1)} % of users get exactly the offline top 50, ${(q.agreement.meanOverlap50 * 100).toFixed(1)} % overlap on average (${mix}; ${q.versions.join(', ')}; request p50 ${q.latencyMs.p50.toFixed(0)} ms, p99 ${q.latencyMs.p99.toFixed(0)} ms)`;
}

export function onlineLine(res: OnlineReport): string {
  return `posted the ${res.posted} held-out interactions; the sequence processor attributed ${res.events} to the answer each user got before: online hit rate ${res.hitRate.toFixed(3)} (HR@100, the answers had 100 items), HR@50 ${res.hr50.toFixed(3)} (towerflow_online_hits_total / towerflow_online_events_total)`;
}

export function freshnessLine(user: string, f: FreshnessReport): string {
  return `user ${user} clicked their top item: in HBase and Redis ${f.storedMs.toFixed(0)} ms after the 202, recall answer changed after ${f.changedMs.toFixed(0)} ms`;
}

const signedPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : '-');

export function experimentLine(e: DemoExperiment): string {
  const r = e.report;
  const arm = (name: string) => r.arms.find((a) => a.name === name);
  const side = (name: string, label: string) => {
    const a = arm(name);
    return `${label} ${a?.model_version} ${a?.users ?? 0} users, hit rate ${(a?.hit_rate ?? Number.NaN).toFixed(3)}`;
  };
  return `${e.name}: ${e.users} simulated users asked recall and posted their next ${e.posted.toLocaleString('en-US')} interactions; ${side('control', "yesterday's")} against ${side('candidate', "today's")}; lift ${signedPct(r.lift)}, 95 % CI [${signedPct(r.ci_low)}, ${signedPct(r.ci_high)}]; sample ratio p ${r.srm_p < 0.001 ? r.srm_p.toExponential(2) : r.srm_p.toFixed(3)}${r.srm_mismatch ? ' (MISMATCH)' : ''}; ${r.recommendation}: ${r.reason}`;
}

/** `outDir` and `pictures` relative to the project root. */
export function dashboardsLine(v: VerifyReport, outDir: string, pictures: number): string {
  const empty = v.empty.map((e) => `${e.dashboard} / ${e.panel}`);
  return `${v.dashboards} dashboards, ${v.panels} panels, ${v.queries} queries: ${v.queries - v.empty.length - v.emptyWhenHealthy.length - v.errors.length} with data${empty.length ? `; no data yet (this run produced no such event): ${[...new Set(empty)].join('; ')}` : ''}${v.missingMetrics.length ? `; unknown metrics: ${v.missingMetrics.join(', ')}` : ''}; pictures in ${outDir}/ (${pictures} PNG)`;
}

/** What the steps returned, for the JSON summary. */
export interface DemoOutcome {
  dataset: string;
  seconds: number;
  full: Dataset;
  replayed: ReplayResult;
  job: BatchReport;
  quality: QualityReport;
  online: OnlineReport;
  freshness: FreshnessReport;
  dashboards: VerifyReport & { pictures: string[] };
  steps: StepReport[];
  rssBytes: number;
  /** With --experiment: yesterday's model against today's on simulated users. */
  experiment?: DemoExperiment;
}

export function demoJson(o: DemoOutcome): Record<string, unknown> {
  const { full, replayed, job, quality, online, freshness, dashboards } = o;
  return {
    dataset: o.dataset,
    seconds: Number(o.seconds.toFixed(1)),
    users: quality.users,
    events_in_dataset: full.interactions.length,
    events_posted: replayed.events + online.posted + (o.experiment?.posted ?? 0),
    served: quality.served,
    offline: quality.offline,
    popularity: quality.popularity,
    agreement: quality.agreement,
    by_history: quality.byHistory,
    sources: quality.sources,
    model_version: job.version,
    daily_job: { candidate: job.metrics.candidate, popularity: job.metrics.popularity },
    online: { events: online.events, hits: online.hits, hit_rate: online.hitRate, 'HR@50': online.hr50 },
    freshness: {
      stored_ms: Math.round(freshness.storedMs),
      recall_changed_ms: Math.round(freshness.changedMs),
    },
    skipped: full.skipped,
    id_only: full.idOnly
      ? {
          items: full.idOnly.items.length,
          interactions: full.idOnly.interactions,
          posted: replayed.idOnly.events,
        }
      : { items: 0, interactions: 0, posted: 0 },
    dashboards: {
      panels: dashboards.panels,
      queries: dashboards.queries,
      empty: dashboards.empty.length,
      errors: dashboards.errors.length,
      pictures: dashboards.pictures,
    },
    steps: o.steps,
    services_rss_bytes: o.rssBytes,
    // the experiment's report as `experiment report --json` gives it, and what the users posted
    ...(o.experiment
      ? {
          experiment: {
            ...o.experiment.report,
            users_simulated: o.experiment.users,
            posted: o.experiment.posted,
          },
        }
      : {}),
  };
}
