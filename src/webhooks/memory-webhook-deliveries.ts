import { DELIVERIES_KEPT, type WebhookDeliveries, type WebhookDelivery } from './webhook-deliveries.port.js';

/** Webhook outcomes in this process's memory: single node only, for at most `maxStreamers` streamers. */
export class MemoryWebhookDeliveries implements WebhookDeliveries {
  private readonly byStreamer = new Map<string, WebhookDelivery[]>();

  /** @param maxStreamers streamers remembered; the least recently delivered go first @default 10000 */
  constructor(private readonly maxStreamers = 10_000) {}

  async record(delivery: WebhookDelivery): Promise<void> {
    const list = this.byStreamer.get(delivery.streamerId) ?? [];
    this.byStreamer.delete(delivery.streamerId);
    this.byStreamer.set(delivery.streamerId, [delivery, ...list].slice(0, DELIVERIES_KEPT));
    if (this.byStreamer.size > this.maxStreamers) this.byStreamer.delete(this.byStreamer.keys().next().value!);
  }

  async recent(streamerId: string): Promise<WebhookDelivery[]> {
    return [...(this.byStreamer.get(streamerId) ?? [])];
  }
}
