// Seeded randomness. Each connection draws from its own stream, so its frame choices replay with --seed
// however the connections' timing interleaves.

export { mulberry32 as prng } from '../mulberry32.mjs';

/** The seed of stream number `stream` of a run, spread so neighbouring streams do not correlate. */
export const streamSeed = (seed, stream) => (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;

export const int = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

export const pick = (r, list) => list[Math.floor(r() * list.length)];

/** One value of `[weight, value]` entries, in proportion to the weights. */
export function weighted(r, entries) {
  const total = entries.reduce((sum, [weight]) => sum + weight, 0);
  let x = r() * total;
  for (const [weight, value] of entries) {
    if ((x -= weight) < 0) return value;
  }
  return entries[entries.length - 1][1];
}

export function randomBytesFrom(r, length) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = int(r, 0, 255);
  return bytes;
}
