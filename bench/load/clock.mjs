// Clocks of the load generators. Every process of the run is on this one machine, so times taken in
// different processes compare directly:
// - wallNow(): sub-millisecond wall-clock time, for latencies between two client processes;
// - Date.now(): the clock Redis `TIME` reads too (CLOCK_REALTIME), for comparing with server stamps
//   such as an offline event's `since` (its deadline on the store's clock).
export function wallNow() {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a message naming `what` if `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
