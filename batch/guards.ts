export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
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
