// The one way processes get their item vector store: the backend the configuration names.
import { MilvusConnection } from '../../clients/milvus/connection.js';
import type { Config } from '../../config/index.js';
import type { ItemVectorStore } from './index.js';
import { MilvusItemVectorStore } from './milvus.js';

export interface OpenOptions {
  /** Deadline of each call (the recall API's is short: it serves around a slow Milvus). */
  timeoutMs?: number;
  /** Another alias than the deployment's (a scratch set of versions: evaluations, benchmarks, tests). */
  alias?: string;
}

export function openItemVectors(
  cfg: Pick<Config, 'milvusAddress' | 'milvusToken' | 'milvusAlias'>,
  opts: OpenOptions = {},
): ItemVectorStore {
  return new MilvusItemVectorStore(
    MilvusConnection.fromConfig(cfg, opts.timeoutMs),
    opts.alias ?? cfg.milvusAlias,
  );
}
