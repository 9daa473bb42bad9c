/** An `occupancy` notice for a streamer's connections on one pod. */
export interface OccupancyNotice {
  readonly streamerId: string;
  readonly viewers: number;
}

/**
 * Messages to one pod by its name (POD_NAME): how a notice claimed on one pod reaches the pods holding the
 * streamer's connections, and only those. Best effort, like the adapter's emits: a pod that is down
 * misses it. Implementations: `LocalPodChannel` (single node: there is no other pod) and
 * `RedisPodChannel` (a sharded Pub/Sub channel per pod).
 */
export interface PodChannel {
  send(pod: string, notice: OccupancyNotice): void;
  /** Where this pod's messages go. */
  receive(handler: (notice: OccupancyNotice) => void): void;
}
