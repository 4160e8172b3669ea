import { setTimeout as sleep } from 'node:timers/promises';
import type { BehaviourEvent } from '../schemas/behaviour.js';
import type { UserProfileEvent } from '../schemas/user.js';

// The load a fault drill runs under: behaviour events posted at a fixed rate the way a careful
// producer posts them (a batch answered 5xx or not answered at all is posted again, same event
// ids, until it is taken), and recall requests throughout. Both keep exact books: which events
// were acknowledged, and what every recall answer was and when.

export interface PostedBooks {
  /** Events of batches answered 2xx. */
  accepted: Set<string>;
  /** Batches posted again after a 5xx, a 429 or no answer (each retry counts once). */
  retries: number;
  /** Events in those retried posts. */
  retriedEvents: number;
  /** Answers by status (0: no answer: connection refused, reset or timed out). */
  statuses: Map<number, number>;
}

export interface PacedPostOptions {
  url: string;
  apiKey: string;
  /** Events per second over the whole run. */
  rate: number;
  batch: number;
  /** Requests in flight. */
  concurrency: number;
  /** Give up on a batch (and fail the drill) after this long without a 2xx. */
  batchDeadlineMs: number;
  onProgress?: (sent: number, total: number) => void;
}

export class DrillAbort extends Error {
  override name = 'DrillAbort';
}

async function postOnce(
  o: Pick<PacedPostOptions, 'url' | 'apiKey'>,
  route: string,
  body: string,
): Promise<{ status: number; retryAfterS?: number; text: string }> {
  try {
    const res = await fetch(`${o.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const after = Number(res.headers.get('retry-after'));
    return { status: res.status, retryAfterS: Number.isFinite(after) && after > 0 ? after : undefined, text };
  } catch {
    return { status: 0, text: '' };
  }
}

/** Posts one batch until it is taken; a 4xx other than 429 is a bug of the drill and aborts it. */
export async function postUntilTaken(
  o: Pick<PacedPostOptions, 'url' | 'apiKey' | 'batchDeadlineMs'>,
  route: '/v1/events' | '/v1/users' | '/v1/items',
  events: readonly { event_id: string }[],
  books: PostedBooks,
): Promise<void> {
  const body = JSON.stringify({ events });
  const deadline = Date.now() + o.batchDeadlineMs;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      books.retries++;
      books.retriedEvents += events.length;
    }
    const r = await postOnce(o, route, body);
    books.statuses.set(r.status, (books.statuses.get(r.status) ?? 0) + 1);
    if (r.status >= 200 && r.status < 300) {
      for (const e of events) books.accepted.add(e.event_id);
      return;
    }
    if (r.status >= 400 && r.status < 500 && r.status !== 429)
      throw new DrillAbort(`POST ${route} answered ${r.status}: ${r.text.slice(0, 200)}`);
    if (Date.now() > deadline)
      throw new DrillAbort(
        `POST ${route}: no 2xx within ${o.batchDeadlineMs / 1000} s (last status ${r.status})`,
      );
    await sleep(
      r.retryAfterS !== undefined ? Math.min(r.retryAfterS * 1000, 2000) : Math.min(100 * 2 ** attempt, 1000),
    );
  }
}

export function emptyBooks(): PostedBooks {
  return { accepted: new Set(), retries: 0, retriedEvents: 0, statuses: new Map() };
}

/** Posts the events in order, `batch` a request, paced to `rate` events/s, retrying each batch until taken. */
export async function pacedPost(
  events: readonly BehaviourEvent[],
  o: PacedPostOptions,
  books: PostedBooks,
): Promise<void> {
  const batches: BehaviourEvent[][] = [];
  for (let i = 0; i < events.length; i += o.batch) batches.push(events.slice(i, i + o.batch));
  const t0 = performance.now();
  let next = 0;
  let sent = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const b = next++;
      const batch = batches[b];
      if (!batch) return;
      const wait = ((b * o.batch) / o.rate) * 1000 - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      await postUntilTaken(o, '/v1/events', batch, books);
      sent += batch.length;
      o.onProgress?.(sent, events.length);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
}

/** Posts profile events (small: no pacing). */
export async function postProfiles(
  profiles: readonly UserProfileEvent[],
  o: Pick<PacedPostOptions, 'url' | 'apiKey' | 'batchDeadlineMs'>,
  books: PostedBooks,
  batch = 500,
): Promise<void> {
  for (let i = 0; i < profiles.length; i += batch)
    await postUntilTaken(o, '/v1/users', profiles.slice(i, i + batch), books);
}

/** One recall answer as the probe saw it. */
export interface RecallSample {
  /** ms since the epoch, when the answer came (or failed). */
  at: number;
  /** HTTP status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  degraded: boolean;
  source?: string;
  modelVersion?: string;
  ms: number;
}

/** Recall requests for the given users, `concurrency` at a time, until stopped. */
export class RecallProbe {
  readonly samples: RecallSample[] = [];
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly o: {
      url: string;
      apiKey: string;
      users: readonly string[];
      concurrency: number;
      k: number;
    },
  ) {}

  start(): void {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopped) {
        const user = this.o.users[i++ % this.o.users.length] as string;
        this.samples.push(await this.ask(user));
        // a refused connection comes back at once: do not spin on a dead port
        const last = this.samples.at(-1);
        if (last && last.status === 0) await sleep(50);
      }
    };
    this.running = Promise.all(Array.from({ length: this.o.concurrency }, worker)).then(() => {});
  }

  private async ask(user: string): Promise<RecallSample> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${this.o.url}/v1/recall?user_id=${encodeURIComponent(user)}&k=${this.o.k}`, {
        headers: { authorization: `Bearer ${this.o.apiKey}` },
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as {
        degraded?: boolean;
        source?: string;
        model_version?: string | null;
      };
      return {
        at: Date.now(),
        status: res.status,
        degraded: body.degraded === true,
        source: body.source,
        modelVersion: body.model_version ?? undefined,
        ms: performance.now() - t0,
      };
    } catch {
      return { at: Date.now(), status: 0, degraded: false, ms: performance.now() - t0 };
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
