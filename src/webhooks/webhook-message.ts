import { createHmac } from 'node:crypto';
import type { PresenceEvent } from '../presence/domain/presence-state.js';

/** The webhook types, by what the transition means to a backend. */
export type WebhookType = 'presence.online' | 'presence.offline' | 'presence.meta';

/** One delivery as it goes on the wire: Standard Webhooks headers and the JSON body. */
export interface WebhookMessage {
  /** `<streamerId>:<version>`, the same on every retry: the receiver's idempotency key. */
  readonly id: string;
  readonly body: string;
}

export function webhookType(event: PresenceEvent): WebhookType {
  if (event.reason === 'meta') return 'presence.meta';
  return event.status === 'online' ? 'presence.online' : 'presence.offline';
}

/** The message for one transition; `at` is when the store made it (ms, the store's clock). */
export function webhookMessage(event: PresenceEvent, at: number): WebhookMessage {
  return {
    id: `${event.streamerId}:${event.version}`,
    body: JSON.stringify({ type: webhookType(event), timestamp: new Date(at).toISOString(), data: event }),
  };
}

/**
 * The headers of one attempt: `webhook-timestamp` is the attempt's (Unix seconds), and the signature is
 * `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed with the secret's decoded bytes, as the
 * Standard Webhooks libraries verify it.
 */
export function webhookHeaders(message: WebhookMessage, key: Buffer, attemptAtMs: number): Record<string, string> {
  const timestamp = String(Math.floor(attemptAtMs / 1000));
  const signature = createHmac('sha256', key).update(`${message.id}.${timestamp}.${message.body}`).digest('base64');
  return {
    'content-type': 'application/json',
    'webhook-id': message.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}
