import type { Socket } from 'socket.io';

/**
 * Packets a socket may have waiting to be written before its connection is cut. A client that stops
 * reading (deliberately, or stuck) would otherwise make the pod hold every event sent to it: the
 * transport buffers what the network does not take. Far above what a live client ever has waiting.
 * @default 1000
 */
export const MAX_BUFFERED_PACKETS = 1_000;

/**
 * Cuts the connection of a socket whose outbound buffer passes `max` packets: the client reconnects
 * and resubscribes (getting fresh snapshots) if it is alive, and the pod's memory stays bounded if not.
 */
export function cutSlowReader(socket: Socket, onCut: () => void, max = MAX_BUFFERED_PACKETS): void {
  let cut = false;
  socket.onAnyOutgoing(() => {
    // engine.io's own queue: what the transport has not taken yet.
    const waiting = (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
    if (cut || waiting <= max) return;
    cut = true;
    onCut();
    // Discarding the backlog: an orderly close would wait to flush it first, which a client that does
    // not read (a long poll that never comes back) never lets happen.
    socket.conn.close(true);
  });
}
