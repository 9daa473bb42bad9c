import type { Socket } from 'socket.io';
import { OCCUPANCY_NOTICE_INTERVAL_MS } from '../domain/occupancy.js';
import { recentlyToldRoom } from './rooms.js';

/**
 * Tells a new streamer connection its count, when someone watches, at once and by its own pod: it has been
 * told nothing yet. For an interval after, the streamer room's notices skip it (they may carry a change
 * it is not due to hear yet); when the interval ends it is told the count then if that differs, and
 * otherwise rejoins the room's notices. Only connections within their first intervals hold a timer.
 */
export function tellFirstOccupancy(socket: Socket, streamerId: string, viewersOf: (streamerId: string) => Promise<number>): void {
  let told = 0;
  const quiet = recentlyToldRoom(streamerId);
  const tell = async (): Promise<void> => {
    const viewers = await viewersOf(streamerId).catch(() => told);
    if (!socket.connected) return;
    if (viewers === told) {
      void socket.leave(quiet);
      return;
    }
    told = viewers;
    void socket.join(quiet);
    socket.emit('occupancy', { viewers });
    setTimeout(() => void tell(), OCCUPANCY_NOTICE_INTERVAL_MS).unref();
  };
  void tell();
}
