/**
 * The durations the timing rules relate. A value is absent when its variable did not parse; every rule
 * that needs it is then skipped, since the parse error already tells the operator what to fix.
 */
export interface Timing {
  readonly heartbeatIntervalMs?: number;
  readonly presenceTtlMs?: number;
  readonly lbIdleTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
}

export interface TimingFindings {
  /** Broken rules: the process must not start. */
  readonly errors: string[];
  /** Legal but fragile settings, worth a log line. */
  readonly warnings: string[];
}

/**
 * The smallest headroom below the load balancer's idle timeout, as a share of it, that we accept without a
 * warning: timer jitter, GC pauses and a slow network all eat into it, and a late heartbeat or ping past the
 * timeout gets the connection cut.
 */
export const MIN_LB_MARGIN_RATIO = 0.1;

/**
 * Socket.IO's pingInterval when PING_INTERVAL_MS is unset: 5/12 of the LB idle timeout, capped at Socket.IO's
 * own default. For the 60 s nginx default that is exactly Socket.IO's 25000, and it scales down with the LB
 * timeout so small test timings still satisfy the ping rule without extra settings.
 */
export function defaultPingIntervalMs(lbIdleTimeoutMs: number): number {
  return Math.max(1, Math.min(25_000, Math.floor((lbIdleTimeoutMs * 5) / 12)));
}

/** Socket.IO's pingTimeout when PING_TIMEOUT_MS is unset: a third of the LB idle timeout, capped at Socket.IO's 20000. */
export function defaultPingTimeoutMs(lbIdleTimeoutMs: number): number {
  return Math.max(1, Math.min(20_000, Math.floor(lbIdleTimeoutMs / 3)));
}

/** Checks the contract's start-up timing rules; a rule already broken is not warned about as well. */
export function checkTiming(timing: Timing): TimingFindings {
  const errors: string[] = [];
  const warnings: string[] = [];
  const { heartbeatIntervalMs: heartbeat, presenceTtlMs: ttl, lbIdleTimeoutMs: lb } = timing;
  const { pingIntervalMs: pingInterval, pingTimeoutMs: pingTimeout } = timing;

  if (heartbeat !== undefined && lb !== undefined) {
    const subject = `HEARTBEAT_INTERVAL_MS (${heartbeat})`;
    if (heartbeat >= lb) {
      errors.push(`${subject} must be less than LB_IDLE_TIMEOUT_MS (${lb})`);
    } else {
      const warning = marginWarning(subject, lb - heartbeat, lb);
      if (warning) warnings.push(warning);
    }
  }

  if (heartbeat !== undefined && ttl !== undefined) {
    if (heartbeat >= ttl) {
      errors.push(
        `HEARTBEAT_INTERVAL_MS (${heartbeat}) must be less than PRESENCE_TTL_MS (${ttl}), or streamers that heartbeat on time still expire`,
      );
    } else if (ttl < 2 * heartbeat) {
      warnings.push(
        `PRESENCE_TTL_MS (${ttl}) is under twice HEARTBEAT_INTERVAL_MS (${heartbeat}): a single lost or late heartbeat flips a streamer offline`,
      );
    }
  }

  if (pingInterval !== undefined && pingTimeout !== undefined && lb !== undefined) {
    const sum = pingInterval + pingTimeout;
    const subject = `PING_INTERVAL_MS + PING_TIMEOUT_MS (${pingInterval} + ${pingTimeout} = ${sum})`;
    if (sum >= lb) {
      errors.push(
        `${subject} must be less than LB_IDLE_TIMEOUT_MS (${lb}), so Socket.IO detects a dead connection before the load balancer drops it`,
      );
    } else {
      const warning = marginWarning(subject, lb - sum, lb);
      if (warning) warnings.push(warning);
    }
  }

  return { errors, warnings };
}

function marginWarning(subject: string, margin: number, lb: number): string | undefined {
  if (margin >= lb * MIN_LB_MARGIN_RATIO) return undefined;
  const percent = ((margin / lb) * 100).toFixed(1);
  const wanted = Math.ceil(lb * MIN_LB_MARGIN_RATIO);
  return `${subject} leaves only ${margin} ms (${percent} %) below LB_IDLE_TIMEOUT_MS (${lb}); keep at least 10 % (${wanted} ms) of headroom`;
}
