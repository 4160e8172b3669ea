import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvLine } from './csv.js';
import { ContentKeys } from './keys.js';
import { cumulative, sampleCumulative, seededRandom, shuffleInPlace } from './random.js';
import type { Dataset, Interaction, ItemRecord, UserRecord } from './types.js';

export interface SyntheticOptions {
  users: number;
  items: number;
  interactions: number;
  seed: number;
  /** Taste clusters; every item and user belongs to one. Default min(8, items). */
  clusters?: number;
  /** Share of a user's interactions drawn from their own cluster (the learnable signal). Default 0.8. */
  affinity?: number;
  /** Unix seconds of the first interaction. */
  startTs?: number;
}

const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
const EVENT_TYPE_WEIGHTS = cumulative(new Float64Array([0.8, 0.15, 0.05]));
const DEVICES = ['ios', 'android', 'web'] as const;
const REGIONS = 4;
const TAGS_PER_CLUSTER = 3;
/** Timestamps are spread over about 90 days, at least one second apart. */
const SPAN_SECONDS = 90 * 86_400;

/**
 * A dataset with clustered tastes: each user mostly interacts with items of their own cluster,
 * chosen by a Zipf-like popularity, so a model has something to learn and popularity alone
 * is a weaker baseline. Items carry a cluster category, tags and a cluster-dependent price;
 * users a region that leans towards their cluster. Timestamps strictly increase with the row.
 * Sampling works on typed arrays; only the returned Dataset holds objects.
 */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const { users: userCount, items: itemCount, interactions: count, seed } = options;
  if (userCount < 1 || itemCount < 1 || count < 0)
    throw new RangeError('need at least one user and one item');
  const clusters = Math.max(1, Math.min(options.clusters ?? 8, itemCount));
  const affinity = options.affinity ?? 0.8;
  const startTs = options.startTs ?? 1_700_000_000;
  const random = seededRandom(seed);

  const itemIds = Array.from({ length: itemCount }, (_, j) => `i${j}`);
  const userIds = Array.from({ length: userCount }, (_, u) => `u${u}`);

  // Balanced random clusters: a shuffled round-robin keeps every cluster non-empty.
  const itemCluster = new Int32Array(itemCount);
  const order = Int32Array.from({ length: itemCount }, (_, j) => j);
  shuffleInPlace(order, random);
  order.forEach((item, position) => {
    itemCluster[item] = position % clusters;
  });
  const userCluster = Int32Array.from({ length: userCount }, () => Math.floor(random() * clusters));

  // Zipf-like popularity over a random ranking of the items.
  const popularity = new Float64Array(itemCount);
  shuffleInPlace(order, random);
  order.forEach((item, rank) => {
    popularity[item] = 1 / (rank + 1) ** 0.8;
  });
  const globalPick = cumulative(popularity);
  const clusterPools = Array.from({ length: clusters }, (_, c) => {
    const members = Int32Array.from(itemIds.keys()).filter((j) => itemCluster[j] === c);
    return { members, pick: cumulative(Float64Array.from(members, (j) => popularity[j] as number)) };
  });

  // Every user gets two interactions first (so all can be evaluated), the rest by a skewed activity.
  const eventUser = new Int32Array(count);
  const guaranteed = Math.min(count, 2 * userCount);
  for (let k = 0; k < guaranteed; k++) eventUser[k] = k % userCount;
  const activity = cumulative(Float64Array.from({ length: userCount }, (_, u) => 1 / (u + 1) ** 0.5));
  for (let k = guaranteed; k < count; k++) eventUser[k] = sampleCumulative(activity, random);
  shuffleInPlace(eventUser, random);

  const step = Math.max(1, Math.floor(SPAN_SECONDS / Math.max(1, count)));
  const interactions: Interaction[] = new Array(count);
  const keys = new ContentKeys();
  for (let k = 0; k < count; k++) {
    const user = eventUser[k] as number;
    let item: number;
    if (random() < affinity) {
      const pool = clusterPools[userCluster[user] as number] as (typeof clusterPools)[number];
      item = pool.members[sampleCumulative(pool.pick, random)] as number;
    } else {
      item = sampleCumulative(globalPick, random);
    }
    const x = {
      user: userIds[user] as string,
      item: itemIds[item] as string,
      ts: startTs + k * step,
      type: EVENT_TYPES[sampleCumulative(EVENT_TYPE_WEIGHTS, random)],
      value: undefined,
    };
    // the key a CSV of these rows would load with (model/data/keys.ts)
    interactions[k] = { ...x, key: keys.next(x), row: k };
  }

  const items = new Map<string, ItemRecord>();
  itemIds.forEach((id, j) => {
    const cluster = itemCluster[j] as number;
    const ownTag = `tag${cluster * TAGS_PER_CLUSTER + Math.floor(random() * TAGS_PER_CLUSTER)}`;
    const anyTag = `tag${Math.floor(random() * clusters * TAGS_PER_CLUSTER)}`;
    const tags = ownTag === anyTag ? [ownTag] : [ownTag, anyTag];
    const price = Math.round(10 * (cluster + 1) * Math.exp(random() - 0.5) * 100) / 100;
    items.set(id, {
      id,
      categorical: { category: [`cat${cluster}`], tags },
      numeric: { price },
      text: `item ${j} of cat${cluster}`,
    });
  });

  const users = new Map<string, UserRecord>();
  userIds.forEach((id, u) => {
    const cluster = userCluster[u] as number;
    const region = random() < 0.7 ? cluster % REGIONS : Math.floor(random() * REGIONS);
    const device = DEVICES[Math.floor(random() * DEVICES.length)] as string;
    users.set(id, { id, categorical: { region: `r${region}`, device } });
  });

  return { name: `synthetic-${seed}`, interactions, items, users, skipped: [] };
}

