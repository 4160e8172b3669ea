import type { PhaseBooks } from './audit.js';
import type { PostedBooks, RecallSample } from './load.js';

/** One fault's line of the drill report (`--json`: `faults[]`). */
export interface FaultResult {
  name: string;
  /** Behaviour events answered 2xx. */
  accepted: number;
  /** Posts answered 5xx/429 or not at all, and posted again. */
  retried: number;
  lost: number;
  doubled: number;
  /** From the kill until the component was back and the lag had caught up (≤ one second of traffic). */
  recovery_s: number;
  /** From the kill until the restart command returned (the component healthy again). */
  restart_s: number;
  /** Recall answers 5xx other than the documented 503 (nothing at all could answer), from the kill until recovery. */
  recall_5xx: number;
  recall_503: number;
  /** Recall requests that got no answer at all (the recall API itself was down). */
  recall_unanswered: number;
  recall_degraded: number;
  recall_answers: number;
  /** From the restart until the first personal, undegraded answer (null: none came). */
  personal_back_s: number | null;
  /** Answers that named a model version other than the live one before or after a publish. */
  mixed_versions: number;
  books: PhaseBooks;
  daily_job?: { before: string; after: string; leftover: boolean };
}

export interface PhaseRun {
  name: string;
  rate: number;
  t0: number;
  kill: { killedAt: number; backAt: number; versions?: { before: string; after: string; leftover: boolean } };
  drained: number;
  books: PostedBooks;
  accepted: number;
  lag: readonly { at: number; lag: number | undefined }[];
  recall: readonly RecallSample[];
  audit: PhaseBooks;
  /** Versions an answer may name (others count as mixed). */
  versions: readonly string[];
}

const s1 = (ms: number): number => Math.round(ms / 100) / 10;

/** The first time after the restart at which the lag was at most one second of traffic (else the drain). */
export function caughtUpAt(run: Pick<PhaseRun, 'rate' | 'kill' | 'lag' | 'drained'>): number {
  const limit = run.rate;
  const at = run.lag.find((x) => x.at >= run.kill.backAt && x.lag !== undefined && x.lag <= limit)?.at;
  return at ?? run.drained;
}

export function phaseResult(run: PhaseRun): FaultResult {
  const recovered = caughtUpAt(run);
  const during = run.recall.filter((x) => x.at >= run.kill.killedAt && x.at <= recovered);
  const personal = run.recall.find((x) => x.at >= run.kill.backAt && x.source === 'personal' && !x.degraded);
  const allowed = new Set(run.versions);
  return {
    name: run.name,
    accepted: run.accepted,
    retried: run.books.retriedEvents,
    lost: run.audit.lost,
    doubled: run.audit.doubled,
    recovery_s: s1(recovered - run.kill.killedAt),
    restart_s: s1(run.kill.backAt - run.kill.killedAt),
    recall_5xx: during.filter((x) => x.status >= 500 && x.status !== 503).length,
    recall_503: during.filter((x) => x.status === 503).length,
    recall_unanswered: during.filter((x) => x.status === 0).length,
    recall_degraded: during.filter((x) => x.degraded).length,
    recall_answers: run.recall.length,
    personal_back_s: personal ? s1(Math.max(0, personal.at - run.kill.backAt)) : null,
    mixed_versions: run.recall.filter((x) => x.modelVersion !== undefined && !allowed.has(x.modelVersion))
      .length,
    books: run.audit,
    ...(run.kill.versions ? { daily_job: run.kill.versions } : {}),
  };
}

const COLUMNS: [string, (r: FaultResult) => string | number][] = [
  ['fault', (r) => r.name],
  ['accepted', (r) => r.accepted],
  ['retried', (r) => r.retried],
  ['lost', (r) => r.lost],
  ['doubled', (r) => r.doubled],
  ['restart s', (r) => r.restart_s],
  ['recovery s', (r) => r.recovery_s],
  ['recall 5xx', (r) => r.recall_5xx],
  ['503', (r) => r.recall_503],
  ['no answer', (r) => r.recall_unanswered],
  ['degraded', (r) => r.recall_degraded],
  ['personal back s', (r) => r.personal_back_s ?? '-'],
  ['mixed versions', (r) => r.mixed_versions],
];

/** The report's table rows (the CLI prints them with formatTable). */
export function reportRecords(faults: readonly FaultResult[]): Record<string, string | number>[] {
  return faults.map((r) => Object.fromEntries(COLUMNS.map(([h, f]) => [h, f(r)])));
}
