import type { Config } from '../../config/index.js';
import type { Dataset, Interaction } from '../../model/data/types.js';
import type { IngestClient } from '../../replay/client.js';
import { behaviourEvents } from '../../replay/events.js';
import { PROCESSOR_NAMES } from '../../streams/runtime.js';
import { sumSamples } from './metrics-text.js';

export interface OnlineCounts {
  events: number;
  hits: number;
  /** Hits at rank ≤ 50 (the rank histogram's le="50" bucket). */
  hitsAt50: number;
}

/** The sequence processor's online hit-rate counters for one model version, as it serves them now. */
export async function readOnlineCounts(cfg: Config, version: string): Promise<OnlineCounts> {
  const port = cfg.streamMetricsPortBase + PROCESSOR_NAMES.indexOf('sequence');
  const res = await fetch(`http://${cfg.bindHost}:${port}/metrics`);
  if (!res.ok) throw new Error(`the sequence processor's /metrics answered ${res.status}`);
  const text = await res.text();
  const v = { model_version: version };
  return {
    events: sumSamples(text, 'towerflow_online_events_total', v),
    hits: sumSamples(text, 'towerflow_online_hits_total', v),
    hitsAt50: sumSamples(text, 'towerflow_online_hit_rank_bucket', { ...v, le: '50' }),
  };
}

export interface OnlineReport {
  posted: number;
  events: number;
  hits: number;
  /** hits / events: HR@100 online, since the demo asked for 100 items. */
  hitRate: number;
  hr50: number;
}

/**
 * The held-out interactions happen after the answers the quality step got for them: posted
 * through the ingest API, each is attributed by the sequence processor to the user's last
 * answer, and the online hit rate is read back from its counters.
 */
export async function postHeldOut(
  cfg: Config,
  client: IngestClient,
  full: Dataset,
  heldOut: Interaction[],
  version: string,
  waitForLag: () => Promise<void>,
): Promise<OnlineReport> {
  const before = await readOnlineCounts(cfg, version);
  const events = behaviourEvents(full, heldOut);
  for (let i = 0; i < events.length; i += 1000) await client.post('/v1/events', events.slice(i, i + 1000));
  await waitForLag();
  const after = await readOnlineCounts(cfg, version);
  const n = after.events - before.events;
  return {
    posted: events.length,
    events: n,
    hits: after.hits - before.hits,
    hitRate: n > 0 ? (after.hits - before.hits) / n : Number.NaN,
    hr50: n > 0 ? (after.hitsAt50 - before.hitsAt50) / n : Number.NaN,
  };
}