const ROWS_PER_WRITE = 10_000;

/** Writes a dataset in the project format (design.md §5): interactions.csv, items.csv, users.csv. */
export async function writeDatasetCsv(ds: Dataset, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeLines(join(dir, 'interactions.csv'), interactionLines(ds.interactions));
  // ID-only items (ds.idOnly) have no row: written back, they load as ID-only again
  const bare = new Set(ds.idOnly?.items);
  const rows = bare.size === 0 ? ds.items : new Map([...ds.items].filter(([id]) => !bare.has(id)));
  if (rows.size > 0 || bare.size > 0) await writeLines(join(dir, 'items.csv'), itemLines(rows));
  if ([...ds.users.values()].some((u) => Object.keys(u.categorical).length > 0)) {
    await writeLines(join(dir, 'users.csv'), userLines(ds.users));
  }
}

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(batched(lines)), createWriteStream(path));
}

/** Joins lines into larger strings so a million rows do not become a million stream writes. */
function* batched(lines: Iterable<string>): Generator<string> {
  let buffer: string[] = [];
  for (const line of lines) {
    buffer.push(line);
    if (buffer.length === ROWS_PER_WRITE) {
      yield buffer.join('');
      buffer = [];
    }
  }
  if (buffer.length > 0) yield buffer.join('');
}

function* interactionLines(interactions: Interaction[]): Generator<string> {
  const withType = interactions.some((r) => r.type !== undefined);
  const withValue = interactions.some((r) => r.value !== undefined);
  const header = ['user_id', 'item_id', 'timestamp'];
  if (withType) header.push('event_type');
  if (withValue) header.push('value');
  yield csvLine(header);
  for (const r of interactions) {
    const fields = [r.user, r.item, String(r.ts)];
    if (withType) fields.push(r.type ?? '');
    if (withValue) fields.push(r.value === undefined ? '' : String(r.value));
    yield csvLine(fields);
  }
}

function* itemLines(items: Map<string, ItemRecord>): Generator<string> {
  const categorical = new Set<string>();
  const numeric = new Set<string>();
  let withText = false;
  for (const item of items.values()) {
    for (const key of Object.keys(item.categorical)) categorical.add(key);
    for (const key of Object.keys(item.numeric)) numeric.add(key);
    if (item.text !== undefined) withText = true;
  }
  const reserved = new Set(['item_id', 'title']);
  const clash = [...categorical, ...numeric].find(
    (key) => reserved.has(key) || (numeric.has(key) && categorical.has(key)),
  );
  if (clash !== undefined) throw new Error(`item field "${clash}" cannot be written as its own column`);
  // Note: a categorical field whose every value looks like a number reads back as numeric (§5 rule).
  yield csvLine(['item_id', ...categorical, ...numeric, ...(withText ? ['title'] : [])]);
  for (const item of items.values()) {
    const fields = [item.id];
    for (const key of categorical) fields.push(joinMultiValue(item.categorical[key] ?? [], item.id));
    for (const key of numeric) {
      const value = item.numeric[key];
      fields.push(value === undefined ? '' : String(value));
    }
    if (withText) fields.push(item.text ?? '');
    yield csvLine(fields);
  }
}

function joinMultiValue(values: string[], itemId: string): string {
  // '|' separates values in the file, so a value holding one would not read back the same.
  if (values.some((v) => v.includes('|')))
    throw new Error(`item "${itemId}": a categorical value contains '|'`);
  return values.join('|');
}

function* userLines(users: Map<string, UserRecord>): Generator<string> {
  const fields = new Set<string>();
  for (const user of users.values()) for (const key of Object.keys(user.categorical)) fields.add(key);
  yield csvLine(['user_id', ...fields]);
  for (const user of users.values())
    yield csvLine([user.id, ...[...fields].map((f) => user.categorical[f] ?? '')]);
}
