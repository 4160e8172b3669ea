import type { ExperimentResultStore } from '../stores/experiments/index.js';
import type { RedisJoinStateStore } from '../stores/experiments/join-state.js';
import type { FencedPartition } from '../stores/fence.js';
import {
  type Endings,
  experimentsOf,
  type JoinOutcome,
  type JoinRecord,
  type JoinSettings,
  joinBatch,
} from './experiment-join.js';

/** How often one batch is joined again before the batch fails (and the runtime retries it). */
export const MAX_ATTEMPTS = 20;

export interface JoinCommitDeps {
  states: RedisJoinStateStore;
  results: ExperimentResultStore;
  settings: JoinSettings;
  /**
   * When those of these experiments that ended ended (experiment-join.ts Endings); none when
   * absent. Asked for each join of a batch, after its users' states are read, so an end that
   * comes before the join is known to it.
   */
  endings?: (experiments: ReadonlySet<string>) => Promise<Endings>;
  /** A commit wrote nothing: a user's state moved (the other topic's batch), or the fence did (another consumer). */
  onRejoin?: (reason: 'state' | 'fence') => void;
  /** Users new to an arm on their exposure’s day (marked before the commit), per experiment and arm. */
  onExposed?: (exposed: { experiment: string; arm: string; added: number }[]) => void;
}

/**
 * One batch of a partition of either topic, joined and committed exactly once: the records past
 * the partition's fence (`recordsAfter`), joined against their users' states as read, written
 * with the counts and the fence in one commit that applies only if no state and not the fence
 * moved meanwhile. A moved user is read again and the batch joined again; a moved fence starts
 * over from it. Undefined when nothing was past the fence.
 */
export async function joinAndCommit(
  deps: JoinCommitDeps,
  p: FencedPartition,
  lastOffset: number,
  recordsAfter: (fence: number) => Promise<JoinRecord[]>,
): Promise<JoinOutcome | undefined> {
  let attempts = 0;
  for (;;) {
    const fence = await deps.results.fence(p);
    const records = await recordsAfter(fence);
    if (records.length === 0) return undefined;
    const kept = records.flatMap((r) =>
      r.kind === 'exposure' ? [{ ...r.exposure, user_id: r.user_id }] : [],
    );
    // idempotent, so before the commit: a crash between the two loses no exposed user
    const exposed = await deps.results.markExposed(kept);
    deps.onExposed?.(exposed);
    const read = await deps.states.read(records.map((r) => r.user_id));
    for (;;) {
      if (++attempts > MAX_ATTEMPTS)
        throw new Error(
          `experiments: ${p.topic}[${p.partition}] not committed in ${MAX_ATTEMPTS} attempts: its users’ join states or its fence kept moving (is another consumer writing this partition?)`,
        );
      const states = new Map([...read].map(([u, r]) => [u, r.state]));
      const ended = (await deps.endings?.(experimentsOf(records, states.values()))) ?? new Map();
      const out = joinBatch(records, states, deps.settings, ended);
      const writes = [...out.states].flatMap(([u, after]) => deps.states.write(u, read.get(u), after) ?? []);
      const done = await deps.results.commit(p, fence, lastOffset, out.rows, writes);
      if (done.ok) return out;
      const fenceMoved = done.fence !== fence;
      deps.onRejoin?.(fenceMoved ? 'fence' : 'state');
      if (fenceMoved) break; // from the new fence again
      for (const [u, r] of await deps.states.read(done.moved)) read.set(u, r);
    }
  }
}
