import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { retryDelayMs } from '../../src/webhooks/retry-backoff.js';
import { registerCleanup } from './cleanup.js';

/** A webhook body as the contract defines it. */
export interface WebhookBody {
  type: 'presence.online' | 'presence.offline' | 'presence.meta';
  timestamp: string;
  data: PresenceEvent;
}

/** One request the receiver got. */
export interface Delivery {
  readonly at: number;
  readonly id: string;
  readonly headers: IncomingHttpHeaders;
  /** Null when the signature did not verify (the receiver then answers 400). */
  readonly body: WebhookBody | null;
  /** What the receiver answered. */
  readonly status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hooks` */
  readonly url: string;
  /** `whsec_…`, to give the app as WEBHOOK_SECRET. */
  readonly secret: string;
  readonly deliveries: Delivery[];
  /** Deliveries answered 2xx, in the order they were answered. */
  acknowledged(): Delivery[];
  /** Sets what verified deliveries are answered from now on (the status code). */
  answer(status: number): void;
  /**
   * How long a test may wait, from now, for the backlog once it answers 2xx again: the longest retry
   * pending after the outage so far (longestPendingRetryMs) and 15 s for the rest, or `atLeastMs`.
   */
  backlogWaitMs(atLeastMs: number): number;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on 127.0.0.1 and a free port that verifies every delivery with the
 * `standardwebhooks` package, as a backend would, answers 400 to a bad signature, and otherwise what
 * it was told to (200 by default). Closed by the file's cleanup if the test does not close it.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secret = `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`;
  const verifier = new Webhook(secret);
  const deliveries: Delivery[] = [];
  let status = 200;
  let downSince: number | null = null;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: WebhookBody | null = null;
      try {
        body = verifier.verify(text, request.headers as Record<string, string>) as WebhookBody;
      } catch {
        body = null;
      }
      const answered = body === null ? 400 : status;
      deliveries.push({ at: Date.now(), id: String(request.headers['webhook-id']), headers: request.headers, body, status: answered });
      response.writeHead(answered, { 'content-type': 'text/plain' }).end(answered < 300 ? 'ok' : 'no');
    });
  });
  // Node's default (5 s), as a backend's would be. At 1 s the server announces `Keep-Alive: timeout=1`,
  // which Node's client agent takes as too short to reuse: every webhook was a new connection, for the
  // pods and for the soak's generator (which hosts this receiver) alike.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const unregister = registerCleanup(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    secret,
    deliveries,
    acknowledged: () => deliveries.filter((d) => d.status >= 200 && d.status < 300),
    answer(next) {
      const up = next >= 200 && next < 300;
      if (up) downSince = null;
      else downSince ??= Date.now();
      status = next;
    },
    // From how long it has answered verified deliveries with a non-2xx status (0 while it answers 2xx).
    backlogWaitMs: (atLeastMs) => Math.max(atLeastMs, longestPendingRetryMs(downSince === null ? 0 : Date.now() - downSince) + 15_000),
    async close() {
      unregister();
      await close();
    },
  };
}

/**
 * The longest a webhook retry scheduled during an outage of `outageMs` may still be waiting when the
 * receiver answers 2xx again: the contract's backoff doubles up to 5 min, so after 20 s of failures the
 * pending retry may be 32 s away (a test that waited a fixed 30 s failed in CI on exactly that).
 * Retry n is scheduled no sooner than the shortest delays of the n - 1 before it add up to.
 */
export function longestPendingRetryMs(outageMs: number): number {
  let longest = 0;
  let scheduledNoSoonerThan = 0;
  for (let retry = 1; scheduledNoSoonerThan <= outageMs; retry += 1) {
    longest = Math.max(longest, retryDelayMs(retry, 1));
    scheduledNoSoonerThan += retryDelayMs(retry, 0);
  }
  return longest;
}
