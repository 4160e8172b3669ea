import { setTimeout as sleep } from 'node:timers/promises';

export class IngestError extends Error {
  override name = 'IngestError';
}

export interface IngestClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Attempts per batch while the API answers 503 or is unreachable. */
  attempts?: number;
}

/** Posts batches to the ingest API; retries 503 (honouring Retry-After) and connection errors with the same events. */
export class IngestClient {
  private readonly attempts: number;

  constructor(private readonly o: IngestClientOptions) {
    this.attempts = o.attempts ?? 30;
  }

  async post(path: '/v1/events' | '/v1/items' | '/v1/users', events: unknown[]): Promise<number> {
    const body = JSON.stringify({ events });
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.o.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.o.apiKey}` },
          body,
        });
      } catch (e) {
        if (attempt >= this.attempts)
          throw new IngestError(`ingest API ${this.o.baseUrl} unreachable: ${(e as Error).message}`);
        await sleep(Math.min(200 * 2 ** attempt, 5000));
        continue;
      }
      const text = await res.text();
      if (res.status === 202) return (JSON.parse(text) as { accepted: number }).accepted;
      if (res.status === 503 && attempt < this.attempts) {
        const after = Number(res.headers.get('retry-after') ?? '1');
        await sleep(Math.max(0.1, Math.min(after, 30)) * 1000);
        continue;
      }
      throw new IngestError(`POST ${path}: HTTP ${res.status}: ${text.slice(0, 2000)}`);
    }
  }
}
