import { Webhook } from 'standardwebhooks';
import type { PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import { retryDelayMs } from '../../../src/webhooks/retry-backoff.js';
import { webhookHeaders, webhookMessage } from '../../../src/webhooks/webhook-message.js';

const key = Buffer.alloc(32, 9);
const secret = `whsec_${key.toString('base64')}`;
const event: PresenceEvent = { streamerId: 'alice', status: 'offline', since: 1_796_000_000_000, version: 1_796_000_000_123_000, reason: 'timeout' };

test('signed as Standard Webhooks: the reference library verifies it and reads back the contract body', () => {
  const at = 1_796_000_000_500;
  const message = webhookMessage(event, at);
  const now = Date.now();
  const headers = webhookHeaders(message, key, now);
  expect(headers['webhook-id']).toBe('alice:1796000000123000');
  expect(headers['webhook-timestamp']).toBe(String(Math.floor(now / 1000)));
  expect(new Webhook(secret).verify(message.body, headers)).toEqual({ type: 'presence.offline', timestamp: new Date(at).toISOString(), data: event });
  // Another key, or a body changed in flight, does not verify.
  expect(() => new Webhook(`whsec_${Buffer.alloc(32, 8).toString('base64')}`).verify(message.body, headers)).toThrow();
  expect(() => new Webhook(secret).verify(message.body.replace('timeout', 'ended'), headers)).toThrow();
});

test.each([
  [{ ...event, status: 'online', reason: 'connected' } as PresenceEvent, 'presence.online'],
  [{ ...event, status: 'online', reason: 'meta', meta: { title: 'x' } } as PresenceEvent, 'presence.meta'],
  [{ ...event, reason: 'ended' } as PresenceEvent, 'presence.offline'],
  [{ ...event, reason: 'disconnected' } as PresenceEvent, 'presence.offline'],
])('%j is a %s', (e, type) => {
  expect(JSON.parse(webhookMessage(e, 0).body).type).toBe(type);
});

test('retries: the first within 2 s, doubling, never more than 5 min apart, jittered', () => {
  expect(retryDelayMs(1, 0)).toBe(500);
  expect(retryDelayMs(1, 0.999)).toBeLessThanOrEqual(2_000);
  expect(retryDelayMs(2, 0)).toBe(1_000);
  expect(retryDelayMs(5, 0)).toBe(8_000);
  expect(retryDelayMs(30, 0.999)).toBeLessThanOrEqual(300_000);
  expect(retryDelayMs(30, 0)).toBe(150_000);
});
