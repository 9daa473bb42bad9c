import type { ErrorCode } from './wire.js';

/** The server refused something: a handshake (`unauthorized`) or a message (its ack's error code). */
export class PresenceError extends Error {
  override readonly name = 'PresenceError';

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** `value` as an Error (socket.io-client and user callbacks may reject with anything). */
export function asError(value: unknown, context?: string): Error {
  const error = value instanceof Error ? value : new Error(String(value));
  if (context === undefined) return error;
  return new Error(`${context}: ${error.message}`, { cause: error });
}
