import http from 'node:http';
import https from 'node:https';
import { webhookHeaders, type WebhookMessage } from './webhook-message.js';

/** A delivery that is not answered 2xx within this long is retried (the contract's 10 s). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Sends one attempt of a webhook; resolves true when the receiver acknowledged it (2xx in time). */
export interface WebhookSender {
  send(message: WebhookMessage, attemptAtMs: number): Promise<boolean>;
}

/** How long a connection is kept idle for the next webhook, unless the receiver's `Keep-Alive` says less (as fetch's client did). */
const IDLE_KEPT_MS = 4_000;

/**
 * POSTs to WEBHOOK_URL with Node's `http`/`https` over kept-alive connections, signed per attempt. An
 * attempt is acknowledged when a 2xx answer has arrived whole within the deadline; a receiver that
 * dribbles its body past it is retried (same `webhook-id`). Redirects are not followed: only a 2xx counts.
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
    // Without `timeout` Node keeps an idle socket for good, whatever the receiver's `Keep-Alive` hint:
    // with it, the shorter of the two. Idle sockets are unref'd, so they never hold a stopping pod open.
    this.agent = new this.client.Agent({ keepAlive: true, timeout: IDLE_KEPT_MS });
  }

  send(message: WebhookMessage, attemptAtMs: number): Promise<boolean> {
    return this.post(message, attemptAtMs, Date.now() + this.timeoutMs, true);
  }

  private post(message: WebhookMessage, attemptAtMs: number, deadlineAt: number, mayRetry: boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const request = this.client.request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: { ...webhookHeaders(message, this.key, attemptAtMs), 'content-length': Buffer.byteLength(message.body), 'user-agent': USER_AGENT },
      });
      // The whole attempt, not the socket's idleness: a receiver that dribbles its answer is still late.
      const deadline = setTimeout(() => request.destroy(), Math.max(0, deadlineAt - Date.now()));
      const settle = (acknowledged: boolean | Promise<boolean>): void => {
        clearTimeout(deadline);
        resolve(acknowledged);
      };
      let answered = false;
      request.on('error', () => {
        // A kept-alive connection the receiver closed just as this attempt took it: once more, at once,
        // on a new one, rather than a failed attempt and a retry a second later.
        if (mayRetry && request.reusedSocket && !answered && Date.now() < deadlineAt) settle(this.post(message, attemptAtMs, deadlineAt, false));
        // Refused, reset, timed out: all the same to the retry schedule.
        else settle(false);
      });
      request.on('response', (response) => {
        answered = true;
        const acknowledged = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
        response.on('error', () => settle(false));
        // After 'end' on a whole answer; cut short (the deadline, a reset), it is incomplete.
        response.on('close', () => settle(acknowledged && response.complete));
        response.resume(); // the body is not read, but drained, so the connection can be reused
      });
      request.end(message.body);
    });
  }
}

const USER_AGENT = 'vj-presence-webhooks';
