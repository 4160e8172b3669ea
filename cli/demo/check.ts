import { ExitCode, UserFacingError } from '../../runtime/errors.js';
import type { BehaviourEvent } from '../../schemas/behaviour.js';
import type { HistoryStore } from '../../stores/history/index.js';
import type { RedisSequenceStore } from '../../stores/sequence/redis.js';

/** A demo check found the system wrong: one line, exit code 6, and where to look. */
export function checkFailed(cause: string): UserFacingError {
  return new UserFacingError({
    cause,
    fix: 'the processes’ logs say why (`towerflow apps status` lists them; logs: $TOWERFLOW_HOME/logs/app-*.log)',
    exitCode: ExitCode.CHECK_FAILED,
  });
}

/** Every replayed event is in HBase, and each user's Redis sequence equals HBase's latest N. */
export async function checkStores(
  events: BehaviourEvent[],
  users: Iterable<string>,
  stores: { history: HistoryStore; sequence: RedisSequenceStore },
  sequenceLength: number,
): Promise<string> {
  let missing = 0;
  for (let i = 0; i < events.length; i += 500)
    missing += (await stores.history.exists(events.slice(i, i + 500))).filter((x) => !x).length;
  if (missing > 0) throw checkFailed(`${missing} of ${events.length} replayed events are not in HBase`);
  let mismatched = 0;
  let n = 0;
  for (const u of users) {
    n++;
    const h = (await stores.history.latest(u, sequenceLength)).map((e) => e.event_id).join();
    const r = (await stores.sequence.recent(u)).map((e) => e.event_id).join();
    if (h !== r) mismatched++;
  }
  if (mismatched > 0) throw checkFailed(`${mismatched} users' Redis sequences differ from HBase`);
  return `HBase holds all ${events.length.toLocaleString('en-US')} events; for all ${n} users the Redis sequence (last ${sequenceLength}) equals HBase's latest`;
}
