// Seeded randomness shared by the bench's delivery plan, the fuzzer's frame choices and the tests'
// random histories (through test/unit/presence/prng.ts; its types are in mulberry32.d.mts), so a seed
// replays the same sequence everywhere, on every platform.

/** mulberry32: small, fast, and the same sequence on every platform for one seed. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
