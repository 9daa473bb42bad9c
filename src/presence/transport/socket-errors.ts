import { ackError, type AckError } from '../domain/ack.js';

/** A store failure as clients see it: `unavailable`, and nothing changed. */
export function unavailable(error: unknown): AckError {
  return ackError('unavailable', `presence store unavailable: ${error instanceof Error ? error.message : String(error)}`);
}
