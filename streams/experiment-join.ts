import type { Attribution } from '../stores/experiments/index.js';
import type { RecentExposure } from '../stores/experiments/recent.js';

// The experiments processor's join (DESIGN.md §9), as pure functions: behaviour events against
// the exposures their users got in the window before each event.

/** One behaviour event as the join needs it. */
export interface JoinedEvent {
  offset: number;
  user_id: string;
  item_id: string;
  /** Event time, Unix ms. */
  ts: number;
}

/**
 * Per event, one attribution for each (experiment, arm) of which the user got an exposure at most
 * `windowMs` before the event (and not after it): a hit when the event's item was among that
 * arm's exposed items, at its 1-based position in the most recent such exposure (the list the
 * user saw last), else a miss (position 0). Events without such an exposure are not counted.
 * Output in event order, so offsets ascend as the store's fence needs.
 */
export function joinExposures(
  events: readonly JoinedEvent[],
  exposures: ReadonlyMap<string, readonly RecentExposure[]>,
  windowMs: number,
): Attribution[] {
  const out: Attribution[] = [];
  for (const e of events) {
    const mine = exposures.get(e.user_id);
    if (!mine) continue;
    // (experiment, arm) → the position of the item in the newest exposure that holds it
    const arms = new Map<string, { experiment: string; arm: string; newest: number; position: number }>();
    for (const x of mine) {
      if (x.ts > e.ts || e.ts - x.ts > windowMs) continue;
      const key = `${x.experiment}\0${x.arm}`;
      const a = arms.get(key) ?? { experiment: x.experiment, arm: x.arm, newest: -1, position: 0 };
      arms.set(key, a);
      const at = x.items.indexOf(e.item_id);
      if (at >= 0 && x.ts > a.newest) {
        a.newest = x.ts;
        a.position = at + 1;
      }
    }
    for (const a of arms.values())
      out.push({
        offset: e.offset,
        experiment: a.experiment,
        arm: a.arm,
        user_id: e.user_id,
        ts: e.ts,
        position: a.position,
      });
  }
  return out;
}

/** Per user, their latest event time and the span of exposure times the join may need for these events. */
export function joinSpans(
  events: readonly JoinedEvent[],
  windowMs: number,
): Map<string, { latest: number; from: number; to: number }> {
  const out = new Map<string, { latest: number; from: number; to: number }>();
  for (const e of events) {
    const s = out.get(e.user_id);
    if (!s) out.set(e.user_id, { latest: e.ts, from: e.ts - windowMs, to: e.ts });
    else {
      s.latest = Math.max(s.latest, e.ts);
      s.from = Math.min(s.from, e.ts - windowMs);
      s.to = s.latest;
    }
  }
  return out;
}

/**
 * An exposure arrived late: an event of its user within the window after it had been joined
 * already (the user's latest joined event time, read atomically with the exposure's write, says
 * so), so that event was not attributed to it. A lower bound when the user has several events:
 * a later one past the window hides an earlier one inside it.
 */
export const arrivedLate = (exposureTs: number, lastEventTs: number | undefined, windowMs: number): boolean =>
  lastEventTs !== undefined && lastEventTs >= exposureTs && lastEventTs - exposureTs <= windowMs;
