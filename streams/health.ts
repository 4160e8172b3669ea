/**
 * What a stream process reports on /livez and /readyz, kept from its consumer's and writes'
 * events. Each condition is held only while it lasts: a broker error clears on the next sign that
 * the broker serves the consumer again (a group join or a fetch, which an idle topic also gets),
 * a failing write clears when that partition's write succeeds or is given up.
 */
export type StreamHealthEvent =
  /** Joined the consumer group with this many partitions assigned. */
  | { type: 'joined'; partitions: number }
  /** A fetch round-trip with the broker completed (with batches or none). */
  | { type: 'fetched' }
  | { type: 'rebalancing' }
  /** The consumer failed; with `restart` it rejoins by itself, without it the loop is over. */
  | { type: 'crashed'; error: string; restart: boolean };

export class StreamHealth {
  private joined = false;
  private partitions = 0;
  private brokerError: string | undefined;
  private dead: string | undefined;
  /** Partitions whose write is failing and being retried now, with the last error. */
  private readonly failingWrites = new Map<string, string>();

  on(e: StreamHealthEvent): void {
    switch (e.type) {
      case 'joined':
        this.joined = true;
        this.partitions = e.partitions;
        this.brokerError = undefined;
        break;
      case 'fetched':
        this.brokerError = undefined;
        break;
      case 'rebalancing':
        this.joined = false;
        break;
      case 'crashed':
        this.joined = false;
        this.brokerError = e.error;
        if (!e.restart) this.dead = e.error;
        break;
    }
  }

  writeFailed(topic: string, partition: number, error: string): void {
    this.failingWrites.set(`${topic}/${partition}`, error);
  }

  /** The partition's write succeeded or was given up (stopping, or the partition moved away). */
  writeSettled(topic: string, partition: number): void {
    // the common case (nothing failing) costs a size check, no key built
    if (this.failingWrites.size > 0) this.failingWrites.delete(`${topic}/${partition}`);
  }

  report(): {
    live: boolean;
    ready: boolean;
    consuming: boolean;
    partitions: number;
    errors: string[];
  } {
    const errors = [
      ...(this.dead ? [this.dead] : []),
      ...(this.brokerError && this.brokerError !== this.dead ? [this.brokerError] : []),
      ...[...this.failingWrites].map(([p, err]) => `write to ${p}: ${err}`),
    ];
    const consuming = this.joined && this.dead === undefined;
    return {
      live: this.dead === undefined,
      ready: consuming && this.partitions > 0 && errors.length === 0,
      consuming,
      partitions: this.partitions,
      errors,
    };
  }
}
