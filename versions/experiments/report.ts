import type { ArmResults } from '../../stores/experiments/index.js';
import { ARMS, type Arm } from './assign.js';
import { type ExperimentDefinition, versionOfArm } from './definition.js';
import {
  type Decision,
  hitRate,
  momentsOf,
  type RatioMoments,
  recommend,
  relativeLift,
  sampleRatio,
} from './stats.js';

export interface ArmReport {
  name: Arm;
  model_version: string;
  /** Users the arm exposed (the randomisation unit, and the sample-ratio test's counts). */
  users: number;
  /** Behaviour events attributed to the arm's exposures, and those whose item was exposed. */
  events: number;
  hits: number;
  hit_rate: number;
  positions: Record<string, number>;
  latency_ms?: { p50: number; p99: number };
}

export interface ExperimentReport {
  name: string;
  mode: ExperimentDefinition['mode'];
  state: ExperimentDefinition['state'];
  share: number;
  arms: ArmReport[];
  /** candidate hit rate / control hit rate − 1, with its 95 % interval. */
  lift: number;
  ci_low: number;
  ci_high: number;
  /** How the interval was computed. */
  ci_method: 'delta method on users (ratio metric), log scale';
  srm_chi2: number;
  srm_p: number;
  srm_mismatch: boolean;
  recommendation: Decision['recommendation'];
  reason: string;
}

/** Moments over every exposed user: those without attributed events count as (0, 0). */
function armMoments(r: ArmResults | undefined): RatioMoments {
  const m = momentsOf(r?.users.values() ?? []);
  m.users = Math.max(m.users, r?.exposedUsers ?? 0);
  return m;
}

/** The report of an experiment from its stored results (and latency per arm when known). */
export function buildReport(
  def: ExperimentDefinition,
  results: Map<string, ArmResults>,
  latency: Partial<Record<Arm, { p50: number; p99: number }>> = {},
): ExperimentReport {
  const moments = new Map(ARMS.map((arm) => [arm, armMoments(results.get(arm))]));
  const control = moments.get('control') as RatioMoments;
  const candidate = moments.get('candidate') as RatioMoments;
  const lift = relativeLift(control, candidate);
  const srm = sampleRatio(control.users, candidate.users, def.share);
  const decision = recommend(control, candidate, lift, srm);
  return {
    name: def.name,
    mode: def.mode,
    state: def.state,
    share: def.share,
    arms: ARMS.map((arm) => {
      const m = moments.get(arm) as RatioMoments;
      const l = latency[arm];
      return {
        name: arm,
        model_version: versionOfArm(def, arm),
        users: m.users,
        events: m.events,
        hits: m.hits,
        hit_rate: hitRate(m),
        positions: Object.fromEntries(results.get(arm)?.positions ?? []),
        ...(l ? { latency_ms: l } : {}),
      };
    }),
    lift: lift.lift,
    ci_low: lift.ciLow,
    ci_high: lift.ciHigh,
    ci_method: 'delta method on users (ratio metric), log scale',
    srm_chi2: srm.chi2,
    srm_p: srm.p,
    srm_mismatch: srm.mismatch,
    recommendation: decision.recommendation,
    reason: decision.reason,
  };
}
