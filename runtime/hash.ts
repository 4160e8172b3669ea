/**
 * FNV-1a 32-bit (unsigned): stable across processes and languages, cheap; used to spread keys
 * over buckets and as a short fingerprint of an id. `basis` other than the standard offset basis
 * gives an independent second hash.
 */
export function fnv1a(text: string, basis = 0x811c9dc5): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
