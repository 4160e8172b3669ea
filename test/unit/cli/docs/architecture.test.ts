import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { architectureMermaid, boxes, edges, groups } from '../../../../cli/docs/architecture.js';
import { ARCHITECTURE_BLOCK } from '../../../../cli/docs/generate.js';
import { generatedBlock } from '../../../../cli/docs/markers.js';
import { projectRoot } from '../../../../config/index.js';

const root = projectRoot();

describe('the architecture picture', () => {
  it('docs/architecture.md carries the generated Mermaid block as it is (`towerflow docs generate`)', () => {
    const md = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
    expect(generatedBlock(md, ARCHITECTURE_BLOCK)).toBe(architectureMermaid());
  });

  it('every box of a room names a folder that exists', () => {
    const missing = boxes.flatMap((b) => {
      const folder =
        b.group === 'streams'
          ? `streams/processors/${b.note}`
          : b.group === 'stores'
            ? `stores/${b.title}`
            : ['process', 'room', 'wire'].includes(b.kind)
              ? b.title
              : undefined;
      return folder && !existsSync(path.join(root, folder)) ? [`${b.id}: ${folder}`] : [];
    });
    expect(missing).toEqual([]);
  });

  it('every arrow joins two boxes or frames of the picture', () => {
    const ids = new Set([...boxes.map((b) => b.id), ...groups.map((g) => g.id)]);
    expect(edges.filter((e) => !ids.has(e.from) || !ids.has(e.to))).toEqual([]);
  });

  it('no two boxes of a row overlap', () => {
    const overlapping = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.row === b.row && a.x < b.x + b.w && b.x < a.x + a.w)
        .map((b) => `${a.id} / ${b.id}`),
    );
    expect(overlapping).toEqual([]);
  });
});
