// The tools' seeded generator (mulberry32), so "random" sequences in tests replay exactly from their seed.
export { mulberry32 } from '../../../scripts/mulberry32.mjs';

/** An integer in [min, max]. */
export function intBetween(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
