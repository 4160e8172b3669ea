import type { Config } from '../config/index.js';
import type { Logger } from '../runtime/logger.js';
import { embeddingsProcessor } from './processors/embeddings.js';
import { experimentsProcessor } from './processors/experiments.js';
import { historyProcessor } from './processors/history.js';
import { itemsProcessor } from './processors/items.js';
import { sequenceProcessor } from './processors/sequence.js';
import type { StreamProcessor } from './runtime.js';

/** The processors `towerflow stream NAME` can run. */
export const PROCESSORS: Record<string, (cfg: Config, log: Logger) => StreamProcessor> = {
  history: historyProcessor,
  sequence: sequenceProcessor,
  items: itemsProcessor,
  embeddings: embeddingsProcessor,
  experiments: experimentsProcessor,
};
