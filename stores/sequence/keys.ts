import { redisKey } from '../../clients/keys.js';
import type { SequenceEntry } from './index.js';

export type { SequenceEntry };

// Redis layout of the recent-behaviour state (DESIGN.md §4). Every variable part is a validated id.

/** ZSET of a user's latest events: score ts, member `event_id \t item_id \t type`. */
export const sequenceKey = (userId: string): string => redisKey('seq', userId);

const SEP = '\t';

/** Members start with the event id so that ZSET ties (same ts) order like stores/order.ts. */
export const sequenceMember = (e: SequenceEntry): string => [e.event_id, e.item_id, e.type].join(SEP);

export function parseSequenceMember(member: string, score: number): SequenceEntry {
  const [event_id = '', item_id = '', type = ''] = member.split(SEP);
  return { event_id, item_id, type, ts: score };
}
