import type { NoticeDecision } from './occupancy.js';

/**
 * Where the pods' viewer counts meet. Implementations: `MemoryOccupancyStore` (single node only) and
 * `RedisOccupancyStore` (any number of pods).
 *
 * The contract every implementation keeps, and the occupancy contract suite checks:
 * - A pod's count of a streamer replaces its previous one; 0 removes it. Pods never see each other's
 *   counts change except through `record`, `forgetPod` and `counted`.
 * - Totals count only the pods `counted` accepts (the live ones): a dead pod stops counting at once.
 * - Notices: at most one per streamer per OCCUPANCY_NOTICE_INTERVAL_MS cluster-wide (`decideNotice`,
 *   on the store's one clock), claimed atomically, so two pods never both send one.
 * - Operations reject (never hang) when the store cannot be reached.
 */
export interface OccupancyStore {
  /** Sets `pod`'s counts of these streamers and returns their totals over the pods `counted` accepts. */
  record(pod: string, counts: ReadonlyMap<string, number>, counted: (pod: string) => boolean): Promise<Map<string, number>>;
  /** The streamers' totals over the pods `counted` accepts. */
  totals(streamerIds: readonly string[], counted: (pod: string) => boolean): Promise<Map<string, number>>;
  /**
   * Claims each streamer's next notice for its count (see decideNotice); a claimed one is recorded as
   * sent. A last notice is kept at least OCCUPANCY_KEY_TTL_MS after it was sent or found current.
   */
  claimNotices(counts: ReadonlyMap<string, number>, force?: boolean): Promise<Map<string, NoticeDecision>>;
  /** Removes every count of a pod that stopped counting; returns the streamers it had counted. */
  forgetPod(pod: string): Promise<string[]>;
}
