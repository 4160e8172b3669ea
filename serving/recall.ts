import { createHash } from 'node:crypto';
import type { UserQuery } from '../model/version.js';
import type { AnswerStore } from '../stores/answers/index.js';
import type { IdRowStore, StoredRow, TaggedVector, UserVectorCache } from '../stores/embeddings/index.js';
import type { HistoryStore } from '../stores/history/index.js';
import type { PopularityStore } from '../stores/popularity/index.js';
import type { ProfileCache, ProfileStore, UserProfile } from '../stores/profiles/index.js';
import type { SeenStore } from '../stores/seen/index.js';
import { seenHash } from '../stores/seen/keys.js';
import type { SequenceStore } from '../stores/sequence/index.js';
import { type Condition, checkConditions } from '../stores/vectors/filter.js';
import { ITEM_SCALARS } from '../stores/vectors/item-fields.js';
import type { Arm } from '../versions/experiments/assign.js';
import type { ExperimentDefinition } from '../versions/experiments/definition.js';
import type { LiveModels, Served } from '../versions/live-models.js';
import { overlapAtK, type Route } from './arms.js';
import type { ExposureSink } from './exposures.js';
import type { SearchBatcher } from './search-batcher.js';

export interface RecallRequest {
  userId: string;
  k: number;
  conditions: Condition[];
  /** Popularity correction β (0: off): the top 2k re-scored `s − β·ln(1 + count)`. */
  popularityBeta: number;
  /** Prediction time (Unix ms) for the context features; default now. Such answers skip the cache. */
  at?: number;
  /** Leave out every item the user has interacted with (the seen set); false: leave out nothing. */
  excludeSeen: boolean;
  /** The arm override (debugging, operator keys only): answer as this arm of the running experiment. */
  arm?: Arm;
}

/** Which path produced the items. */
export type RecallSource = 'personal' | 'profile' | 'popular';

export interface RecallResponse {
  user_id: string;
  model_version: string | null;
  /** The running experiment whose arm answered (null: none, or a shadow experiment). */
  experiment: string | null;
  arm: Arm | null;
  source: RecallSource;
  /**
   * Which user-ID row the user vector used: the user's incremental row (embeddings processor)
   * for this version, or the version's own table row; null when no vector was computed (popular).
   */
  id_row: 'incremental' | 'version' | null;
  degraded: boolean;
  items: { item_id: string; score: number }[];
}

export interface RecallDeps {
  sequence: SequenceStore;
  /** Incremental user-ID rows (the embeddings processor's output). */
  idRows: IdRowStore;
  /** Computed user vectors, reused while what they were computed from is unchanged. */
  userVectors: UserVectorCache;
  /** All-time counts: the popular fallback and the popularity correction. */
  popularity: PopularityStore;
  history: HistoryStore;
  /** Every item each user has interacted with (left out of answers). */
  seen: SeenStore;
  /** Event types that do not make an item seen (SEEN_IGNORED_TYPES). */
  seenIgnoredTypes: ReadonlySet<string>;
  /** Each user's last answer, for the online hit rate. */
  answers?: AnswerStore;
  /** The store of record for profiles (HBase), read on a cache miss or while Redis is down. */
  profiles: ProfileStore;
  profileCache: ProfileCache;
  /** Milvus searches (coalesced across concurrent requests, see SearchBatcher). */
  searcher: SearchBatcher;
  models: LiveModels;
  sequenceLength: number;
  /** Reports a dependency failure that was served around (metrics). */
  onDegraded?: (dependency: string, err: unknown) => void;
  /** Reports how long a stage of one request took (metrics). */
  onStage?: (stage: RecallStage, seconds: number) => void;
  /** Reports whether the user vector came from the cache (metrics). */
  onVectorCache?: (hit: boolean) => void;
  /** The alias's running experiment, held in memory (versions/experiments/watch.ts); absent: none. */
  experiments?: { readonly current: ExperimentDefinition | undefined };
  /** Where every returned answer is logged (serving/exposures.ts); absent: nowhere. */
  exposures?: ExposureSink;
  /** Uniform in [0, 1): which requests a shadow experiment samples (default Math.random; tests fix it). */
  sample?: () => number;
}

/** What a shadow computation measured: its own time and its overlap@K with the live answer. */
export interface ShadowResult {
  version: string;
  seconds: number;
  overlap: number;
}

/** An answer, and the shadow computation to run after it is sent (when the route asks for one). */
export interface RecallOutcome {
  response: RecallResponse;
  shadow?: () => Promise<ShadowResult>;
}

/** A request outside any experiment: the live pointer's version answers. */
export const LIVE_ROUTE: Route = { experiment: null, arm: null, forced: false };

