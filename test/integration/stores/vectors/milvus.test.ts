import { loadConfig } from '../../../../config/index.js';
import { openItemVectors } from '../../../../stores/vectors/open.js';
import { itemVectorStoreContract } from './contract.js';

// The item vector store's contract against each backend on its real server (one line each).
const cfg = loadConfig();
itemVectorStoreContract(`milvus (${cfg.milvusEngine})`, (alias) => openItemVectors(cfg, { alias }));
