import { describe, expect, it } from 'vitest';
import { appendRecent, recentFingerprint, recentSet } from '../../../../stores/embeddings/recent.js';

describe("a user's latest applied event fingerprints", () => {
  it('are 8 bytes an event, appended, the oldest dropped beyond the limit', () => {
    const one = appendRecent(Buffer.alloc(0), ['e1']);
    expect(one).toEqual(recentFingerprint('e1'));
    const three = appendRecent(one, ['e2', 'e3'], 2);
    expect(three).toEqual(Buffer.concat([recentFingerprint('e2'), recentFingerprint('e3')]));
    expect(recentSet(three)).toEqual(
      new Set([recentFingerprint('e2').toString('hex'), recentFingerprint('e3').toString('hex')]),
    );
  });

  it('tells event ids apart in both halves', () => {
    expect(recentFingerprint('e1').readUInt32BE(0)).toBe(2_216_349_443);
    // FNV-1a 32 again from another offset basis (0x050c5d1f)
    expect(recentFingerprint('e1').readUInt32BE(4)).toBe(4_271_032_365);
  });
});
