/** Stable string hashes: ids of imported pairs, and which side of the held-out split a ranking falls on. */

/** FNV-1a, 32 bits. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A hash of `text` scaled to [0, 1): FNV-1a, then murmur3's finaliser, so that strings differing in the
 * last character ("r1", "r2") spread out.
 */
export function hashFraction(text: string): number {
  let h = fnv1a(text);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
