import http from 'node:http';
import https from 'node:https';
import { webhookHeaders, type WebhookMessage } from './webhook-message.js';

/** A delivery that is not answered 2xx within this long is retried (the contract's 10 s). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Sends one attempt of a webhook; resolves true when the receiver acknowledged it (2xx in time). */
export interface WebhookSender {
  send(message: WebhookMessage, attemptAtMs: number): Promise<boolean>;
}

/**
 * POSTs to WEBHOOK_URL with Node's `http`/`https` over kept-alive connections, signed per attempt.
 * Redirects are not followed: only a 2xx counts.
 *
 * Not `fetch`: in the full-scale soak, stacks through Node's fetch (undici: WHATWG streams, an
 * AbortSignal timer per request, llhttp in wasm) were 14 % of the pods' busy CPU for about 130 webhooks
 * a second. A webhook answered 200 costs 150-200 µs of CPU this way against about 600 µs with fetch,
 * signing included (RELIABILITY.md, finding 16). The core `http` client is what engine.io and Nest's
 * own HTTP stack are built on, and needs no dependency; axios (`@nestjs/axios`) would wrap the same client.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly target: URL;
  private readonly client: typeof http | typeof https;
  private readonly agent: http.Agent;

  /**
   * @param timeoutMs how long an attempt may take, connect to the end of the answer. @default DELIVERY_TIMEOUT_MS
   */
  constructor(
    url: string,
    private readonly key: Buffer,
    private readonly timeoutMs = DELIVERY_TIMEOUT_MS,
  ) {
    this.target = new URL(url);
    this.client = this.target.protocol === 'https:' ? https : http;
    // Kept alive, as fetch's were; a socket the receiver closes while idle (its keep-alive timeout,
    // which Node reads from the `Keep-Alive` header) is dropped before it is reused. Idle sockets are
    // unref'd by the agent, so they never hold a stopping pod open.
    this.agent = new this.client.Agent({ keepAlive: true });
  }

  send(message: WebhookMessage, attemptAtMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const request = this.client.request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: { ...webhookHeaders(message, this.key, attemptAtMs), 'content-length': Buffer.byteLength(message.body) },
      });
      // The whole attempt, not the socket's idleness: a receiver that dribbles its answer is still late.
      const deadline = setTimeout(() => request.destroy(), this.timeoutMs);
      const settle = (acknowledged: boolean): void => {
        clearTimeout(deadline);
        resolve(acknowledged);
      };
      // Refused, reset, timed out: all the same to the retry schedule.
      request.on('error', () => settle(false));
      request.on('response', (response) => {
        const acknowledged = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
        response.on('end', () => settle(acknowledged));
        response.on('error', () => settle(false));
        response.on('aborted', () => settle(false));
        response.resume(); // the body is not read, but drained, so the connection can be reused
      });
      request.end(message.body);
    });
  }
}
