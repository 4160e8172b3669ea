import { describe, expect, it } from 'vitest';
import { emptyBlock, generatedBlock, withGeneratedBlock } from '../../../../cli/docs/markers.js';

describe('generated blocks in Markdown', () => {
  const doc = `# Title\n\nby hand\n\n${emptyBlock('a')}\n\n${emptyBlock('b')}\n\nby hand too\n`;

  it('replaces one block and leaves the text around it and the other blocks alone', () => {
    const out = withGeneratedBlock(doc, 'a', '| x |\n|---|');
    expect(generatedBlock(out, 'a')).toBe('| x |\n|---|');
    expect(generatedBlock(out, 'b')).toBe('');
    expect(withGeneratedBlock(out, 'a', '')).toBe(doc);
  });

  it('replacing a block with what it holds changes nothing', () => {
    const out = withGeneratedBlock(doc, 'b', 'body');
    expect(withGeneratedBlock(out, 'b', generatedBlock(out, 'b'))).toBe(out);
  });

  it('names the block it cannot find', () => {
    expect(() => generatedBlock(doc, 'c')).toThrow(/BEGIN GENERATED c/);
  });
});
