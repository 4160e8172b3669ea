import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decisionsIndex,
  headingAnchor,
  INDEX_BLOCK,
  sectionHeadings,
  withDecisionsIndex,
} from '../../../../cli/docs/decisions-index.js';
import { emptyBlock, generatedBlock, withGeneratedBlock } from '../../../../cli/docs/markers.js';
import { projectRoot } from '../../../../config/index.js';

const doc = (index: string, sections: string[]) =>
  ['# Decisions', '', withGeneratedBlock(emptyBlock(INDEX_BLOCK), INDEX_BLOCK, index), '', ...sections].join(
    '\n',
  );

describe('the index of docs/decisions.md', () => {
  it('is current: one row per section, in order (`towerflow docs generate`)', () => {
    const text = readFileSync(path.join(projectRoot(), 'docs/decisions.md'), 'utf8');
    expect(generatedBlock(text, INDEX_BLOCK)).toBe(decisionsIndex(text));
  });

  it('dates a section by its heading, else keeps the date the index gives it, else asks', () => {
    const sections = ['## Kafka', 'text', '## Served quality (2026-12-07)', '## New one', 'text'];
    const first = withDecisionsIndex(doc('', sections), (h) => (h === 'Kafka' ? '2026-11-28' : '2026-12-08'));
    expect(generatedBlock(first, INDEX_BLOCK).split('\n').slice(2)).toEqual([
      '| 2026-11-28 | [Kafka](#kafka) |',
      '| 2026-12-07 | [Served quality (2026-12-07)](#served-quality-2026-12-07) |',
      '| 2026-12-08 | [New one](#new-one) |',
    ]);
    // regenerated later: the dates already given stay, whatever git would say now
    expect(withDecisionsIndex(first, () => '2030-01-01')).toBe(first);
    // a heading the index does not know yet makes the checked-in index stale
    const added = `${first}\n## Later\n`;
    expect(decisionsIndex(added)).toContain('| undated | [Later](#later) |');
  });

  it('leaves everything outside the markers as it is', () => {
    const text = doc('old', ['## A', 'body ## not a heading', '```', '## in a code block', '```']);
    const out = withDecisionsIndex(text, () => '2026-01-01');
    expect(out.replace(generatedBlock(out, INDEX_BLOCK), 'old')).toBe(text);
    expect(sectionHeadings(text)).toEqual(['A']);
  });

  it('links with the anchors GitHub gives headings', () => {
    expect(headingAnchor('HBase client')).toBe('hbase-client');
    expect(headingAnchor('Benchmarks (bench/, real local services)')).toBe(
      'benchmarks-bench-real-local-services',
    );
    expect(headingAnchor('Incremental user-ID rows (stream: `towerflow stream embeddings`)')).toBe(
      'incremental-user-id-rows-stream-towerflow-stream-embeddings',
    );
    expect(headingAnchor('2026-12-07: ties in time, items without an item row, a sparse benchmark')).toBe(
      '2026-12-07-ties-in-time-items-without-an-item-row-a-sparse-benchmark',
    );
  });

  it('refuses a document without the index markers', () => {
    expect(() => withDecisionsIndex('# Decisions\n## A\n')).toThrow(/BEGIN GENERATED index/);
  });
});
