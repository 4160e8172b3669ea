import { describe, expect, it } from 'vitest';
import { utf8Prefix } from '../../../../stores/vectors/item-fields.js';

describe('utf8Prefix', () => {
  it('cuts by UTF-8 bytes on a code-point boundary (Milvus VarChar lengths count bytes)', () => {
    expect(utf8Prefix('Comedy', 256)).toBe('Comedy');
    const cjk = '喜'.repeat(100); // 300 bytes
    const cut = utf8Prefix(cjk, 256);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(256);
    expect(cut).toBe('喜'.repeat(85));
    expect(utf8Prefix('a😀b', 4)).toBe('a'); // the emoji (4 bytes) does not fit after 'a'
  });
});
