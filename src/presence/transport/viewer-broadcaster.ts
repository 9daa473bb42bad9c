import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { PresencePublisher } from '../application/presence-publisher.port.js';
import type { PresenceEvent } from '../domain/presence-state.js';
import type { DashboardServerEvents, ViewerServerEvents } from './event-maps.js';
import { streamerRoom } from './rooms.js';

/** The room every `/dashboard` socket joins: the dashboard sees every event. */
export const DASHBOARD_ROOM = 'all-streamers';

/**
 * Emits presence events to the room of their streamer on `/viewer`: one emit, which the Socket.IO adapter
 * delivers to subscribed sockets on every pod. Kept apart from the gateway so that the service it serves
 * and the gateway that uses the service do not depend on each other.
 */
@Injectable()
export class ViewerBroadcaster implements PresencePublisher {
  private readonly logger = new Logger(ViewerBroadcaster.name);
  private namespace: Namespace<Record<string, never>, ViewerServerEvents> | null = null;
  private dashboard: Namespace<Record<string, never>, DashboardServerEvents> | null = null;

  attach(namespace: Namespace<Record<string, never>, ViewerServerEvents>): void {
    this.namespace = namespace;
  }

  attachDashboard(namespace: Namespace<Record<string, never>, DashboardServerEvents>): void {
    this.dashboard = namespace;
  }

  publish(event: PresenceEvent): void {
    if (this.namespace === null) {
      this.logger.warn({ msg: 'event before the viewer namespace is up; dropped', streamerId: event.streamerId });
      return;
    }
    this.namespace.to(streamerRoom(event.streamerId)).emit('presence', event);
    // Volatile: dropped for a dashboard socket whose transport is still busy, never queued behind it.
    this.dashboard?.to(DASHBOARD_ROOM).volatile.emit('presence', event);
  }

  /** The same, to this pod's sockets only (not through the adapter): a replay after an outage. */
  publishLocal(event: PresenceEvent): void {
    this.namespace?.local.to(streamerRoom(event.streamerId)).emit('presence', event);
    this.dashboard?.local.to(DASHBOARD_ROOM).volatile.emit('presence', event);
  }

  /**
   * Tells the viewers on THIS pod (`local`: not through the adapter) that events may have been missed,
   * so they subscribe again for fresh snapshots.
   */
  resync(): void {
    this.namespace?.local.emit('resync');
    this.dashboard?.local.emit('resync');
  }
}
