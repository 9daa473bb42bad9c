/**
 * Occupancy: how many viewer sockets are subscribed to a streamer, cluster-wide. Each pod counts its own
 * sockets (its rooms) and stores its count under its own name; the total is the sum over the pods that
 * still count, so a pod that dies stops counting as soon as it is known gone, before anyone cleans up.
 */

/** The least time between two `occupancy` events to one streamer (CONTRACT: at most once every 5 s). */
export const OCCUPANCY_NOTICE_INTERVAL_MS = 5_000;
/**
 * How long a count no pod writes again, or a last notice no one asks about, is kept. Pods write all their
 * counts again well within it (OccupancyService's refresh), which also keeps the notices asked about.
 */
export const OCCUPANCY_KEY_TTL_MS = 30 * 60_000;

/** The sum of the counts of the pods `counted` accepts; counts that are not whole non-negative numbers are skipped. */
export function totalOf(countsByPod: Iterable<readonly [string, number]>, counted: (pod: string) => boolean): number {
  let total = 0;
  for (const [pod, count] of countsByPod) if (counted(pod) && Number.isSafeInteger(count) && count > 0) total += count;
  return total;
}

/** The streamer's last `occupancy` event: its count, and when it was sent (the store's clock). */
export interface LastNotice {
  readonly viewers: number;
  readonly at: number;
}

/**
 * Send now (a store of many pods says to which: `holders`, the connection ids of the streamer's leases);
 * or not: `retryInMs` is when the interval allows the next one (ask again then), or null when there is
 * nothing new to send.
 */
export type NoticeDecision = { readonly send: true; readonly holders?: readonly string[] } | { readonly send: false; readonly retryInMs: number | null };

/**
 * Whether the streamer's connections may be told `viewers` at `now`. Nothing is sent when it is the count
 * they were last told, unless `force` (a claim whose answer was lost may have recorded a notice that was
 * never sent); never twice within the interval, whatever changes meanwhile: the caller asks again when it
 * ends, with the count then. With no last notice (never told, or forgotten), any count is news: callers
 * only ask after a count was written, so a 0 then is a drop someone must hear.
 */
export function decideNotice(last: LastNotice | null, viewers: number, now: number, force = false, intervalMs = OCCUPANCY_NOTICE_INTERVAL_MS): NoticeDecision {
  if (last === null) return { send: true };
  if (last.viewers === viewers && !force) return { send: false, retryInMs: null };
  const allowedAt = last.at + intervalMs;
  return now >= allowedAt ? { send: true } : { send: false, retryInMs: allowedAt - now };
}
