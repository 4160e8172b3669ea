import { ExitCode, UserFacingError } from '../runtime/errors.js';

/** Training produced non-finite numbers: nothing is published, the live version keeps serving. */
export class TrainingDivergedError extends UserFacingError {
  override name = 'TrainingDivergedError';
  constructor(cause: string) {
    super({
      cause,
      fix: 'retry the run; if it diverges again, train on another window (--date, --window-days) or report it',
      exitCode: ExitCode.REFUSED,
    });
  }
}

/**
 * Refuses a model whose training loss went non-finite or whose item tower yields non-finite
 * vectors: publishing it would serve garbage. The live version keeps serving.
 */
export function assertConverged(
  losses: readonly { step: number; loss: number }[],
  vectors?: Float32Array,
): void {
  const bad = losses.find((l) => !Number.isFinite(l.loss));
  if (bad)
    throw new TrainingDivergedError(
      `training diverged: loss ${bad.loss} at step ${bad.step}; not published, the live version keeps serving`,
    );
  if (vectors && !vectors.every(Number.isFinite))
    throw new TrainingDivergedError(
      'training diverged: the new item tower produces non-finite vectors; not published, the live version keeps serving',
    );
}
