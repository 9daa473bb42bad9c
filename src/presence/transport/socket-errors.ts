import { Logger } from '@nestjs/common';
import type { MetricsService } from '../../metrics/metrics.service.js';
import { ThrottledLog } from '../../logging/throttled-log.js';
import { ackError, type AckError } from '../domain/ack.js';

/**
 * Every refusal's log line, on a budget per code (see ThrottledLog): a client that floods bad messages
 * must not flood the log, and in a store outage every heartbeat of every streamer is refused.
 */
export const refusalLog = new ThrottledLog(new Logger('Refusal'));

/** A store failure as clients see it: `unavailable`, and nothing changed. The cause goes to the log, never to the client. */
export function unavailable(error: unknown): AckError {
  refusalLog.write('store call failed', { msg: 'store call failed', error: error instanceof Error ? error.message : String(error) }, Date.now(), 'warn');
  return ackError('unavailable', 'presence store unavailable; nothing changed, try again');
}

/** Who was refused, for the log line. */
export interface RefusalContext {
  readonly pod: string;
  readonly socketId: string;
  readonly streamerId?: string;
  readonly event: string;
}

/** Counts and logs a refusal, and returns it as the ack to send. */
export function refusal<T extends AckError>(metrics: MetricsService, context: RefusalContext, ack: T): T {
  metrics.refusals.inc({ code: ack.error.code });
  refusalLog.write(ack.error.code, { msg: 'refused', code: ack.error.code, ...context }, Date.now());
  return ack;
}