/** The stages of a request, timed separately: where the milliseconds go. */
export type RecallStage = 'features' | 'user_vector' | 'milvus' | 'popular';

async function timed<T>(d: RecallDeps, stage: RecallStage, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    d.onStage?.(stage, (performance.now() - t0) / 1000);
  }
}

const MAX_SEARCH = 16_384;

interface RecentEvent {
  itemId: string;
  /** Unix seconds. */
  ts: number;
  type: string;
}

/** The user's recent events: Redis, or HBase when Redis is down. */
async function recentHistory(d: RecallDeps, userId: string): Promise<RecentEvent[]> {
  try {
    return (await d.sequence.recent(userId)).map((e) => ({
      itemId: e.item_id,
      ts: e.ts / 1000,
      type: e.type,
    }));
  } catch (e) {
    d.onDegraded?.('redis', e);
    return (await d.history.latest(userId, d.sequenceLength)).map((e) => ({
      itemId: e.item_id,
      ts: e.ts / 1000,
      type: e.type,
    }));
  }
}

/**
 * What the answer leaves out: the user's seen set (with the seen types of the recent sequence,
 * which the sequence processor writes at the same time). Without Redis: the user's whole
 * history from HBase, degraded (a longer read, the same answer).
 */
async function seenItems(
  d: RecallDeps,
  userId: string,
  excludeSeen: boolean,
): Promise<Set<number> | undefined> {
  if (!excludeSeen) return undefined;
  try {
    return await d.seen.get(userId);
  } catch (e) {
    d.onDegraded?.('redis', e);
    const all = await d.history.since(userId, 0).catch((err) => {
      d.onDegraded?.('hbase', err);
      return [];
    });
    return new Set(all.filter((x) => !d.seenIgnoredTypes.has(x.type)).map((x) => seenHash(x.item_id)));
  }
}

/**
 * The user tower's input for one request from the online features: the recent sequence (oldest
 * first), the profile, the prediction time (Unix s) and the incremental ID row, if any.
 */
export function userQueryOf(
  userId: string,
  history: readonly { itemId: string; ts: number }[],
  profile: UserProfile | undefined,
  ts: number,
  idRow?: Float32Array,
): UserQuery {
  const categorical: Record<string, string> = {};
  for (const [k, v] of Object.entries(profile?.profile ?? {}))
    categorical[k] = Array.isArray(v) ? v.join('|') : String(v);
  return {
    userId,
    profile: categorical,
    history: history.map((h) => ({ itemId: h.itemId, ts: h.ts })),
    ts,
    ...(idRow ? { idRow } : {}),
  };
}

/** Whether an item id is left out. */
type Excluded = (itemId: string) => boolean;

/** The user's profile: Redis' copy, else HBase (filling the copy); HBase alone while Redis is down. */
async function userProfile(d: RecallDeps, userId: string): Promise<UserProfile | undefined> {
  let redisUp = true;
  try {
    const cached = await d.profileCache.get(userId);
    if (cached !== undefined) return cached ?? undefined;
  } catch (e) {
    d.onDegraded?.('redis', e);
    redisUp = false;
  }
  let profile: UserProfile | undefined;
  try {
    profile = await d.profiles.getUser(userId);
  } catch (e) {
    d.onDegraded?.('hbase', e);
    return undefined;
  }
  // not awaited: the answer does not wait for the fill
  if (redisUp) d.profileCache.fill(userId, profile).catch(() => {});
  return profile;
}

/** The user's cached vector with the tag it was stored under (see recall()), if any. */
async function cachedVector(d: RecallDeps, userId: string): Promise<TaggedVector | undefined> {
  return d.userVectors.get(userId).catch((e) => {
    d.onDegraded?.('redis', e);
    return undefined;
  });
}

async function popular(
  d: RecallDeps,
  k: number,
  excludedCount: number,
  excluded: Excluded,
): Promise<RecallResponse['items']> {
  const top = await d.popularity.top('all', k, { max: excludedCount, has: excluded }).catch((e) => {
    d.onDegraded?.('redis', e);
    return [];
  });
  return top.map((t) => ({ item_id: t.item_id, score: t.count }));
}

/**
 * Popularity correction of the candidates: `s − β·ln(1 + count)` with the all-time counts, best
 * first. ln p(item) = ln count − ln total; the constant ln total changes no order, so it is left
 * out (the +1 keeps unseen items finite). Without Redis the candidates keep their order.
 */
