import type { RecordedAnswer } from '../stores/answers/index.js';
import { seenHash } from '../stores/seen/keys.js';

/** One behaviour event as attribution needs it. */
export interface AttributedEvent {
  user_id: string;
  item_id: string;
  /** Unix ms. */
  ts: number;
}

/** One event that followed an answer within the window: which answer, and where its item stood. */
export interface Attribution {
  version: string;
  source: string;
  /** 1-based rank of the event's item in the recorded answer; undefined: not in it (a miss). */
  rank: number | undefined;
}

/**
 * The online hit rate's unit: each event of a user whose last recall answer came at most
 * `windowMs` before it (and not after it) counts once for that answer's version and source,
 * as a hit when its item was in the answer. Events with no such answer are not counted.
 */
export function attribute(
  events: readonly AttributedEvent[],
  answers: ReadonlyMap<string, RecordedAnswer>,
  windowMs: number,
): Attribution[] {
  const out: Attribution[] = [];
  const ranks = new Map<RecordedAnswer, Map<number, number>>();
  for (const e of events) {
    const a = answers.get(e.user_id);
    if (!a || e.ts < a.ts || e.ts > a.ts + windowMs) continue;
    let byHash = ranks.get(a);
    if (!byHash) {
      byHash = new Map();
      // the first occurrence wins: an answer lists an item once, a hash collision keeps the better rank
      a.items.forEach((h, i) => {
        if (!byHash?.has(h)) byHash?.set(h, i + 1);
      });
      ranks.set(a, byHash);
    }
    out.push({ version: a.version, source: a.source, rank: byHash.get(seenHash(e.item_id)) });
  }
  return out;
}
