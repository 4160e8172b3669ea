import { redisKey } from '../../clients/keys.js';

// Redis keys of user vectors: the incremental ID rows and the serving layer's cached user vectors.

/**
 * A user's incrementally updated ID-embedding row, tagged with the model version it belongs to
 * (`{version}\n{base64 float32}`); the daily job's retire step drops them all.
 */
export const idRowKey = (userId: string): string => redisKey('emb', userId);

/** SCAN pattern of every ID row. */
export const ID_ROW_PATTERN = `${redisKey('emb')}:*`;

/**
 * A user's row for a version served beside the live one (an experiment's candidate, or its
 * control once another version went live), under the same `{version}\n{base64}` format. Kept
 * apart from the live rows so each version's rows move on their own; the live ones stay where
 * every reader has always found them.
 */
export const versionRowKey = (version: string, userId: string): string => redisKey('emb_v', version, userId);

/** SCAN pattern of every row of one version kept apart (versionRowKey). */
export const versionRowPattern = (version: string): string => `${redisKey('emb_v', version)}:*`;

/** The serving layer's cached user vector; dropped whenever the user has new behaviour. */
export const userVectorKey = (userId: string): string => redisKey('uvec', userId);

/** SCAN pattern of every cached user vector. */
export const USER_VECTOR_PATTERN = `${redisKey('uvec')}:*`;

/**
 * What the ID-embedding updater applied for a user (hash): `r` the latest event fingerprints
 * (duplicates skipped), and with EMBEDDINGS_APPLIED_LEDGER `n` events and `h` sum of fingerprints.
 */
export const appliedKey = (userId: string): string => redisKey('emb_applied', userId);
