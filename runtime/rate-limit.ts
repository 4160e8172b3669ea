/**
 * A token bucket per key: each key holds up to `burst` tokens, refilled at `perSecond`; a request
 * takes one. Keys are the numbers of recognised API keys (never what a client sends), so the
 * buckets stay as few as the configured keys.
 */
export class TokenBuckets {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    /** Milliseconds, monotonic. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether the limit is on (a rate of 0 turns it off). */
  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes a token for `key`: 0 when there was one, else the whole seconds until there will be (≥ 1). */
  take(key: number): number {
    if (!this.enabled) return 0;
    const t = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
