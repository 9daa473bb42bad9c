/** The error codes an acknowledgement may carry (the contract's list; clients switch on them). */
export type ErrorCode =
  | 'invalid_payload'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unauthorized'
  | 'unavailable'
  | 'too_many_ids'
  | 'too_many_subscriptions';

export interface AckError {
  readonly ok: false;
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

export function ackError(code: ErrorCode, message: string): AckError {
  return { ok: false, error: { code, message } };
}

/** A parse either yields the value or the refusal to send back; it never throws. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | AckError;
