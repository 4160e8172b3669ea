// One Redis value format for vectors that are only valid with something else (a model version,
// a cache stamp): `{tag}\n{base64 of float32 little-endian}`. Used by the cached user vectors
// and the incremental ID rows.

export function encodeTagged(tag: string, vector: Float32Array): string {
  return `${tag}\n${Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64')}`;
}

/** The tag and vector of a value written by encodeTagged; undefined for anything else. */
export function decodeTagged(raw: string): { tag: string; vector: Float32Array } | undefined {
  const nl = raw.indexOf('\n');
  if (nl < 0) return undefined;
  const buf = Buffer.from(raw.slice(nl + 1), 'base64');
  if (buf.byteLength % 4 !== 0) return undefined;
  // copied: a Buffer's offset into its pool need not be 4-byte aligned
  return {
    tag: raw.slice(0, nl),
    vector: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)),
  };
}
