import type { WebhookView } from '../dashboard/console-api.js';

/** One outcome of a webhook, for the console. */
export type WebhookDelivery = WebhookView;

/** Outcomes kept per streamer: the console shows the latest of each transition among them. */
export const DELIVERIES_KEPT = 10;

/**
 * The recent webhook outcomes of each streamer, for the console: written by whichever pod delivers, best
 * effort (a lost record hides an outcome from the page, never a webhook), and kept as long as the
 * transition log keeps its events. Implementations: `MemoryWebhookDeliveries` (single node) and
 * `RedisWebhookDeliveries` (a list per streamer, under its shard's tag).
 */
export interface WebhookDeliveries {
  record(delivery: WebhookDelivery): Promise<void>;
  /** Newest first. */
  recent(streamerId: string): Promise<WebhookDelivery[]>;
}
