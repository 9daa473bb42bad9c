/**
 * The version of a streamer's next event: strictly above the previous one and never below the clock in
 * microseconds. Tying versions to time keeps them increasing when the store lost its memory (a Redis
 * restarted empty, an embedded node restarted), so a client that kept the highest version it saw never
 * drops a real event as stale. ms × 1000 stays a safe integer until the year 2255, and leaves room for a
 * thousand events per streamer per millisecond before versions run ahead of the clock.
 */
export function nextVersion(previous: number, nowMs: number): number {
  return Math.max(previous + 1, nowMs * 1000);
}
