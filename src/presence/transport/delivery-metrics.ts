import type { Namespace, Socket } from 'socket.io';
import type { MetricsService } from '../../metrics/metrics.service.js';
import type { PresenceEvent } from '../domain/presence-state.js';

/**
 * Measures what this pod delivers to its viewers, whichever pod published it: every `presence` emit to
 * a socket (Socket.IO's public outgoing-packet hook), and how long after the store decided the event it
 * went out. A version is max(previous + 1, decision time in µs), so version / 1000 is the decision time
 * on the store's clock.
 */
export function measureDeliveries(socket: Socket, metrics: MetricsService): void {
  socket.onAnyOutgoing((event: string, payload: PresenceEvent) => {
    if (event !== 'presence') return;
    metrics.deliveries.inc();
    metrics.fanoutLatency.observe(Math.max(0, Date.now() - payload.version / 1000) / 1000);
  });
}

/** Counts the messages the cross-pod adapter receives (no-op for the in-process adapter). */
export function countAdapterMessages(namespace: Namespace, metrics: MetricsService): void {
  const adapter = namespace.adapter as unknown as { onMessage?: (...args: unknown[]) => unknown };
  const onMessage = adapter.onMessage;
  if (typeof onMessage !== 'function') return;
  adapter.onMessage = function countedOnMessage(this: unknown, ...args: unknown[]) {
    metrics.adapterMessages.inc();
    return onMessage.apply(this, args);
  };
}
