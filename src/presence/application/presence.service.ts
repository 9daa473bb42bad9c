import { Inject, Injectable } from '@nestjs/common';
import type { Meta, PresenceState } from '../domain/presence-state.js';
import type { OnlinePage, PresenceStore, StoreResult } from '../domain/presence-store.port.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ConnectionQueue } from './connection-queue.js';
import { PRESENCE_PUBLISHER, PRESENCE_STORE } from './injection-tokens.js';
import type { PresencePublisher } from './presence-publisher.port.js';

/**
 * Runs presence changes against the store and publishes the events the store returns. It holds no
 * presence state of its own: the store decides, this service only sequences and delivers.
 */
@Injectable()
export class PresenceService {
  private readonly queue = new ConnectionQueue();

  constructor(
    @Inject(PRESENCE_STORE) private readonly store: PresenceStore,
    @Inject(PRESENCE_PUBLISHER) private readonly publisher: PresencePublisher,
    private readonly metrics: MetricsService,
  ) {}

  connect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.queue.run(connectionId, () => this.deliver(this.store.connect(streamerId, connectionId)));
  }

  heartbeat(streamerId: string, connectionId: string, meta: Meta | undefined): Promise<StoreResult> {
    this.metrics.heartbeats.inc();
    return this.queue.run(connectionId, () => this.deliver(this.store.heartbeat(streamerId, connectionId, meta)));
  }

  disconnect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.queue.run(connectionId, () => this.deliver(this.store.disconnect(streamerId, connectionId)));
  }

  end(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.queue.run(connectionId, () => this.deliver(this.store.end(streamerId)));
  }

  /** Claims leases past their deadline; called by the sweeper. */
  expireDue(limit: number): Promise<StoreResult> {
    return this.deliver(this.store.expireDue(limit));
  }

  snapshot(streamerIds: readonly string[]): Promise<PresenceState[]> {
    return this.store.getMany(streamerIds);
  }

  listOnline(afterId: string | null, limit: number): Promise<OnlinePage> {
    return this.store.listOnline(afterId, limit);
  }

  countOnline(): Promise<number> {
    return this.store.countOnline();
  }

  /** Resolves once no connection has a store operation in flight, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private async deliver(pending: Promise<StoreResult>): Promise<StoreResult> {
    const result = await pending;
    for (const event of result.events) {
      this.publisher.publish(event);
      this.metrics.recordEvent(event, result.serverTime);
    }
    return result;
  }
}
