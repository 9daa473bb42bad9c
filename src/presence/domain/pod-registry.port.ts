/** What a pod says of itself on every beat: for the console's pods panel, and for occupancy's liveness. */
export interface PodStatus {
  /** This run of the pod (POD_NAME and a per-start suffix): a restarted pod is a new one. */
  readonly pod: string;
  /** POD_NAME. */
  readonly name: string;
  readonly startedAt: number;
  readonly streamers: number;
  readonly viewers: number;
  readonly ready: boolean;
  readonly draining: boolean;
}

/** A beat's answer: the pods that count now, and those newly found gone, which this caller forgets. */
export interface PodBeat {
  /** This pod was not registered: the first beat, or the registry lost it (Redis restarted empty, or the pod stalled past the TTL and was found gone). */
  readonly wasAbsent: boolean;
  /** The live pods' last statuses, with when each was seen (the registry's clock). */
  readonly live: ReadonlyArray<PodStatus & { readonly seenAt: number }>;
  /** Pods gone (silent past the TTL, or left), for this caller to forget, then report with `forgotten`. */
  readonly gone: readonly string[];
}

/**
 * Which pods are alive: each beats every POD_BEAT_MS, and one silent for POD_TTL_MS is gone. A gone pod is
 * handed to one beating pod to clean up after; if that one does not report it forgotten within a while,
 * it is handed out again. Implementations: `MemoryPodRegistry` (single node), `RedisPodRegistry`.
 */
export interface PodRegistry {
  beat(status: PodStatus): Promise<PodBeat>;
  /** Done cleaning up after a gone pod. */
  forgotten(pod: string): Promise<void>;
  /** This pod stops: gone at once, for the next beat of another to clean up after. */
  leave(pod: string): Promise<void>;
}
