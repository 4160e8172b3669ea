// The publish lock: the Redis lease held by whatever moves the live version or its candidates
// (the daily job's publish, a rollback, starting, promoting or aborting an experiment), so two
// of them never interleave.
import { randomBytes } from 'node:crypto';
import { redisKey } from '../clients/keys.js';
import type { Redis } from '../clients/redis.js';
import { ExitCode, UserFacingError } from '../runtime/errors.js';

/** The publish lock's key: `tf:lock:batch` (the daily job was its first holder). */
export const LOCK_KEY = redisKey('lock', 'batch');

/** Another run holds the lease (or this run lost it). */
export class LockBusyError extends UserFacingError {
  override name = 'LockBusyError';
  constructor(cause: string) {
    super({
      cause,
      fix: 'wait for that run to finish (`towerflow batch status`); a crashed run’s lease expires by itself',
      exitCode: ExitCode.BUSY,
    });
  }
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * A Redis lease: held while the holder renews it, gone `ttlMs` after a holder crashes, released
 * only by the holder (token check), so two jobs never run at once and a dead one never blocks.
 */
/** Lets the holder check, before an irreversible step, that the lease is still its own. */
export interface Lease {
  assertHeld(): void;
}

export async function withLock<T>(
  redis: Redis,
  key: string,
  ttlMs: number,
  fn: (lease: Lease) => Promise<T>,
  /** How long to wait for a holder to finish before giving up (0: refuse at once). */
  waitMs = 0,
): Promise<T> {
  const token = `${process.pid}-${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
    if (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    const holder = await redis.get(key);
    const ttl = await redis.pttl(key);
    throw new LockBusyError(
      `another run holds ${key} (${holder}); it expires in ${Math.max(0, ttl)} ms unless renewed${waitMs > 0 ? ` (waited ${Math.round(waitMs / 1000)} s)` : ''}`,
    );
  }
  let lost: string | undefined;
  const renew = () =>
    redis.eval(RENEW, 1, key, token, ttlMs).then(
      (r) => {
        if (Number(r) === 0) lost ??= `the lease ${key} expired and may be held by another run`;
      },
      () => {}, // retried at the next tick; the lease lasts ttlMs
    );
  const timer = setInterval(renew, Math.max(1000, ttlMs / 3));
  timer.unref();
  const lease: Lease = {
    assertHeld() {
      if (lost) throw new LockBusyError(`${lost}; stopping before publishing`);
    },
  };
  try {
    return await fn(lease);
  } finally {
    clearInterval(timer);
    await redis.eval(RELEASE, 1, key, token).catch(() => {});
  }
}
