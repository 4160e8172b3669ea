import type { Exposure } from '../schemas/exposure.js';
import { type Arm, armOf } from '../versions/experiments/assign.js';
import { type ExperimentDefinition, versionOfArm } from '../versions/experiments/definition.js';
import type { RecallResponse } from './recall.js';

// Which version answers a request while an experiment runs (DESIGN.md §9), and what the
// exposure log records of the answer.

/** How one request is served. */
export interface Route {
  /** The experiment the answer belongs to; null outside one (and for a shadow experiment's live answers). */
  experiment: string | null;
  arm: Arm | null;
  /** The version that answers; undefined: the live pointer's, read by the request. */
  version?: string;
  /** A candidate version computed in the shadow of this answer, never returned. */
  shadow?: string;
  /** The arm was chosen by the `arm` override (debugging), not by the user's assignment. */
  forced: boolean;
}

/** The route of a request, or why its `arm` override cannot be honoured. */
export type Routing = { ok: true; route: Route } | { ok: false; message: string };

/**
 * Routes one request. A/B: the user's sticky arm (armOf) and that arm's version, every request
 * of the user alike. Shadow: the control answers everybody; a `share` of requests (`sample`,
 * uniform in [0, 1)) also has the candidate computed in its shadow. An override picks the arm
 * in either mode, and needs a running experiment.
 */
export function routeOf(
  d: ExperimentDefinition | undefined,
  userId: string,
  override: Arm | undefined,
  sample: number,
): Routing {
  if (!d) {
    if (override)
      return { ok: false, message: 'arm: no experiment is running, so there is no arm to choose' };
    return { ok: true, route: { experiment: null, arm: null, forced: false } };
  }
  if (override)
    return {
      ok: true,
      route: { experiment: d.name, arm: override, version: versionOfArm(d, override), forced: true },
    };
  if (d.mode === 'ab') {
    const arm = armOf(d.name, d.share, userId);
    return { ok: true, route: { experiment: d.name, arm, version: versionOfArm(d, arm), forced: false } };
  }
  return {
    ok: true,
    route: {
      experiment: null,
      arm: null,
      version: d.control,
      ...(sample < d.share ? { shadow: d.candidate } : {}),
      forced: false,
    },
  };
}

/** The exposure contract's bound on items (RECALL_MAX_K may be set higher). */
const MAX_EXPOSED_ITEMS = 1000;

/**
 * The exposure of one returned answer. A forced arm is debugging traffic: recorded, but outside
 * the experiment (experiment and arm null), so an operator's look at the candidate never counts
 * as a user of its arm.
 */
export function exposureOf(requestId: string, res: RecallResponse, route: Route, ts: number): Exposure {
  return {
    request_id: requestId,
    user_id: res.user_id,
    experiment: route.forced ? null : route.experiment,
    arm: route.forced ? null : route.arm,
    model_version: res.model_version,
    source: res.source,
    items: res.items.slice(0, MAX_EXPOSED_ITEMS).map((i) => i.item_id),
    ts,
  };
}

/** |top-K of a ∩ top-K of b| / K, K the answer's size asked for (k): overlap@K of two answers. */
export function overlapAtK(a: readonly string[], b: readonly string[], k: number): number {
  if (k <= 0) return 0;
  const top = new Set(a.slice(0, k));
  let n = 0;
  for (const id of new Set(b.slice(0, k))) if (top.has(id)) n++;
  return n / k;
}
