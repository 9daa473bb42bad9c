/** One sample of the online count, for the console's chart: the store's count at `at` (the pod's clock). */
export interface OnlineSample {
  readonly at: number;
  readonly online: number;
}

/** Samples kept: an hour at one per ONLINE_SAMPLE_MS. */
export const ONLINE_SAMPLE_MS = 10_000;
export const ONLINE_SAMPLES_KEPT = 360;

/**
 * The online count over the last hour, one sample per ONLINE_SAMPLE_MS for the whole deployment: every pod
 * offers one, and the first of each interval is kept. Implementations: `MemoryOnlineSeries` (single
 * node), `RedisOnlineSeries`.
 */
export interface OnlineSeries {
  /** Keeps `sample` unless another was kept less than ONLINE_SAMPLE_MS ago; true when kept. */
  offer(sample: OnlineSample): Promise<boolean>;
  /** The samples kept, oldest first. */
  read(): Promise<OnlineSample[]>;
}
