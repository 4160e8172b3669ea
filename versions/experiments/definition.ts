import { ModelRegistry } from '../registry.js';

export type ExperimentMode = 'ab' | 'shadow';
export type ExperimentState = 'running' | 'promoted' | 'aborted';

/** An experiment as every recall API instance reads it (DESIGN.md §9). */
export interface ExperimentDefinition {
  name: string;
  /** The Milvus alias (and live pointer) whose traffic is split. */
  alias: string;
  mode: ExperimentMode;
  /** The version live when the experiment started: the control arm serves it throughout. */
  control: string;
  candidate: string;
  /** Share of users in the candidate arm (ab), or of requests the candidate shadows (shadow). */
  share: number;
  startedAt: string;
  state: ExperimentState;
  endedAt?: string;
}

export interface StartRequest {
  name: string;
  candidate: string;
  share?: number;
  mode?: string;
}

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** Experiment names become Redis key parts and Prometheus label values. */
export const EXPERIMENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The definition a start request asks for, or an error naming the bad field. */
export function defineExperiment(
  req: StartRequest,
  live: { alias: string; version: string } | undefined,
  now: Date,
): ExperimentDefinition {
  if (!EXPERIMENT_NAME.test(req.name))
    throw new ExperimentError(`--name must match ${EXPERIMENT_NAME.source}, got ${JSON.stringify(req.name)}`);
  if (!ModelRegistry.isVersionName(req.candidate))
    throw new ExperimentError(
      `--candidate must be a model version name (vYYYYMMDD-HHMMSS), got ${JSON.stringify(req.candidate)}`,
    );
  const mode = req.mode ?? 'ab';
  if (mode !== 'ab' && mode !== 'shadow')
    throw new ExperimentError(`--mode must be ab or shadow, got ${JSON.stringify(mode)}`);
  const share = req.share ?? 0.1;
  if (!(share > 0 && share < 1))
    throw new ExperimentError(`--share must be strictly between 0 and 1, got ${share}`);
  if (!live)
    throw new ExperimentError('no live model version yet: publish one with `towerflow batch run` first');
  if (live.version === req.candidate)
    throw new ExperimentError(`--candidate ${req.candidate} is already the live version: nothing to compare`);
  return {
    name: req.name,
    alias: live.alias,
    mode,
    control: live.version,
    candidate: req.candidate,
    share,
    startedAt: now.toISOString(),
    state: 'running',
  };
}

/** The version serving an arm. */
export const versionOfArm = (d: ExperimentDefinition, arm: 'control' | 'candidate'): string =>
  arm === 'candidate' ? d.candidate : d.control;

/**
 * The versions a running experiment serves besides the live one, which the stream processors
 * keep current too (ID rows, item bypass): its candidate, and its control once another version
 * went live.
 */
export function versionsBeside(live: string, experiment: ExperimentDefinition | undefined): string[] {
  if (!experiment) return [];
  return [...new Set([experiment.control, experiment.candidate])].filter((v) => v !== live);
}
