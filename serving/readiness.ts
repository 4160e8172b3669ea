import type { HealthReport } from '../runtime/health.js';
import type { RecallDeps } from './recall.js';

/** How long a probe waits on each dependency before counting it as unavailable. */
const PROBE_TIMEOUT_MS = 1000;

/** The value, or undefined when it fails or takes longer than `ms` (a probe must answer). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The recall API can answer now when the live model is loaded (personal answers) or the
 * popularity store answers (popular ones; empty on a stack that has counted nothing yet). Live:
 * always, while the process serves HTTP. Asked at each probe: nothing is remembered from an
 * earlier failure.
 */
export async function recallHealth(
  deps: Pick<RecallDeps, 'models' | 'popularity'>,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<HealthReport> {
  const [live, top] = await Promise.all([
    within(
      Promise.resolve().then(() => deps.models.current()),
      timeoutMs,
    ),
    within(
      Promise.resolve().then(() => deps.popularity.top('all', 1)),
      timeoutMs,
    ),
  ]);
  const model = live?.pointer.version ?? null;
  const popularity = top !== undefined;
  return { live: true, ready: model !== null || popularity, model, popularity };
}
