import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { architectureMermaid } from './architecture.js';
import { architecturePng } from './architecture-png.js';
import { gitFirstSeen, withDecisionsIndex } from './decisions-index.js';
import { withGeneratedBlock } from './markers.js';

export const ARCHITECTURE_BLOCK = 'architecture';

/** Rewrites the generated parts of docs/: the architecture picture (Mermaid and PNG) and the decisions index. */
export function generateDocs(root: string): string[] {
  const docs = path.join(root, 'docs');
  const architectureMd = path.join(docs, 'architecture.md');
  const md = readFileSync(architectureMd, 'utf8');
  writeFileSync(architectureMd, withGeneratedBlock(md, ARCHITECTURE_BLOCK, architectureMermaid()));
  const png = path.join(docs, 'architecture.png');
  writeFileSync(png, architecturePng());
  const decisions = path.join(docs, 'decisions.md');
  const text = readFileSync(decisions, 'utf8');
  writeFileSync(decisions, withDecisionsIndex(text, gitFirstSeen(root, 'docs/decisions.md')));
  return [architectureMd, png, decisions].map((f) => path.relative(root, f));
}
