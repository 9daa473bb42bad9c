import { webhookHeaders, type WebhookMessage } from './webhook-message.js';

/** A delivery that is not answered 2xx within this long is retried (the contract's 10 s). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Sends one attempt of a webhook; resolves true when the receiver acknowledged it (2xx in time). */
export interface WebhookSender {
  send(message: WebhookMessage, attemptAtMs: number): Promise<boolean>;
}

/** POSTs to WEBHOOK_URL with Node's own fetch, signed per attempt. Redirects are not followed: only a 2xx counts. */
export class HttpWebhookSender implements WebhookSender {
  constructor(
    private readonly url: string,
    private readonly key: Buffer,
  ) {}

  async send(message: WebhookMessage, attemptAtMs: number): Promise<boolean> {
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: webhookHeaders(message, this.key, attemptAtMs),
        body: message.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status < 300;
    } catch {
      return false; // refused, reset, timed out: all the same to the retry schedule
    }
  }
}
