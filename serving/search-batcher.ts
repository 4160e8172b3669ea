import type { ItemVectorStore, VectorHit, VectorSearchOptions } from '../stores/vectors/index.js';

interface Pending {
  vector: ArrayLike<number>;
  limit: number;
  resolve: (hits: VectorHit[]) => void;
  reject: (err: unknown) => void;
}

/** A search that did not answer within the batcher's deadline (waiting in its lane included). */
export class SearchDeadlineError extends Error {
  constructor(ms: number) {
    super(`Milvus search did not answer within ${ms} ms (queue and call)`);
  }
}

interface Lane {
  inFlight: boolean;
  queue: Pending[];
}

/**
 * Coalesces concurrent Milvus searches of the same version, filter and consistency into one
 * multi-vector search (nq > 1). Nothing waits for company: a request goes out at once when its
 * lane is idle; requests that arrive while a search is in flight go out together when it
 * returns. Milvus' fixed cost per call (proxy, query node scheduling, reduce: ~9 ms here)
 * is then paid once per batch instead of once per request, which is what bounds throughput
 * on a small machine (docs/decisions.md, recall latency).
 */
export class SearchBatcher {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly vectorStore: ItemVectorStore,
    /** Largest number of vectors in one call. */
    private readonly maxBatch = 32,
    /**
     * Longest a request may take, from its arrival to its answer: a lane whose calls slow down
     * (Milvus starved of CPU) queues requests behind them, and the call's own gRPC deadline does
     * not count that wait. Past it the request fails (the caller serves around it); a call
     * already sent still completes for the others of its batch. 0: no deadline.
     */
    private readonly deadlineMs = 0,
  ) {}

  /** Reports each call's batch size (metrics). */
  onBatch?: (size: number) => void;

  /** The top `limit` of `version` for one query vector, searched with those that arrive meanwhile. */
  search(
    version: string,
    vector: ArrayLike<number>,
    limit: number,
    opts: VectorSearchOptions,
  ): Promise<VectorHit[]> {
    const key = JSON.stringify([
      version,
      opts.conditions ?? [],
      opts.consistency ?? '',
      opts.ef ?? 0,
      opts.outputFields ?? [],
    ]);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { inFlight: false, queue: [] };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<VectorHit[]>((resolve, reject) => {
      const pending: Pending = { vector, limit, resolve, reject };
      if (this.deadlineMs > 0) {
        const timer = setTimeout(() => {
          // still queued: it leaves the lane; already sent: its answer will be ignored
          const at = lane.queue.indexOf(pending);
          if (at >= 0) lane.queue.splice(at, 1);
          reject(new SearchDeadlineError(this.deadlineMs));
        }, this.deadlineMs);
        pending.resolve = (hits) => {
          clearTimeout(timer);
          resolve(hits);
        };
        pending.reject = (err) => {
          clearTimeout(timer);
          reject(err);
        };
      }
      lane.queue.push(pending);
    });
    if (!lane.inFlight) this.drain(key, lane, version, opts);
    return promise;
  }

  private drain(key: string, lane: Lane, version: string, opts: VectorSearchOptions): void {
    const batch = lane.queue.splice(0, this.maxBatch);
    if (batch.length === 0) {
      this.lanes.delete(key);
      return;
    }
    lane.inFlight = true;
    this.onBatch?.(batch.length);
    // one limit for all: the largest asked; each request keeps its own prefix
    const limit = Math.max(...batch.map((p) => p.limit));
    this.vectorStore
      .search(
        version,
        batch.map((p) => p.vector),
        limit,
        opts,
      )
      .then(
        (lists) => {
          for (const [i, p] of batch.entries()) p.resolve((lists[i] ?? []).slice(0, p.limit));
        },
        (err) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        lane.inFlight = false;
        this.drain(key, lane, version, opts);
      });
  }
}