async function rescore(
  d: RecallDeps,
  items: RecallResponse['items'],
  beta: number,
): Promise<RecallResponse['items']> {
  if (items.length === 0) return items;
  let counts: number[];
  try {
    counts = await d.popularity.counts(
      'all',
      items.map((i) => i.item_id),
    );
  } catch (e) {
    d.onDegraded?.('redis', e);
    return items;
  }
  return items
    .map((it, i) => ({ item_id: it.item_id, score: it.score - beta * Math.log1p(counts[i] ?? 0) }))
    .sort((a, b) => b.score - a.score);
}

/**
 * The ID row a version may be served with: only one tagged with that very version. A row of
 * another version (the live slot during an experiment holds the control's) means nothing to
 * these towers; the version's own table row serves instead.
 */
export function rowFor(version: string, row: StoredRow | undefined): StoredRow | undefined {
  return row?.version === version ? row : undefined;
}

/**
 * The tag a cached user vector is stored under: everything it depends on that can change between
 * publishes, the version first, so a vector computed by one version's tower is never taken for
 * another's (the profile's time too: a vector built from a profile read just before an update
 * and cached just after the items processor dropped the entry would otherwise outlive the update).
 */
export function vectorStamp(
  version: string,
  newest: { itemId: string; ts: number } | undefined,
  row: StoredRow | undefined,
  profileTs: number | undefined,
): string {
  const rowTag = row ? createHash('sha1').update(row.raw).digest('base64url').slice(0, 12) : '-';
  return `${version} ${newest ? `${newest.itemId}@${newest.ts}` : '-'} ${rowTag} ${profileTs ?? '-'}`;
}

/**
 * Top-k items for a user: the user tower of the version the route names (the live one outside an
 * experiment, the user's arm's within one) over the freshest features (recent sequence,
 * profile), cached per version; Milvus ANN on that same version's item vectors with the
 * request's filters; every item the user has interacted with left out (unless the request turns
 * that off). No history and no profile: popular items. Milvus down: popular items. Any
 * dependency served around marks the answer `degraded`. The answer is recorded as the user's
 * last (online hit rate), without waiting. With a shadow in the route, `shadow` computes the
 * candidate's answer from the same features: the caller runs it after sending the answer.
 */
export async function recall(
  deps: RecallDeps,
  req: RecallRequest,
  route: Route = LIVE_ROUTE,
): Promise<RecallOutcome> {
  const { res, features } = await answer(deps, req, route);
  // an operator's forced arm is debugging: the user's next event is not scored against it
  if (!route.forced)
    deps.answers
      ?.record(req.userId, {
        ts: req.at ?? Date.now(),
        version: res.model_version ?? '',
        source: res.source,
        itemIds: res.items.map((i) => i.item_id),
      })
      .catch(() => {});
  const shadowOf = route.shadow;
  if (!shadowOf || !features || res.source === 'popular') return { response: res };
  return { response: res, shadow: () => shadow(deps, req, features, shadowOf, res) };
}

/** What a request read, which its shadow computation reuses. */
interface Features {
  history: RecentEvent[];
  profile: UserProfile | undefined;
  excluded: Excluded;
  excludedCount: number;
  conditions: readonly Condition[] | undefined;
}

/** The version the route names with its towers (undefined: nothing published yet). */
async function servedOf(d: RecallDeps, route: Route): Promise<Served | undefined> {
  if (route.version) return d.models.served(route.version);
  const live = await d.models.current();
  return live && { version: live.pointer.version, model: live.model };
}

