import type { MetricsService } from '../../metrics/metrics.service.js';
import { ackError, type AckError } from '../domain/ack.js';

/** A store failure as clients see it: `unavailable`, and nothing changed. */
export function unavailable(error: unknown): AckError {
  return ackError('unavailable', `presence store unavailable: ${error instanceof Error ? error.message : String(error)}`);
}

/** Counts a refusal by its code, and returns it as the ack to send. */
export function counted<T extends AckError>(metrics: MetricsService, ack: T): T {
  metrics.refusals.inc({ code: ack.error.code });
  return ack;
}
