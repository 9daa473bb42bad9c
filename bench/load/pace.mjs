import { sleep } from './clock.mjs';

/**
 * Starts `start(item, index)` for each item at `ratePerSec` (open loop: it does not wait for one to
 * finish before starting the next), then resolves with all their results. A rate of 0 starts all at once.
 */
export async function paced(items, ratePerSec, start) {
  const started = [];
  const t0 = performance.now();
  let next = 0;
  while (next < items.length) {
    const due = ratePerSec > 0 ? Math.min(items.length, Math.floor(((performance.now() - t0) / 1000) * ratePerSec) + 1) : items.length;
    for (; next < due; next++) started.push(start(items[next], next));
    if (next < items.length) await sleep(5);
  }
  return Promise.all(started);
}
