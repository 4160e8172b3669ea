import { ID_PATTERN, MAX_TIMESTAMP_MS } from '../schemas/ids.js';
import type { Condition } from '../stores/vectors/filter.js';
import type { Arm } from '../versions/experiments/assign.js';
import type { RecallRequest } from './recall.js';

/** Category values: what catalogues use, nothing an expression needs (quotes, brackets, backslashes). */
const CATEGORY = /^[\p{L}\p{N} _.&()'-]{1,64}$/u;
/** The same, as a list of 1 to 64 comma-separated values (for the OpenAPI document). */
const CATEGORY_LIST = /^[\p{L}\p{N} _.&()'-]{1,64}(,[\p{L}\p{N} _.&()'-]{1,64}){0,63}$/u;

/** A decimal number as clients print one (`0.5`, `10`, `1e-05`, `2.5E+00`): what Number() reads exactly. */
const DECIMAL = /^-?\d{1,20}(\.\d{1,20})?([eE][+-]?\d{1,3})?$/;

/** Far beyond any useful value: the model's scores are cosines in [−1, 1], ln(1 + count) is ~0–15. */
export const MAX_BETA = 10;

/** The query parameters of GET /v1/recall: what the parser accepts and the OpenAPI document lists. */
export const RECALL_PARAMS: Record<
  string,
  { description: string; schema: Record<string, unknown>; required?: true }
> = {
  user_id: {
    description: 'The user (same id rules as the ingest contracts).',
    schema: { type: 'string', pattern: ID_PATTERN.source },
    required: true,
  },
  k: {
    description: 'How many items (default 50, at most RECALL_MAX_K).',
    // maximum: RECALL_MAX_K, filled in by the document (serving/openapi.ts)
    schema: { type: 'integer', minimum: 1, default: 50 },
  },
  category: {
    description: 'Only items of these categories (comma-separated, up to 64).',
    schema: { type: 'string', pattern: CATEGORY_LIST.source },
  },
  exclude_category: {
    description: 'No items of these categories (comma-separated, up to 64).',
    schema: { type: 'string', pattern: CATEGORY_LIST.source },
  },
  published_after: {
    description: 'Only items published at or after this time (Unix ms, up to 2100).',
    schema: { type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP_MS },
  },
  published_before: {
    description: 'Only items published before this time (Unix ms, up to 2100).',
    schema: { type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP_MS },
  },
  at: {
    description:
      'Prediction time (Unix ms) for the context features (hour, weekday, gap since the last event, decay of the sequence); default now. For backtests and replays of past data; such answers are not cached. Up to 2100, like event times.',
    schema: { type: 'integer', minimum: 0, maximum: MAX_TIMESTAMP_MS },
  },
  exclude_seen: {
    description:
      'Leave out every item the user has interacted with (default true; event types in SEEN_IGNORED_TYPES do not count). false: leave out nothing.',
    schema: { type: 'boolean', default: true },
  },
  popularity_beta: {
    description: `Popularity correction β from 0 to ${MAX_BETA} (default RECALL_POPULARITY_BETA): the top 2k are re-scored s − β·ln(1 + all-time count).`,
    schema: { type: 'number', minimum: 0, maximum: MAX_BETA },
  },
  arm: {
    description:
      'Debugging: answer as this arm of the running experiment instead of the user’s own arm. Needs an operator key (403 with any other); 409 when no experiment is running. Such answers are logged as exposures outside the experiment.',
    schema: { type: 'string', enum: ['control', 'candidate'] },
  },
};

interface FieldProblem {
  field: string;
  message: string;
}

/** Parses and bounds the query string of GET /v1/recall; every problem names its parameter. */
export function parseRecallQuery(
  q: Record<string, unknown>,
  limits: { maxK: number; defaultBeta: number },
): { ok: true; req: RecallRequest } | { ok: false; errors: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const str = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      errors.push({ field: name, message: 'give it once' });
      return undefined;
    }
    return v;
  };
  const known = new Set(Object.keys(RECALL_PARAMS));
  for (const name of Object.keys(q))
    if (!known.has(name)) errors.push({ field: name, message: 'unknown parameter' });
  const userId = str('user_id');
  if ((userId === undefined && q.user_id === undefined) || (userId !== undefined && !ID_PATTERN.test(userId)))
    errors.push({ field: 'user_id', message: `required, matching ${ID_PATTERN.source}` });
  const kRaw = str('k') ?? '50';
  const k = /^\d{1,6}$/.test(kRaw) ? Number(kRaw) : Number.NaN;
  if (!(k >= 1 && k <= limits.maxK))
    errors.push({ field: 'k', message: `a whole number from 1 to ${limits.maxK}` });
  const betaRaw = str('popularity_beta');
  const beta =
    betaRaw === undefined ? limits.defaultBeta : DECIMAL.test(betaRaw) ? Number(betaRaw) : Number.NaN;
  if (!(beta >= 0 && beta <= MAX_BETA))
    errors.push({ field: 'popularity_beta', message: `a number from 0 to ${MAX_BETA}` });
  const conditions: Condition[] = [];
  const list = (name: string, op: 'in' | 'not in') => {
    const v = str(name);
    if (v === undefined) return;
    // no empty values (`a,,b`, `a,`): the document's pattern refuses them, so the parser does too
    const values = v.split(',');
    if (values.length > 64) errors.push({ field: name, message: 'from 1 to 64 comma-separated values' });
    else if (!values.every((x) => CATEGORY.test(x)))
      errors.push({
        field: name,
        message: "values of letters, digits, spaces and _ . - & ( ) ' only, 1 to 64 characters each",
      });
    else conditions.push({ field: 'category', op, values });
  };
  list('category', 'in');
  list('exclude_category', 'not in');
  const time = (name: string, op: '>=' | '<') => {
    const v = str(name);
    if (v === undefined) return;
    const ms = /^\d{1,13}$/.test(v) ? Number(v) : Number.NaN;
    if (!(ms <= MAX_TIMESTAMP_MS)) errors.push({ field: name, message: 'Unix milliseconds, up to 2100' });
    else conditions.push({ field: 'published_at', op, value: ms });
  };
  time('published_after', '>=');
  time('published_before', '<');
  const atRaw = str('at');
  let at: number | undefined;
  if (atRaw !== undefined) {
    // a fixed bound, not "now + a day": the OpenAPI document can state it, and a client can rely on it
    at = /^\d{1,13}$/.test(atRaw) ? Number(atRaw) : Number.NaN;
    if (!(at <= MAX_TIMESTAMP_MS)) errors.push({ field: 'at', message: 'Unix milliseconds, up to 2100' });
  }
  const excludeRaw = str('exclude_seen');
  if (excludeRaw !== undefined && excludeRaw !== 'true' && excludeRaw !== 'false')
    errors.push({ field: 'exclude_seen', message: 'true or false' });
  const arm = str('arm');
  if (arm !== undefined && arm !== 'control' && arm !== 'candidate')
    errors.push({ field: 'arm', message: 'control or candidate' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    req: {
      userId: userId as string,
      k,
      conditions,
      popularityBeta: beta,
      excludeSeen: excludeRaw !== 'false',
      ...(at !== undefined ? { at } : {}),
      ...(arm !== undefined ? { arm: arm as Arm } : {}),
    },
  };
}
