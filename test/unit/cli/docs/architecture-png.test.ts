import { describe, expect, it } from 'vitest';
import { architecturePng } from '../../../../cli/docs/architecture-png.js';

describe('architecturePng', () => {
  it('draws a PNG of the picture', () => {
    const png = architecturePng();
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height, big-endian, right after the signature and the chunk header
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1948, 1110]);
    // text, boxes and arrows on a white page compress to well over 50 kB; a blank page to ~10 kB
    expect(png.length).toBeGreaterThan(50_000);
  });
});
