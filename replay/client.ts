import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, UserFacingError } from '../runtime/errors.js';

/** The ingest API could not be reached, or refused a batch. */
export class IngestError extends UserFacingError {
  override name = 'IngestError';
}

/** The fix for an HTTP refusal, by status. */
function refusal(path: string, status: number, text: string): IngestError {
  const cause = `the ingest API refused POST ${path}: HTTP ${status}: ${text.slice(0, 300)}`;
  if (status === 401 || status === 403)
    return new IngestError({
      cause,
      fix: 'pass a key it accepts with --api-key (INGEST_API_KEYS)',
      exitCode: ExitCode.USAGE,
    });
  if (status >= 400 && status < 500)
    return new IngestError({
      cause,
      fix: 'the message names the bad field: fix the dataset',
      exitCode: ExitCode.USAGE,
    });
  return new IngestError({
    cause,
    fix: 'see its log (`towerflow apps status` lists the processes)',
    exitCode: ExitCode.UNAVAILABLE,
  });
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
          throw new IngestError({
            cause: `the ingest API at ${this.o.baseUrl} is not reachable (${(e as Error).message})`,
            fix: 'start it with `towerflow apps up ingest`, or pass its address with --url',
            exitCode: ExitCode.UNAVAILABLE,
          });
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
      throw refusal(path, res.status, text);
    }
  }
}
