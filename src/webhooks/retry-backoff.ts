/** The first retry comes within this (and no sooner than half of it). */
export const FIRST_RETRY_MS = 1_000;
/** Retries are never further apart than this. */
export const MAX_RETRY_MS = 5 * 60_000;

/**
 * How long to wait before retry number `retry` (1 for the first): exponential, capped, with "equal
 * jitter" (half fixed, half random), so a receiver that comes back is not hit by every pod at once and
 * the first retry still comes within 2 s. `random` is in [0, 1).
 */
export function retryDelayMs(retry: number, random: number): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
