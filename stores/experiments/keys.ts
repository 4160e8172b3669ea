import { redisKey } from '../../clients/keys.js';

// Redis keys of experiment results, per experiment, arm and UTC day (yyyymmdd): a report reads
// every day the experiment ran, so results survive restarts of every process.

/** SET of the days an experiment has results for (the report's index). */
export const daysKey = (experiment: string): string => redisKey('exp', 'days', experiment);

/** SET of users an arm exposed on a day. */
export const exposedKey = (experiment: string, arm: string, day: string): string =>
  redisKey('exp', 'x', experiment, arm, day);

/** HASH of an arm's attributed counts on a day: `e|{user}` events, `h|{user}` hits, `p|{bucket}` hit positions. */
export const countsKey = (experiment: string, arm: string, day: string): string =>
  redisKey('exp', 'n', experiment, arm, day);

/** yyyymmdd of a Unix-ms time, UTC. */
export const dayOf = (ts: number): string => new Date(ts).toISOString().slice(0, 10).replaceAll('-', '');
