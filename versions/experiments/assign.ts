import { createHash } from 'node:crypto';

export type Arm = 'control' | 'candidate';
export const ARMS: readonly Arm[] = ['control', 'candidate'];

/**
 * A user's point in [0, 1) for one experiment: the first 48 bits of SHA-256(name NUL user).
 * Sticky (a pure function), uniform, and independent between experiments because the name is
 * part of the hashed input (a per-experiment salt), unlike hashing the user alone and cutting
 * the same range for every experiment.
 */
export function bucketOf(experiment: string, userId: string): number {
  const h = createHash('sha256').update(experiment).update('\0').update(userId).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** The arm of a user: the candidate for the first `share` of the unit interval. */
export function armOf(experiment: string, share: number, userId: string): Arm {
  return bucketOf(experiment, userId) < share ? 'candidate' : 'control';
}