async function answer(
  deps: RecallDeps,
  req: RecallRequest,
  route: Route,
): Promise<{ res: RecallResponse; features?: Features }> {
  let degraded = false;
  const d: RecallDeps = {
    ...deps,
    onDegraded: (dependency, err) => {
      degraded = true;
      deps.onDegraded?.(dependency, err);
    },
  };
  const conditions = req.conditions.length > 0 ? checkConditions(req.conditions, ITEM_SCALARS) : undefined;
  // the row of the version expected to answer (the arm's, else the live one last seen), read
  // with the other features; whether it is the version that answers is checked after (rowFor)
  const expected = route.version ?? d.models.lastVersion;
  // every read at once, the cached vector too (whether it is still good is known only after)
  const [history, profile, served, idRow, cached, seenSet] = await timed(d, 'features', () =>
    Promise.all([
      recentHistory(d, req.userId),
      userProfile(d, req.userId),
      servedOf(d, route).catch((e) => {
        d.onDegraded?.('model', e);
        return undefined;
      }),
      (expected ? d.idRows.getOf(req.userId, expected) : d.idRows.getAny(req.userId)).catch((e) => {
        d.onDegraded?.('redis', e);
        return undefined;
      }),
      req.at === undefined ? cachedVector(d, req.userId) : undefined,
      seenItems(d, req.userId, req.excludeSeen),
    ]),
  );
  const recentSeen = new Set(
    seenSet ? history.filter((h) => !d.seenIgnoredTypes.has(h.type)).map((h) => h.itemId) : [],
  );
  const excluded: Excluded = seenSet ? (id) => recentSeen.has(id) || seenSet.has(seenHash(id)) : () => false;
  // how many of the nearest items can be left out at most (the recent ones are mostly in the set already)
  let excludedCount = seenSet?.size ?? 0;
  for (const id of recentSeen) if (!seenSet?.has(seenHash(id))) excludedCount++;
  const base = {
    user_id: req.userId,
    model_version: served?.version ?? null,
    experiment: route.experiment,
    arm: route.arm,
  };
  const hasProfile = profile !== undefined && Object.keys(profile.profile).length > 0;
  if (!served || (history.length === 0 && !hasProfile)) {
    const items = await timed(d, 'popular', () => popular(d, req.k, excludedCount, excluded));
    return { res: { ...base, source: 'popular', id_row: null, degraded, items } };
  }
  const features: Features = { history, profile, excluded, excludedCount, conditions };
  const row = rowFor(served.version, idRow);
  try {
    const items = await fromModel(d, req, features, served, row, cached);
    return {
      res: {
        ...base,
        source: history.length > 0 ? 'personal' : 'profile',
        id_row: row ? 'incremental' : 'version',
        degraded,
        items,
      },
      features,
    };
  } catch (e) {
    d.onDegraded?.('milvus', e);
    const items = await timed(d, 'popular', () => popular(d, req.k, excludedCount, excluded));
    return { res: { ...base, source: 'popular', id_row: null, degraded, items } };
  }
}

/**
 * One version's answer from the features: its user tower (with its own ID row, if any) and its
 * own collection, never another's. `cached`: the user's cached vector, used only when its stamp
 * names this version and these features; without it nothing is read from or written to the cache.
 */
async function fromModel(
  d: RecallDeps,
  req: RecallRequest,
  f: Features,
  served: Served,
  row: StoredRow | undefined,
  cached: TaggedVector | undefined | 'none',
): Promise<RecallResponse['items']> {
  const stamp = vectorStamp(served.version, f.history.at(-1), row, f.profile?.ts);
  const vector = await timed(d, 'user_vector', async () => {
    if (cached !== 'none') {
      const hit = cached?.tag === stamp;
      d.onVectorCache?.(hit);
      if (cached && hit) return cached.vector;
    }
    const query = userQueryOf(req.userId, f.history, f.profile, (req.at ?? Date.now()) / 1000, row?.row);
    const fresh = served.model.userVectors([query]);
    if (req.at !== undefined || cached === 'none') return fresh;
    // not awaited: the answer does not wait for the cache write
    d.userVectors.set(req.userId, stamp, fresh).catch(() => {});
    return fresh;
  });
  const hits = await timed(d, 'milvus', () =>
    d.searcher.search(
      served.version,
      vector,
      Math.min(MAX_SEARCH, (req.popularityBeta > 0 ? 2 * req.k : req.k) + f.excludedCount),
      {
        conditions: f.conditions,
        consistency: 'Bounded',
      },
    ),
  );
  let items = hits.filter((h) => !f.excluded(h.item_id)).map((h) => ({ item_id: h.item_id, score: h.score }));
  if (req.popularityBeta > 0) items = await rescore(d, items.slice(0, 2 * req.k), req.popularityBeta);
  return items.slice(0, req.k);
}

/**
 * The candidate's answer to a request the live version answered, from the same features: its
 * own towers, ID row and collection; no cached vector (the user's cache entry is the live
 * answer's), no stage timings or degraded counts (those describe live answers). Throws when
 * the candidate cannot answer (the caller counts it).
 */
async function shadow(
  deps: RecallDeps,
  req: RecallRequest,
  f: Features,
  version: string,
  live: RecallResponse,
): Promise<ShadowResult> {
  const t0 = performance.now();
  const quiet: RecallDeps = { ...deps, onStage: undefined, onVectorCache: undefined, onDegraded: undefined };
  const [served, idRow] = await Promise.all([
    deps.models.served(version),
    deps.idRows.getOf(req.userId, version).catch(() => undefined),
  ]);
  const items = await fromModel(quiet, req, f, served, rowFor(version, idRow), 'none');
  return {
    version,
    seconds: (performance.now() - t0) / 1000,
    overlap: overlapAtK(
      live.items.map((i) => i.item_id),
      items.map((i) => i.item_id),
      req.k,
    ),
  };
}
