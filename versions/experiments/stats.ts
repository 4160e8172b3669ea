// Statistics of an experiment report: the online hit rate per arm as a ratio metric (hits over
// events, users as the randomisation unit), its relative lift with a delta-method interval, and
// the sample-ratio-mismatch test. Pure functions over per-user counts.

/** One user's counts in one arm: attributed behaviour events and those whose item was shown. */
export interface UserCounts {
  events: number;
  hits: number;
}

/** Sufficient statistics of a ratio metric over users: n, Σx, Σy, Σx², Σy², Σxy (x hits, y events). */
export interface RatioMoments {
  users: number;
  hits: number;
  events: number;
  hits2: number;
  events2: number;
  cross: number;
}

export const emptyMoments = (): RatioMoments => ({
  users: 0,
  hits: 0,
  events: 0,
  hits2: 0,
  events2: 0,
  cross: 0,
});

export function momentsOf(users: Iterable<UserCounts>): RatioMoments {
  const m = emptyMoments();
  for (const u of users) {
    m.users++;
    m.hits += u.hits;
    m.events += u.events;
    m.hits2 += u.hits * u.hits;
    m.events2 += u.events * u.events;
    m.cross += u.hits * u.events;
  }
  return m;
}

/** Hits over events (0 with no events). */
export const hitRate = (m: RatioMoments): number => (m.events > 0 ? m.hits / m.events : 0);

/**
 * Variance of the hit rate Σx/Σy across users by the delta method (Deng, Knoblich & Lu 2018,
 * "Applying the Delta Method in Metric Analytics"): users, not events, are independent, so a
 * heavy user's correlated events do not count as independent trials.
 */
export function ratioVariance(m: RatioMoments): number {
  const n = m.users;
  if (n < 2 || m.events === 0) return Number.NaN;
  const mx = m.hits / n;
  const my = m.events / n;
  const vx = (m.hits2 - n * mx * mx) / (n - 1);
  const vy = (m.events2 - n * my * my) / (n - 1);
  const cxy = (m.cross - n * mx * my) / (n - 1);
  return (vx / (my * my) - (2 * mx * cxy) / my ** 3 + (mx * mx * vy) / my ** 4) / n;
}

export interface Lift {
  /** candidate / control − 1 */
  lift: number;
  ciLow: number;
  ciHigh: number;
}

const Z95 = 1.959963984540054;

/**
 * Relative lift of the candidate's hit rate over the control's with a 95 % interval. The
 * interval is built on log(rate ratio), whose variance is Var(r_t)/r_t² + Var(r_c)/r_c² (the
 * arms are independent), and mapped back: it stays above −100 % and is asymmetric as a ratio
 * should be. NaN bounds when either arm has fewer than two users or no hit.
 */
export function relativeLift(control: RatioMoments, candidate: RatioMoments): Lift {
  const rc = hitRate(control);
  const rt = hitRate(candidate);
  const lift = rc > 0 ? rt / rc - 1 : Number.NaN;
  const v = ratioVariance(candidate) / (rt * rt) + ratioVariance(control) / (rc * rc);
  if (!(rc > 0 && rt > 0 && Number.isFinite(v))) return { lift, ciLow: Number.NaN, ciHigh: Number.NaN };
  const logRatio = Math.log(rt / rc);
  const half = Z95 * Math.sqrt(v);
  return { lift, ciLow: Math.exp(logRatio - half) - 1, ciHigh: Math.exp(logRatio + half) - 1 };
}

/**
 * Complementary error function, |error| < 1.2e-7 everywhere (Numerical Recipes' erfcc,
 * a Chebyshev fit): enough for p-values compared with 0.001.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export interface SampleRatio {
  chi2: number;
  /** P(χ²₁ ≥ chi2): the chance of a split at least this uneven if assignment works. */
  p: number;
  /** p below the threshold: the arms did not get the users the design gives them. */
  mismatch: boolean;
}

/** The usual threshold for a sample-ratio mismatch: strict, since the test runs continuously. */
export const SRM_THRESHOLD = 0.001;

/**
 * Chi-square goodness of fit of users per arm against the designed shares (two arms: one degree
 * of freedom, whose upper tail is erfc(√(χ²/2))).
 */
export function sampleRatio(
  controlUsers: number,
  candidateUsers: number,
  candidateShare: number,
): SampleRatio {
  const n = controlUsers + candidateUsers;
  if (n === 0 || !(candidateShare > 0 && candidateShare < 1)) return { chi2: 0, p: 1, mismatch: false };
  const expT = n * candidateShare;
  const expC = n - expT;
  const chi2 = (candidateUsers - expT) ** 2 / expT + (controlUsers - expC) ** 2 / expC;
  const p = erfc(Math.sqrt(chi2 / 2));
  return { chi2, p, mismatch: p < SRM_THRESHOLD };
}

export type Recommendation = 'keep running' | 'promote' | 'abort';

export interface Decision {
  recommendation: Recommendation;
  reason: string;
}

/** Users each arm needs before the interval is taken at its word. */
export const MIN_USERS_PER_ARM = 100;

/**
 * What to do next: a sample-ratio mismatch means the numbers cannot be trusted (abort and fix
 * the assignment or the logging); otherwise promote when the whole interval is above zero,
 * abort when it is below, keep running while it straddles zero or an arm is small.
 */
export function recommend(
  control: RatioMoments,
  candidate: RatioMoments,
  lift: Lift,
  srm: SampleRatio,
): Decision {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  if (srm.mismatch)
    return {
      recommendation: 'abort',
      reason: `sample-ratio mismatch (p = ${srm.p.toExponential(2)} < ${SRM_THRESHOLD}): users are not split as designed, so the lift cannot be trusted; check the assignment and the exposure logging`,
    };
  const small = Math.min(control.users, candidate.users);
  if (small < MIN_USERS_PER_ARM)
    return {
      recommendation: 'keep running',
      reason: `${small} users in the smaller arm; ${MIN_USERS_PER_ARM} needed`,
    };
  if (!Number.isFinite(lift.ciLow))
    return { recommendation: 'keep running', reason: 'no hits yet in an arm: the lift is not defined' };
  if (lift.ciLow > 0)
    return {
      recommendation: 'promote',
      reason: `the candidate's hit rate is higher: lift ${pct(lift.lift)}, 95 % CI [${pct(lift.ciLow)}, ${pct(lift.ciHigh)}] excludes zero`,
    };
  if (lift.ciHigh < 0)
    return {
      recommendation: 'abort',
      reason: `the candidate's hit rate is lower: lift ${pct(lift.lift)}, 95 % CI [${pct(lift.ciLow)}, ${pct(lift.ciHigh)}] excludes zero`,
    };
  return {
    recommendation: 'keep running',
    reason: `the 95 % CI [${pct(lift.ciLow)}, ${pct(lift.ciHigh)}] contains zero`,
  };
}
