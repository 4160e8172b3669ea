// Float32 vectors as bytes in Redis/HBase: little-endian float32, 4 bytes per dimension.

export function encodeVector(v: Float32Array | readonly number[]): Buffer {
  const f = v instanceof Float32Array ? v : Float32Array.from(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
}

/** Copies: a Buffer from a client may sit at an offset that is not a multiple of 4 in a shared pool. */
export function decodeVector(b: Buffer): Float32Array {
  if (b.byteLength % 4 !== 0) throw new Error(`vector bytes must be a multiple of 4, got ${b.byteLength}`);
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}
